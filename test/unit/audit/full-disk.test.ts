// The audit log on a real full file system (a 1 MiB tmpfs): failure is a state it leaves by itself.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { queryAudit, verifyAudit, type AuditHealth } from '../../../src/core/audit';
import { canMountTmpfs, mountSmallDisk } from '../../helpers/tmpfs';
import { TEST_KEYS, openLog, sampleEvent } from './helpers';

describe('AuditLog on a full disk', { skip: !canMountTmpfs() && 'needs root to mount a tmpfs' }, () => {
  it('fails visibly, refuses at once, cuts the partial write, and resumes by itself with the gap recorded', async (t) => {
    const disk = mountSmallDisk(t, 1024);
    const dir = join(disk.dir, 'audit');
    mkdirSync(dir);
    const log = await openLog(dir, { probeIntervalMs: 200, checkpointIntervalMs: 0 });
    const events: AuditHealth[] = [];
    log.onDidChangeHealth((h) => events.push(h));
    for (let i = 0; i < 20; i++) await log.append(sampleEvent(i));
    assert.deepEqual(log.health, { state: 'ok' });

    // Fill the disk, leaving less than one large record.
    disk.fill(2048);
    const big = { type: 'config.changed', detail: { blob: 'x'.repeat(8192) } } as const;
    await assert.rejects(log.append(big), /AUDIT_WRITE_FAILED|ENOSPC|no space/i);
    const failing = log.health;
    assert.equal(failing.state, 'failing');
    assert.match(failing.state === 'failing' ? failing.lastError : '', /ENOSPC|no space/i);
    assert.equal(events.length, 1, 'one health event for the failure');

    // While failing: every append is refused at once, counted, not retried one by one.
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) {
      log.noteRefused();
      await assert.rejects(log.append(sampleEvent(i)), (err: Error & { code?: string }) => err.code === 'AUDIT_WRITE_FAILED');
    }
    assert.ok(Date.now() - t0 < 2000, 'refusals are immediate');
    assert.equal(await log.probe(), false, 'a probe while the disk is full fails');
    const still = log.health;
    assert.equal(still.state === 'failing' ? still.refusedCount : -1, 50);
    assert.equal(still.state === 'failing' ? still.lostRecords : -1, 51);
    assert.equal(events.length, 1, 'no event per refusal');

    // Free the space: the interval probe resumes writing without any call.
    disk.free();
    const freedAt = Date.now();
    while (log.health.state !== 'ok' && Date.now() - freedAt < 5000) await new Promise((r) => setTimeout(r, 20));
    const resumedAfter = Date.now() - freedAt;
    assert.equal(log.health.state, 'ok', 'resumed by itself');
    assert.ok(resumedAfter < 1500, `resumed ${resumedAfter} ms after space was freed`);
    const ok = events.at(-1);
    assert.equal(ok?.state, 'ok');
    assert.equal(ok?.state === 'ok' ? ok.resumed?.refusedCount : -1, 50);
    await log.append({ type: 'config.changed', reason: 'after' });
    await log.close();

    const verified = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(verified.status, 'intact', JSON.stringify(verified.firstBroken));
    assert.equal(verified.records, 22, '20 before, the gap record, one after: nothing half-written stays');
    const gap = (await queryAudit(dir, { type: 'audit.write-resumed' })).records[0];
    assert.ok(gap !== undefined, 'the gap is audited');
    const detail = gap.detail as { refusedCalls: number; lostRecords: number; lost: { type: string }[]; since: string; until: string };
    assert.equal(detail.refusedCalls, 50);
    assert.equal(detail.lostRecords, 51);
    assert.equal(detail.lost[0]?.type, 'config.changed');
    assert.ok(Date.parse(detail.until) >= Date.parse(detail.since));
    assert.match(gap.reason ?? '', /could not be written/);
    // The file ends with complete lines only (the partial write of the big record was cut).
    const text = readFileSync(join(dir, 'audit-test-000001.jsonl'), 'utf8');
    assert.ok(text.endsWith('\n') && !text.includes('xxxxxxxx'));
  });

  it('filling the disk while records and checkpoints are written: fails, recovers, chain and checkpoint intact', async (t) => {
    const disk = mountSmallDisk(t, 1024);
    const dir = join(disk.dir, 'audit');
    mkdirSync(dir);
    const log = await openLog(dir, { probeIntervalMs: 100, checkpointIntervalMs: 0 });
    await log.append(sampleEvent(0));
    // Leave room for small records but not for the checkpoint's temp file page.
    disk.fill(0);
    await log.append(sampleEvent(1)).catch(() => undefined);
    const deadline = Date.now() + 3000;
    while (log.health.state === 'ok' && Date.now() < deadline) {
      await log.append(sampleEvent(2)).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(log.health.state, 'failing');
    disk.free();
    const freed = Date.now();
    const healthOf = (): string => log.health.state;
    while (healthOf() !== 'ok' && Date.now() - freed < 3000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(healthOf(), 'ok');
    await log.close();
    const verified = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(verified.status, 'intact', JSON.stringify(verified.firstBroken));
  });
  it('a recovery whose checkpoint cannot be written leaves no gap record behind: one gap record per failure, however many attempts', async (t) => {
    // The checkpoints on their own small disk, full; the records on a roomy one. Every probe can
    // append its gap record but not the checkpoint that names it.
    const parent = mkdtempSync(join(tmpdir(), 'mcpcp-audit-'));
    t.after(() => rmSync(parent, { recursive: true, force: true }));
    const dir = join(parent, 'audit');
    mkdirSync(dir);
    const disk = mountSmallDisk(t, 256);
    const checkpointDir = join(disk.dir, 'checkpoints');
    mkdirSync(checkpointDir);
    const log = await openLog(dir, { checkpointDir, probeIntervalMs: 100, checkpointIntervalMs: 0 });
    for (let i = 0; i < 3; i++) await log.append(sampleEvent(i));
    await log.flush();
    // The checkpoint of those records settles first: one still being written when the disk fills
    // would free its predecessor's page on rename and leave room for every later one.
    const checkpointFile = join(checkpointDir, 'checkpoint-test.json');
    const settledBy = Date.now() + 10_000;
    const headSeq = (): number => {
      try {
        return (JSON.parse(readFileSync(checkpointFile, 'utf8')) as { head: { seq: number } }).head.seq;
      } catch {
        return -1;
      }
    };
    while ((headSeq() !== 3 || readdirSync(checkpointDir).length !== 1) && Date.now() < settledBy) await new Promise((r) => setTimeout(r, 20));
    assert.equal(headSeq(), 3, 'the checkpoint names the third record');
    await new Promise((r) => setTimeout(r, 50));
    disk.fill(0);
    const deadline = Date.now() + 3000;
    while (log.health.state === 'ok' && Date.now() < deadline) {
      await log.append(sampleEvent(3)).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(log.health.state, 'failing', 'a checkpoint that cannot be written is a failure');
    // Several recovery attempts, each failing at the checkpoint.
    let attempts = 0;
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 110));
      if (!(await log.probe())) attempts++;
      log.noteRefused();
      await log.append(sampleEvent(i)).catch(() => undefined);
    }
    assert.ok(attempts >= 3, `${attempts} recovery attempts failed while the checkpoint disk was full`);
    assert.equal(log.health.state, 'failing');
    const lines = readFileSync(join(dir, 'audit-test-000001.jsonl'), 'utf8').trimEnd().split('\n');
    assert.equal(lines.filter((l) => l.includes('"audit.write-resumed"')).length, 0, 'no gap record stays from a failed attempt');

    disk.free();
    const freed = Date.now();
    const stateOf = (): string => log.health.state;
    while (stateOf() !== 'ok' && Date.now() - freed < 3000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(stateOf(), 'ok', 'resumed once the checkpoint disk had room');
    await log.append({ type: 'config.changed', reason: 'after' });
    await log.close();
    const verified = await verifyAudit(dir, { keys: TEST_KEYS, checkpointDir });
    assert.equal(verified.status, 'intact', JSON.stringify(verified.firstBroken));
    const gaps = (await queryAudit(dir, { type: 'audit.write-resumed' })).records;
    assert.equal(gaps.length, 1, 'one gap record for the whole failure');
    const detail = gaps[0]?.detail as { refusedCalls: number; lostRecords: number };
    assert.equal(detail.refusedCalls, 4, 'the gap record counts every refusal of every attempt');
    assert.ok(detail.lostRecords >= 4, `${detail.lostRecords} lost records counted`);
  });
});
