import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  defaultAuditKeyFile,
  fileAuditKeyStorage,
  loadOrCreateAuditKeyring,
  parseAuditKeyring,
  recordMac,
  rotateAuditKeyring,
  rotateStoredAuditKeyring,
  serializeAuditKeyring,
  verifyAudit,
  type AuditRecord,
} from '../../../src/core/audit';
import { canonicalJson } from '../../../src/core/canonical-json';
import { TEST_KEYS, openLog, sampleEvent, tempDir } from './helpers';

describe('audit key ring', () => {
  it('is created owner-only outside the audit folder, and read back the same', async (t) => {
    const data = dirname(tempDir(t));
    const file = defaultAuditKeyFile(data);
    const ring = await loadOrCreateAuditKeyring(fileAuditKeyStorage(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
    assert.ok(!file.includes(`${join(data, 'audit')}/`), 'not in the audit folder');
    const again = await loadOrCreateAuditKeyring(fileAuditKeyStorage(file));
    assert.equal(again.current, ring.current);
    assert.deepEqual(again.keys.get(again.current), ring.keys.get(ring.current));
  });

  it('refuses a key file others can read, a damaged key and a missing current key', async (t) => {
    const data = dirname(tempDir(t));
    const file = defaultAuditKeyFile(data);
    const ring = await loadOrCreateAuditKeyring(fileAuditKeyStorage(file));
    chmodSync(file, 0o640);
    await assert.rejects(fileAuditKeyStorage(file).read(), /readable or writable by others/);
    const text = serializeAuditKeyring(ring);
    const parsed = JSON.parse(text) as { current: string; keys: Record<string, { key: string }> };
    const key = Buffer.from(parsed.keys[parsed.current]!.key, 'base64');
    key[0] = (key[0] ?? 0) ^ 1;
    parsed.keys[parsed.current]!.key = key.toString('base64');
    assert.throws(() => parseAuditKeyring(JSON.stringify(parsed), 'x'), /damaged/);
    assert.throws(() => parseAuditKeyring(JSON.stringify({ ...JSON.parse(text), current: 'k-0000000000000000' }), 'x'), /does not hold/);
    assert.throws(() => parseAuditKeyring('{"format":"other"}', 'x'), /not valid/);
  });

  it('first starts at the same time end up with one key ring', async (t) => {
    const data = dirname(tempDir(t));
    const file = defaultAuditKeyFile(data);
    const rings = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateAuditKeyring(fileAuditKeyStorage(file))));
    assert.equal(new Set(rings.map((r) => r.current)).size, 1, 'every starter uses the same key');
    assert.equal(parseAuditKeyring(readFileSync(file, 'utf8'), file).current, rings[0]?.current, 'and it is the stored one');
  });

  it('rotation keeps the old keys', async (t) => {
    const data = dirname(tempDir(t));
    const storage = fileAuditKeyStorage(defaultAuditKeyFile(data));
    const first = await loadOrCreateAuditKeyring(storage);
    const second = await rotateStoredAuditKeyring(storage);
    assert.notEqual(second.current, first.current);
    assert.ok(second.keys.has(first.current));
    assert.equal(statSync(defaultAuditKeyFile(data)).mode & 0o777, 0o600);
  });
});

describe('key rotation in a live log', () => {
  it('switches keys through a signed record; a record signed with a leaked old key after it is found', async (t) => {
    const dir = tempDir(t);
    const ring1 = TEST_KEYS;
    const log = await openLog(dir, { keys: ring1 });
    for (let i = 0; i < 3; i++) await log.append(sampleEvent(i));
    const ring2 = rotateAuditKeyring(ring1);
    await log.rotateKey(ring2);
    for (let i = 0; i < 3; i++) await log.append(sampleEvent(i));
    await log.close();
    const ok = await verifyAudit(dir, { keys: ring2 });
    assert.equal(ok.status, 'intact', JSON.stringify(ok.firstBroken));
    const lines = readFileSync(join(dir, 'audit-test-000001.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(lines.map((r) => r.kid === ring1.current ? 'old' : 'new'), ['old', 'old', 'old', 'new', 'new', 'new', 'new']);
    assert.equal(lines[3]?.type, 'audit.key-rotated');

    // The attacker holds the old key (leaked) and appends a forged record signed with it.
    const last = lines.at(-1)!;
    const forged = { type: 'call.completed', server: 'git', tool: 'push', outcome: 'ok', seq: last.seq + 1, ts: new Date().toISOString(), instance: 'test', kid: ring1.current, prev: last.hash };
    appendFileSync(join(dir, 'audit-test-000001.jsonl'), `${canonicalJson({ ...forged, hash: recordMac(ring1.keys.get(ring1.current)!, forged) })}\n`);
    const broken = await verifyAudit(dir, { keys: ring2 });
    assert.equal(broken.status, 'broken');
    assert.match(broken.firstBroken?.reason ?? '', /switches from key k-\w+ to k-\w+ without an audit.key-rotated record/);
  });
});
