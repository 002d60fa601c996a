import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { newAuditKeyring, rotateAuditKeyring, type AuditEvent, type AuditKeyring } from '../../../src/core/audit';
import { AUDIT_CHECKPOINTS_TABLE, AUDIT_RECORDS_TABLE, PostgresAuditLog, exportPostgresAudit, queryPostgresAudit, takeCheckpoint } from '../../../src/core/audit/postgres';
import { verifyPostgresAudit } from '../../../src/core/audit/postgres-verify';
import { ControlPlaneError } from '../../../src/core/errors';
import { Redactor } from '../../../src/core/redact';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';

const skip = postgresSkipReason();
const KEYS: AuditKeyring = newAuditKeyring();

function event(i: number): AuditEvent {
  return i % 2 === 0
    ? { type: 'call.requested', callId: `c${i}`, kind: 'tool', server: 'git', tool: 'repo_status', args: { i } }
    : { type: 'call.completed', callId: `c${i - 1}`, server: 'git', tool: 'repo_status', outcome: 'ok', durationMs: 3 };
}

describe('PostgreSQL audit: one keyed chain per writer (real server)', { skip }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url, { applicationName: 'audit-test' });
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });
  beforeEach(async () => {
    // After a restart test the pool may still hold connections the restart ended: retry past them.
    for (let attempt = 1; ; attempt++) {
      try {
        await pool.query(`DROP TABLE IF EXISTS ${AUDIT_RECORDS_TABLE}, ${AUDIT_CHECKPOINTS_TABLE}`);
        break;
      } catch (err) {
        if (attempt >= 12) throw err;
      }
    }
    await pool.query(`DELETE FROM mcpcp_migrations WHERE component = 'audit'`).catch(() => undefined);
  });

  const open = (writerId: string, extra: Partial<Parameters<typeof PostgresAuditLog.open>[0]> = {}): Promise<PostgresAuditLog> =>
    PostgresAuditLog.open({ pool, writerId, redactor: new Redactor(), keys: KEYS, ...extra });

  it('appends resolve after the row is committed, in order; a reopen continues the chain; verify is intact', async () => {
    const log = await open('replica-a');
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(event(i))));
    assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    // Committed: another connection sees every acknowledged row.
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${AUDIT_RECORDS_TABLE} WHERE writer_id = 'replica-a'`);
    assert.equal(Number(rows[0]!.n), 50);
    // Group commit: 50 concurrent appends took fewer INSERTs than records.
    assert.ok(log.stats.writes < 50, `writes ${log.stats.writes}`);
    await log.close();
    const again = await open('replica-a');
    assert.equal((await again.append(event(50))).seq, 51);
    await again.close();
    const result = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
    assert.equal(result.records, 51);
    assert.ok(result.checkpoints >= 2, `checkpoints ${result.checkpoints}`);
    assert.equal(result.writers[0]?.checkpointed?.seq, 51, 'the closing checkpoint names the head');
  });

  it('appends never wait on a checkpoint: with the checkpoint lock and the checkpoints table held by another session, appends go on and a checkpoint is skipped, not waited for', async () => {
    const log = await open('no-wait', { checkpointIntervalMs: 10 });
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT pg_advisory_xact_lock(7882267345214595947)`);
      await blocker.query(`LOCK TABLE ${AUDIT_CHECKPOINTS_TABLE} IN ACCESS EXCLUSIVE MODE`);
      const started = Date.now();
      for (let i = 0; i < 20; i++) await log.append(event(i));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 10_000, `20 appends took ${elapsed} ms`);
      const skipped = await Promise.race([takeCheckpoint(pool, KEYS, 'other-replica'), new Promise((r) => setTimeout(() => r('waited'), 5_000))]);
      assert.equal(skipped, undefined, 'another replica taking a checkpoint now: this one is skipped at once');
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    await log.close();
    const result = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(result.status, 'intact');
    assert.equal(result.writers[0]?.checkpointed?.seq, 20);
  });

  it('secrets are redacted before a record is signed and stored', async () => {
    const redactor = new Redactor();
    redactor.addSecret('hunter2-very-secret');
    const log = await open('redact', { redactor });
    await log.append({ type: 'call.requested', callId: 'x', server: 'git', tool: 't', args: { password: 'hunter2-very-secret', note: 'uses hunter2-very-secret' } });
    await log.close();
    const { rows } = await pool.query<{ record: string }>(`SELECT record FROM ${AUDIT_RECORDS_TABLE}`);
    assert.ok(rows.length === 1 && !rows[0]!.record.includes('hunter2'), rows[0]?.record);
  });

  it('a second process with the same writer id is refused while the first holds it; free again after close', async () => {
    const first = await open('same');
    const other = await openPostgres(server.url);
    try {
      await assert.rejects(
        PostgresAuditLog.open({ pool: other, writerId: 'same', redactor: new Redactor(), keys: KEYS }),
        (err: unknown) => err instanceof ControlPlaneError && err.code === 'AUDIT_LOCKED' && /already being written by another running replica \(database session \d+/.test(err.message) && /storage\.postgres\.writerId/.test(err.message),
      );
      await first.append(event(0));
      await first.close();
      const second = await PostgresAuditLog.open({ pool: other, writerId: 'same', redactor: new Redactor(), keys: KEYS });
      assert.equal((await second.append(event(1))).seq, 2);
      await second.close();
    } finally {
      await other.end();
    }
    assert.equal((await verifyPostgresAudit(pool, { keys: KEYS })).status, 'intact');
  });

  it('two writers on two pools appending concurrently: two chains, checkpoints over both, verify intact', async () => {
    const poolB = await openPostgres(server.url);
    try {
      const a = await open('replica-a', { checkpointIntervalMs: 20 });
      const b = await PostgresAuditLog.open({ pool: poolB, writerId: 'replica-b', redactor: new Redactor(), keys: KEYS, checkpointIntervalMs: 20 });
      const writeMany = async (log: PostgresAuditLog, n: number): Promise<void> => {
        for (let i = 0; i < n; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => log.append(event(i + j))));
      };
      await Promise.all([writeMany(a, 300), writeMany(b, 300)]);
      await Promise.all([a.close(), b.close()]);
      const result = await verifyPostgresAudit(pool, { keys: KEYS });
      assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
      assert.deepEqual(result.writers.map((w) => [w.writer, w.lastSeq]), [['replica-a', 300], ['replica-b', 300]]);
      const { rows } = await pool.query<{ checkpoint: string }>(`SELECT checkpoint FROM ${AUDIT_CHECKPOINTS_TABLE} ORDER BY n DESC LIMIT 1`);
      const heads = (JSON.parse(rows[0]!.checkpoint) as { heads: Record<string, { seq: number }> }).heads;
      assert.deepEqual(Object.keys(heads).sort(), ['replica-a', 'replica-b']);
      assert.equal(heads['replica-a']?.seq, 300);
      assert.equal(heads['replica-b']?.seq, 300);
    } finally {
      await poolB.end();
    }
  });

  it('queries filter, order and page like the file queries; export gives the stored lines', async () => {
    let t = Date.parse('2026-01-01T00:00:00.000Z');
    const log = await open('q', { now: () => (t += 1000) });
    for (let i = 0; i < 30; i++) await log.append(event(i));
    await log.append({ type: 'approval.decided', approvalId: 'ap-1', server: 'kubernetes', tool: 'pod_delete', decision: 'approved' });
    await log.close();
    const page1 = await queryPostgresAudit(pool, { type: 'call.completed' }, { limit: 10, order: 'desc' });
    assert.equal(page1.records.length, 10);
    assert.ok(page1.nextCursor);
    const page2 = await queryPostgresAudit(pool, { type: 'call.completed' }, { limit: 10, order: 'desc', cursor: page1.nextCursor });
    assert.equal(page2.records.length, 5);
    assert.equal(page2.nextCursor, undefined);
    const seqs = [...page1.records, ...page2.records].map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => y - x));
    assert.equal(new Set(seqs).size, 15);
    assert.deepEqual((await queryPostgresAudit(pool, { approvalId: 'ap-1', decision: 'approved' })).records.map((r) => r.tool), ['pod_delete']);
    const from = new Date(Date.parse('2026-01-01T00:00:10.000Z'));
    const to = new Date(Date.parse('2026-01-01T00:00:13.000Z'));
    const all = (await queryPostgresAudit(pool, { instance: 'q' }, { limit: 1000 })).records;
    const inWindow = all.filter((r) => Date.parse(r.ts) >= from.getTime() && Date.parse(r.ts) < to.getTime()).map((r) => r.seq);
    assert.equal(inWindow.length, 3);
    assert.deepEqual((await queryPostgresAudit(pool, { from, to, instance: 'q' })).records.map((r) => r.seq), inWindow);
    const lines: string[] = [];
    for await (const chunk of exportPostgresAudit(pool, 'jsonl', { server: 'kubernetes' })) lines.push(chunk);
    const { rows } = await pool.query<{ record: string }>(`SELECT record FROM ${AUDIT_RECORDS_TABLE} WHERE server = 'kubernetes'`);
    assert.deepEqual(lines, rows.map((r) => `${r.record}\n`));
    let csv = '';
    for await (const chunk of exportPostgresAudit(pool, 'csv', { type: 'approval.decided' })) csv += chunk;
    assert.match(csv, /^ts,instance,seq,type/);
    assert.match(csv, /approval\.decided,,kubernetes,pod_delete/);
  });

  it('a key change at open is an audit.key-rotated record, and verify follows it', async () => {
    const log = await open('rot');
    await log.append(event(0));
    await log.close();
    const rotated = rotateAuditKeyring(KEYS);
    const again = await open('rot', { keys: rotated });
    await again.append(event(1));
    await again.close();
    const { records } = await queryPostgresAudit(pool, { instance: 'rot' });
    assert.deepEqual(records.map((r) => r.type), ['call.requested', 'audit.key-rotated', 'call.completed']);
    assert.equal((await verifyPostgresAudit(pool, { keys: rotated })).status, 'intact');
    // With the old key only, the new records cannot be checked: a break naming the key.
    const old = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(old.status, 'broken');
    assert.match(old.firstBroken!.reason, /key ring does not hold/);
  });

  it('a database restart between appends: the writer reconnects at once, takes its lock again and goes on (no call refused)', async () => {
    const log = await open('restart', { probeIntervalMs: 60_000 });
    await log.append(event(0));
    await server.restart();
    assert.equal((await log.append(event(1))).seq, 2);
    assert.equal(log.health.state, 'ok');
    await log.close();
    const { records } = await queryPostgresAudit(pool, { instance: 'restart' });
    assert.deepEqual(records.map((r) => r.seq), [1, 2]);
    assert.equal((await verifyPostgresAudit(pool, { keys: KEYS })).status, 'intact');
  });

  it('the database unreachable: appends are refused at once (failing); a probe once it is back resumes the chain with an audit.write-resumed record', async () => {
    const admin = await openPostgres(server.url.replace(/\/mcpcp$/, '/postgres'));
    try {
      const log = await open('db-down', { probeIntervalMs: 60_000 });
      await log.append(event(0));
      // No new connection to the database, and the writer's own is cut.
      await admin.query('ALTER DATABASE mcpcp ALLOW_CONNECTIONS false');
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'mcpcp'`);
      await assert.rejects(log.append(event(1)), (err: unknown) => err instanceof Error);
      assert.equal(log.health.state, 'failing');
      await assert.rejects(log.append(event(2)), (err: unknown) => err instanceof ControlPlaneError && err.code === 'AUDIT_WRITE_FAILED');
      log.noteRefused();
      assert.equal(await log.probe(), false, 'still unreachable');
      await admin.query('ALTER DATABASE mcpcp ALLOW_CONNECTIONS true');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(await log.probe(), true, JSON.stringify(log.health));
      assert.equal(log.health.state, 'ok');
      assert.equal((await log.append(event(3))).seq, 3);
      await log.close();
      const { records } = await queryPostgresAudit(pool, { instance: 'db-down' });
      assert.deepEqual(records.map((r) => r.type), ['call.requested', 'audit.write-resumed', 'call.completed']);
      const gap = records[1]!.detail as { refusedCalls: number; lostRecords: number };
      assert.equal(gap.refusedCalls, 1);
      assert.equal(gap.lostRecords, 2);
      assert.equal((await verifyPostgresAudit(pool, { keys: KEYS })).status, 'intact');
    } finally {
      await admin.query('ALTER DATABASE mcpcp ALLOW_CONNECTIONS true').catch(() => undefined);
      await admin.end();
    }
  });
});
