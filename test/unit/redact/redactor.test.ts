import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../src/core/canonical-json';
import { Redactor } from '../../../src/core/redact';

const R = '[REDACTED]';

describe('Redactor.redactString: patterns', () => {
  const redactor = new Redactor();
  const cases: readonly [name: string, input: string, expected: string][] = [
    ['Authorization header, bearer', 'Authorization: Bearer abc.def-ghi_jkl', `Authorization: Bearer ${R}`],
    ['Authorization header, basic, quoted', 'curl -H "Authorization: Basic dXNlcjpwYXNzd29yZA==" https://x', `curl -H "Authorization: Basic ${R}" https://x`],
    ['authorization as JSON text', '{"authorization":"Token 0123456789abcdef"}', `{"authorization":"Token ${R}"}`],
    ['proxy-authorization', 'Proxy-Authorization: Negotiate YIIabc123', `Proxy-Authorization: Negotiate ${R}`],
    ['bare bearer token', 'use bearer sk_live_0123456789 now', `use bearer ${R} now`],
    ['password in URL', 'postgres://admin:s3cr3t!@db.internal:5432/app', `postgres://admin:${R}@db.internal:5432/app`],
    ['password in URL without user', 'redis://:hunter22@cache:6379', `redis://:${R}@cache:6379`],
    ['git remote with token', 'https://x-access-token:ghs_abc@github.com/o/r.git', `https://x-access-token:${R}@github.com/o/r.git`],
    ['AWS access key id', 'key=AKIAIOSFODNN7EXAMPLE;', `key=${R};`],
    ['AWS secret key assignment', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', `aws_secret_access_key = ${R}`],
    ['GitHub classic token', 'token ghp_0123456789abcdefghijABCDEFGHIJ012345 ok', `token ${R} ok`],
    ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', R],
    ['Slack bot token', 'xoxb-1234567890-0987654321-AbCdEfGhIj', R],
    ['Slack webhook', 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX', `https://hooks.slack.com/services/${R}`],
    ['team API key (its public id stays)', 'key mcpcp_key_Q3xk9PzLm2Wa_0123456789abcdefghijABCDEFGHIJ-_xyzwvu012 used', `key mcpcp_key_Q3xk9PzLm2Wa_${R} used`],
    ['JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXBhcnQ', R],
    ['Google API key', 'AIzaSyA-0123456789abcdefghijklmnopqrstu', R],
    ['LLM API key', 'OPENAI sk-proj-abcdefghijklmnopqrstuvwx', `OPENAI ${R}`],
    ['password=value', 'login password=hunter2 user=bob', `login password=${R} user=bob`],
    ['PASSWORD: value (YAML)', 'DB_PASSWORD: "p@ss word"', `DB_PASSWORD: "${R} word"`],
    ['client_secret JSON text', '{"client_secret": "abc123", "client_id": "x"}', `{"client_secret": "${R}", "client_id": "x"}`],
    ['api-key header', 'X-Api-Key: 0123456789', `X-Api-Key: ${R}`],
    // Real secrets in the shapes prose resembles stay caught.
    ['YAML key at line start, plain word', 'user: bob\npassword: hunter', `user: bob\npassword: ${R}`],
    ['YAML list item', '- token: abcdefgh', `- token: ${R}`],
    ['log line, value with digits', '2024-01-01 INFO login password: hunter2 ok', `2024-01-01 INFO login password: ${R} ok`],
    ['log line, value with a capital inside', 'connecting with secret: sUpersecret', `connecting with secret: ${R}`],
    ['identifier key mid-line', 'env DB_PASSWORD: plainword', `env DB_PASSWORD: ${R}`],
    ['no space after the colon', 'the password:letmein', `the password:${R}`],
    ['after a comma', 'user: bob, password: letmein', `user: bob, password: ${R}`],
    ['quoted value mid-sentence', 'the password: "letmein" was used', `the password: "${R}" was used`],
    [
      'PEM private key block',
      'before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nafter',
      `before\n${R}\nafter`,
    ],
    ['OpenSSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', R],
    ['truncated PEM block is cut to the end', 'x -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC', `x ${R}`],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(redactor.redactString(input), expected));
  }

  const untouched: readonly [name: string, input: string][] = [
    ['plain prose', 'The pod web-1 restarted 3 times in namespace default.'],
    ['token counts', 'max_tokens=4096 tokens: 12 token_count=3'],
    ['secret names are not secrets', 'secretName: db-creds, kind: ConfigMap'],
    ['public key', '-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----'],
    ['URL without password', 'https://user@github.com/org/repo.git and https://example.com:8443/x'],
    ['short bearer word', 'a bearer token is expected'],
    ['git sha', 'commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904'],
    ['already redacted stays stable', `Authorization: Bearer ${R}`],
    // Prose around a keyword and a colon is not a key-value pair (issue 13: "owned by" was eaten).
    ['prose: password: owned by', 'Reset the password: owned by the platform team.'],
    ['prose: secret: kept', 'The secret: keep it out of logs, says the guide.'],
    ['prose: token: expired', 'Login failed because the token: expired yesterday'],
    ['prose: credentials: rotate', 'About credentials: rotate them every quarter.'],
    ['prose over lines', 'Steps\nthen the passphrase: chosen by you, never shared'],
  ];
  for (const [name, input] of untouched) {
    it(`leaves alone: ${name}`, () => assert.equal(redactor.redactString(input), input));
  }
});

describe('Redactor: known secret values', () => {
  it('redacts exact values with their URL-encoded and base64 forms', () => {
    const redactor = new Redactor();
    const secret = 'p@ss/word+with spaces';
    assert.equal(redactor.addSecret(secret), true);
    const text = `raw ${secret} url ${encodeURIComponent(secret)} b64 ${Buffer.from(secret).toString('base64')}`;
    assert.equal(redactor.redactString(text), `raw ${R} url ${R} b64 ${R}`);
  });

  it('treats regex metacharacters literally and prefers the longest value', () => {
    const redactor = new Redactor({ secrets: ['a.b*c', 'a.b*c(d)'] });
    assert.equal(redactor.redactString('x a.b*c(d) y aXbbc'), `x ${R} y aXbbc`);
  });

  it('ignores values shorter than the minimum, and forgets removed ones', () => {
    const redactor = new Redactor({ minSecretLength: 6 });
    assert.equal(redactor.addSecret('abc'), false);
    assert.equal(redactor.redactString('abc abc'), 'abc abc');
    redactor.addSecret('rotated-token-1');
    assert.equal(redactor.redactString('rotated-token-1'), R);
    redactor.removeSecret('rotated-token-1');
    assert.equal(redactor.redactString('rotated-token-1'), 'rotated-token-1');
    assert.equal(redactor.secretCount, 0);
  });

  it('instances do not share secrets', () => {
    const a = new Redactor({ secrets: ['only-in-a-123'] });
    const b = new Redactor();
    assert.equal(a.redactString('only-in-a-123'), R);
    assert.equal(b.redactString('only-in-a-123'), 'only-in-a-123');
  });
});

describe('Redactor.redact: structured values', () => {
  const redactor = new Redactor({ secrets: ['stored-password-42'] });

  it('redacts by key name, deeply, keeping null and booleans', () => {
    const out = redactor.redact({
      password: 'x',
      apiKey: 12345,
      'X-Api-Key': 'k',
      nested: [{ GITHUB_TOKEN: 'y', client: { clientSecret: { a: 1 } }, hasPassword: true, token: null }],
      progressToken: 7,
      nextPageToken: 'abc',
      secretName: 'db-creds',
      note: 'connect with stored-password-42',
    });
    assert.deepEqual(out, {
      password: R,
      apiKey: R,
      'X-Api-Key': R,
      nested: [{ GITHUB_TOKEN: R, client: { clientSecret: R }, hasPassword: true, token: null }],
      progressToken: 7,
      nextPageToken: 'abc',
      secretName: 'db-creds',
      note: `connect with ${R}`,
    });
  });

  it('redacts the data of a Kubernetes Secret manifest, keeping its keys', () => {
    const out = redactor.redact({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { user: 'YWRtaW4=', pass: 'aHVudGVyMg==' }, stringData: { url: 'x' } });
    assert.deepEqual(out, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { user: R, pass: R }, stringData: { url: R } });
  });

  it('redacts secrets inside object keys', () => {
    assert.deepEqual(redactor.redact({ 'stored-password-42': 1 }), { [R]: 1 });
  });

  it('returns a JSON-safe copy for non-JSON input and never mutates it', () => {
    const cyclic: Record<string, unknown> = { when: new Date(0), big: 10n, fn: () => 1, bytes: Buffer.from('abc'), nan: Number.NaN };
    cyclic.self = cyclic;
    cyclic.err = Object.assign(new Error('failed with password=hunter2'), { code: 'E_X' });
    cyclic.set = new Set(['a']);
    cyclic.map = new Map([['token', 'zzz']]);
    const out = redactor.redact(cyclic);
    assert.deepEqual(out, {
      when: '1970-01-01T00:00:00.000Z',
      big: '10',
      bytes: '[binary 3 bytes]',
      nan: null,
      self: '[Circular]',
      err: { name: 'Error', message: `failed with password=${R}`, code: 'E_X' },
      set: ['a'],
      map: { token: R },
    });
    assert.doesNotThrow(() => canonicalJson(out));
    assert.equal(typeof cyclic.fn, 'function');
  });

  it('shared (non-cyclic) references are kept', () => {
    const shared = { a: 1 };
    assert.deepEqual(redactor.redact({ x: shared, y: shared }), { x: { a: 1 }, y: { a: 1 } });
  });

  it('cuts pathological nesting', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    assert.match(canonicalJson(redactor.redact(deep)), /\[Too deep\]/);
  });

  it('is fast: 1 MB of log text with secrets in well under a second', () => {
    const chunk = 'level=info msg="pod started" pod=web-1 token=abcdef123456 url=https://u:p4ss@h/x\n';
    const text = chunk.repeat(Math.ceil(1_000_000 / chunk.length));
    const started = performance.now();
    const out = redactor.redactString(text);
    const ms = performance.now() - started;
    assert.ok(!out.includes('abcdef123456') && !out.includes('p4ss'));
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });

  it('stays linear on hostile input (no catastrophic backtracking)', () => {
    const hostile = ['a.'.repeat(500_000), 'b'.repeat(1_000_000), 'x://a:'.repeat(150_000), 'password'.repeat(100_000), '-----BEGIN PRIVATE KEY-----'.repeat(20_000)];
    for (const text of hostile) {
      const started = performance.now();
      redactor.redactString(text);
      const ms = performance.now() - started;
      assert.ok(ms < 1500, `${text.slice(0, 12)}… took ${ms.toFixed(0)} ms`);
    }
  });
});
