// The undo handle store: encrypted at rest with a key it creates in the secret store, bound to
// its call id, refused when changed, limited in size and removed after the retention period.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { UNDO_KEY_SECRET, UndoStore } from '../../../src/core/undo/store';
import type { Undoable } from '../../../src/core/undo/handle';

const handle = (before: unknown): Undoable => ({ undoable: true, summary: 'put it back', inverse: { tool: 'scale', args: { replicas: 3 } }, check: { tool: 'resource_get', args: {} }, before, after: { kind: 'absent', text: 'gone' } });

function setup(options: { maxHandleBytes?: number; retentionDays?: number; now?: () => number } = {}): { store: UndoStore; dir: string; secrets: FileSecretStore } {
  const data = mkdtempSync(join(tmpdir(), 'mcpcp-undo-store-'));
  const secrets = new FileSecretStore(data, {});
  const dir = join(data, 'undo');
  const store = new UndoStore({ dir, secrets, maxHandleBytes: options.maxHandleBytes ?? 1_000_000, retentionDays: options.retentionDays ?? 30, ...(options.now ? { now: options.now } : {}) });
  return { store, dir, secrets };
}

describe('undo store', () => {
  it('encrypts with a key it creates in the secret store on first use; reads back what it wrote', async () => {
    const { store, dir, secrets } = setup();
    assert.equal(await secrets.get(UNDO_KEY_SECRET), undefined);
    const saved = await store.save({ callId: 'call-1', server: 'kubernetes', tool: 'resource_delete', sessionId: 's1', handle: handle({ data: { password: 'aHVudGVyMg==' } }) });
    assert.ok(saved.saved);
    assert.equal(Buffer.from((await secrets.get(UNDO_KEY_SECRET))!, 'base64').length, 32);
    const raw = readFileSync(join(dir, 'call-1.bin'));
    for (const needle of ['aHVudGVyMg==', 'password', 'resource_delete', 'kubernetes']) assert.equal(raw.includes(Buffer.from(needle)), false, needle);
    const back = await store.load('call-1', saved.saved ? saved.digest : undefined);
    assert.deepEqual(back.handle.before, { data: { password: 'aHVudGVyMg==' } });
    assert.equal(back.sessionId, 's1');
    assert.equal(readdirSync(dir).length, 1, 'no temporary file left');
  });

  it('refuses a changed file, a file moved to another call id, and a digest that does not match the audit', async () => {
    const { store, dir } = setup();
    const saved = await store.save({ callId: 'call-a', server: 'git', tool: 'branch_delete', handle: handle('x') });
    assert.ok(saved.saved);
    const raw = readFileSync(join(dir, 'call-a.bin'));
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 1;
    writeFileSync(join(dir, 'call-a.bin'), raw);
    await assert.rejects(store.load('call-a'), /cannot be read/);
    await store.save({ callId: 'call-b', server: 'git', tool: 'branch_delete', handle: handle('y') });
    writeFileSync(join(dir, 'call-c.bin'), readFileSync(join(dir, 'call-b.bin')));
    await assert.rejects(store.load('call-c'), /cannot be read/);
    await assert.rejects(store.load('call-b', '0'.repeat(64)), /does not match the digest in the audit record/);
    await assert.rejects(store.load('../etc/passwd'), /is not a call id/);
  });

  it('beyond the size limit nothing is written and the reason says "not undoable: too large"', async () => {
    const { store, dir } = setup({ maxHandleBytes: 2048 });
    const result = await store.save({ callId: 'big', server: 'network', tool: 'config_apply', handle: handle('x'.repeat(4096)) });
    assert.equal(result.saved, false);
    assert.match(result.saved ? '' : result.reason, /^not undoable: too large \(the prior state takes \d+ bytes, the limit is 2048: setting undo\.maxHandleBytes\)$/);
    assert.equal(existsSync(join(dir, 'big.bin')), false);
  });

  it('expired handles are refused on load and removed by the sweep', async () => {
    let now = Date.now();
    const { store, dir } = setup({ retentionDays: 30, now: () => now });
    await store.save({ callId: 'old', server: 'git', tool: 'branch_delete', handle: handle('x') });
    await store.save({ callId: 'new', server: 'git', tool: 'branch_delete', handle: handle('y') });
    const day = 86_400_000;
    utimesSync(join(dir, 'old.bin'), new Date(now - 31 * day), new Date(now - 31 * day));
    assert.equal(await store.sweep(), 1);
    assert.deepEqual(readdirSync(dir), ['new.bin']);
    now += 31 * day;
    await assert.rejects(store.load('new'), /expired \(kept 30 days: setting undo\.retentionDays\)/);
    assert.deepEqual(readdirSync(dir), []);
  });
});
