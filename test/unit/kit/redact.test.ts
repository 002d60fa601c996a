import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findSecrets, redactDeep, redactSecrets } from '../../../src/servers/kit';
import { argumentStrings } from '../../../src/servers/kit/redact';

// Built at run time so this file itself holds no token-shaped literal.
const AWS_KEY = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const GITHUB_TOKEN = ['ghp', '_', 'a'.repeat(36)].join('');
const PEM = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA1234', 'abcd', '-----END RSA PRIVATE KEY-----'].join('\n');

describe('redactSecrets', () => {
  it('masks credentials in https URLs, user names included', () => {
    assert.equal(redactSecrets('origin https://bob:s3cret@github.com/x.git (fetch)'), 'origin https://[REDACTED]@github.com/x.git (fetch)');
    assert.equal(redactSecrets(`https://${GITHUB_TOKEN}@github.com/x`), 'https://[REDACTED]@github.com/x');
  });

  it('keeps a bare ssh user name but masks an ssh password', () => {
    assert.equal(redactSecrets('ssh://git@host/repo.git'), 'ssh://git@host/repo.git');
    assert.equal(redactSecrets('ssh://git:pw@host/repo.git'), 'ssh://[REDACTED]@host/repo.git');
  });

  it('masks private key blocks, even when cut before the END line', () => {
    const out = redactSecrets(`before\n${PEM}\nafter`);
    assert.ok(!out.includes('MIIEow'));
    assert.match(out, /^before\n-----BEGIN RSA PRIVATE KEY----- \[REDACTED\] -----END RSA PRIVATE KEY-----\nafter$/);
    assert.ok(!redactSecrets(PEM.split('\n').slice(0, 2).join('\n')).includes('MIIEow'));
  });

  it('masks cloud keys and vendor tokens', () => {
    const out = redactSecrets(`key=${AWS_KEY} token ${GITHUB_TOKEN} Authorization: Bearer abcdefghijklmnop`);
    assert.ok(!out.includes(AWS_KEY) && !out.includes(GITHUB_TOKEN) && !out.includes('abcdefghijklmnop'));
  });

  it('is idempotent and leaves ordinary text alone', () => {
    const once = redactSecrets(`https://u:p@h/x ${AWS_KEY}`);
    assert.equal(redactSecrets(once), once);
    assert.equal(redactSecrets('commit a1b2c3d fix the parser'), 'commit a1b2c3d fix the parser');
  });

  it('redacts every string of structured output', () => {
    assert.deepEqual(redactDeep({ a: [`x ${AWS_KEY}`], n: 1, b: { url: 'https://u:p@h/' } }), {
      a: ['x [REDACTED]'],
      n: 1,
      b: { url: 'https://[REDACTED]@h/' },
    });
  });
});

describe('findSecrets', () => {
  it('locates secrets by kind and line, never returning them', () => {
    const found = findSecrets(`ok\naws=${AWS_KEY}\n${PEM}`);
    assert.deepEqual(found, [
      { kind: 'an AWS access key id', line: 1 },
      { kind: 'a private key', line: 2 },
    ]);
  });

  it('does not block example credentials in URLs', () => {
    assert.deepEqual(findSecrets('see https://user:pass@example.com'), []);
  });
});

describe('redactSecrets: what the caller sent itself', () => {
  it('keeps a secret-shaped string that lies inside the call arguments, masks one the server found', () => {
    const AKIA = 'AKIAIOSFODNN7EXAMPLE';
    const found = 'AKIAZZZZZZZZZZZZZZZZ';
    assert.equal(redactSecrets(`would delete branch ${AKIA} (remote has ${found})`, [AKIA]), `would delete branch ${AKIA} (remote has [REDACTED])`);
    assert.equal(redactSecrets(`would delete branch ${AKIA}`), 'would delete branch [REDACTED]');
    assert.deepEqual(redactDeep({ branch: AKIA, other: found }, argumentStrings({ name: AKIA, n: 1, list: ['short'] })), { branch: AKIA, other: '[REDACTED]' });
  });
});
