import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileSecretStore, expandReferences, secretEnvName } from '../../../src/core/secrets/secret-store';

describe('file secret store (headless)', () => {
  it('stores values owner-only, lists names only, lets the environment override', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'mcpcp-secrets-')), 'data');
    const env: NodeJS.ProcessEnv = {};
    const store = new FileSecretStore(dir, env);
    const changed: string[] = [];
    store.onDidChange((n) => changed.push(n));
    await store.set('github.token', 'ghp_abc');
    await store.set('db-pass', 'hunter2');
    assert.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
    assert.deepEqual(await store.list(), ['db-pass', 'github.token']);
    assert.equal(await store.get('github.token'), 'ghp_abc');
    env[secretEnvName('github.token')] = 'from-env';
    assert.equal(secretEnvName('github.token'), 'MCPCP_SECRET_GITHUB_TOKEN');
    assert.equal(await store.get('github.token'), 'from-env');
    await store.delete('db-pass');
    assert.deepEqual(await store.list(), ['github.token']);
    assert.ok(!readFileSync(join(dir, 'secrets.json'), 'utf8').includes('hunter2'));
    assert.deepEqual(changed, ['github.token', 'db-pass', 'db-pass']);
    await assert.rejects(store.set('../evil', 'x'), /secret name "..\/evil" is invalid/);
  });

  it('expands ${secret:} and ${env:} references, naming a missing secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-secrets-'));
    const store = new FileSecretStore(dir, {});
    await store.set('token', 's3cr3t');
    const seen: string[] = [];
    const value = await expandReferences('Bearer ${secret:token} for ${env:USER}${env:NOPE}', { secrets: store, env: { USER: 'ada' }, onSecret: (v) => seen.push(v) });
    assert.equal(value, 'Bearer s3cr3t for ada');
    assert.deepEqual(seen, ['s3cr3t']);
    await assert.rejects(expandReferences('${secret:missing}', { secrets: store, env: {} }), /secret "missing" is not set; set it with/);
  });
});
