// API key stores, file and real PostgreSQL: created once, stored hashed, owner/roles/expiry/last
// use, revocable; the same judgement (constant-time hash compare, revoked, expired) for both.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { API_KEYS_FILE, FileApiKeyStore, PostgresApiKeyStore, hashKey, type ApiKeyStore } from '../../../src/core/team';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';
import { apiKeySecretPart } from '../../helpers/team-plane';

async function lifecycle(store: ApiKeyStore): Promise<void> {
  const { key, info } = await store.create({ owner: 'ci-bot', roles: ['operator'] });
  assert.match(key, /^mcpcp_key_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  assert.equal(info.owner, 'ci-bot');
  assert.deepEqual(info.roles, ['operator']);
  assert.equal('hash' in info, false, 'lists never show the hash');
  const ok = await store.verify(key);
  assert.equal(ok.ok, true);
  assert.ok(ok.ok && ok.record.id === info.id);

  // One character off, same id: refused like an unknown key.
  const last = key.at(-1) === 'A' ? 'B' : 'A';
  const forged = `${key.slice(0, -1)}${last}`;
  assert.deepEqual(await store.verify(forged), { ok: false, reason: 'unknown API key' });
  assert.deepEqual(await store.verify('mcpcp_key_short'), { ok: false, reason: 'malformed API key' });

  // Last use is recorded.
  const listed = (await store.list()).find((k) => k.id === info.id)!;
  await waitUntil(async () => (await store.list()).find((k) => k.id === info.id)?.lastUsedAt !== undefined);
  assert.ok(listed);

  // Expiry.
  const soon = await store.create({ owner: 'temp', roles: ['viewer'], expiresAt: new Date(Date.now() + 60_000) });
  assert.equal((await store.verify(soon.key)).ok, true);
  const later = await store.verify(soon.key, new Date(Date.now() + 120_000));
  assert.equal(later.ok, false);
  assert.match(!later.ok ? later.reason : '', /expired/);

  // Revocation applies at once; revoking an unknown id says so.
  assert.equal(await store.revoke(info.id), true);
  const revoked = await store.verify(key);
  assert.equal(revoked.ok, false);
  assert.match(!revoked.ok ? revoked.reason : '', new RegExp(`API key ${info.id} was revoked`));
  assert.equal(await store.revoke('AAAAAAAAAAAA'), false);
  assert.ok((await store.list()).find((k) => k.id === info.id)?.revokedAt);
}

async function waitUntil(predicate: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('API keys in the data directory', () => {
  it('lifecycle: shown once, stored hashed (0600), verified, expired, revoked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-keys-'));
    const store = new FileApiKeyStore(dir);
    const { key } = await store.create({ owner: 'someone', roles: ['viewer'] });
    const file = join(dir, API_KEYS_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.equal(text.includes(key), false, 'the key itself is never stored');
    assert.equal(text.includes(apiKeySecretPart(key)), false, 'nor its secret part');
    assert.ok(text.includes(hashKey(key)), 'only its SHA-256');
    await lifecycle(store);
    await store.close();
  });

  it('a key created by another process (the CLI) is accepted by a running store at once, and a world-readable file is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-keys-'));
    const serving = new FileApiKeyStore(dir);
    assert.equal((await serving.verify('mcpcp_key_AAAAAAAAAAAA_' + 'x'.repeat(43))).ok, false);
    const admin = new FileApiKeyStore(dir);
    const { key } = await admin.create({ owner: 'late', roles: ['operator'] });
    assert.equal((await serving.verify(key)).ok, true);
    chmodSync(join(dir, API_KEYS_FILE), 0o644);
    await assert.rejects(serving.verify(key), /accessible to other users/);
  });
});

describe('API keys in PostgreSQL (real server)', { skip: postgresSkipReason() }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url, { applicationName: 'api-keys-test' });
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('lifecycle through the database; two replicas share keys and revocations; only hashes are stored', async () => {
    const a = await PostgresApiKeyStore.open(pool);
    const b = await PostgresApiKeyStore.open(pool);
    await lifecycle(a);
    const { key, info } = await a.create({ owner: 'shared', roles: ['operator', 'approver'] });
    assert.equal((await b.verify(key)).ok, true, 'a key created through one replica works on the other');
    await b.revoke(info.id);
    assert.equal((await a.verify(key)).ok, false, 'a revocation through one replica applies on the other');
    const { rows } = await pool.query<{ hash: string }>('SELECT hash FROM api_keys WHERE id = $1', [info.id]);
    assert.equal(rows[0]!.hash, hashKey(key));
    const dump = JSON.stringify((await pool.query('SELECT * FROM api_keys')).rows);
    assert.equal(dump.includes(apiKeySecretPart(key)), false);
  });
});
