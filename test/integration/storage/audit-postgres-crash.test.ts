// Two replicas' audit writers (two processes, two connections pools, two writer ids) append
// concurrently to one PostgreSQL; one is SIGKILLed mid-run. Every append that resolved before the
// kill must be in the database (an append resolves only after its INSERT committed), the audit must
// verify (no torn state exists in a database: a row is committed or absent), and the killed
// writer's id must resume its chain after the restart.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newAuditKeyring, serializeAuditKeyring } from '../../../src/core/audit';
import { AUDIT_RECORDS_TABLE, PostgresAuditLog } from '../../../src/core/audit/postgres';
import { verifyPostgresAudit } from '../../../src/core/audit/postgres-verify';
import { Redactor } from '../../../src/core/redact';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';

const WRITER = join(__dirname, 'fixtures', 'pg-audit-writer.ts');
const skip = postgresSkipReason();
const KEYS = newAuditKeyring();

interface Writer {
  readonly child: ChildProcess;
  readonly acked: Set<number>;
  opened: number;
  /** Resolves once `n` appends were acknowledged. */
  waitAcks(n: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startWriter(url: string, writerId: string): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, writerId], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MCPCP_TEST_PG_URL: url, MCPCP_TEST_AUDIT_KEYS: serializeAuditKeyring(KEYS) },
  });
  const acked = new Set<number>();
  const waiters: { n: number; resolve: () => void }[] = [];
  let buffered = '';
  let stderr = '';
  const w: Writer = {
    child,
    acked,
    opened: -1,
    waitAcks: (n) => (acked.size >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    exited: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr }))),
  };
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [word, value] = line.split(' ');
      if (word === 'open') w.opened = Number(value);
      if (word === 'ack') acked.add(Number(value));
    }
    for (const waiter of [...waiters]) {
      if (acked.size >= waiter.n) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  return w;
}

describe('PostgreSQL audit: concurrent replicas and a replica killed mid-run (real processes, real server)', { skip }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url, { applicationName: 'crash-test' });
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('loses no acknowledged record of a SIGKILLed writer; the audit verifies; the writer id resumes its chain', async () => {
    const a = startWriter(server.url, 'replica-a');
    const b = startWriter(server.url, 'replica-b');
    try {
      await Promise.all([a.waitAcks(400), b.waitAcks(400)]);
      a.child.kill('SIGKILL');
      const killed = await a.exited;
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      // B goes on writing while A is dead, then stops cleanly.
      const more = b.acked.size + 200;
      await b.waitAcks(more);
      b.child.kill('SIGTERM');
      const stopped = await b.exited;
      assert.equal(stopped.code, 0, stopped.stderr);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
    const seqsOf = async (writer: string): Promise<Set<number>> =>
      new Set((await pool.query<{ seq: string }>(`SELECT seq FROM ${AUDIT_RECORDS_TABLE} WHERE writer_id = $1`, [writer])).rows.map((r) => Number(r.seq)));
    const inDbA = await seqsOf('replica-a');
    const lostA = [...a.acked].filter((s) => !inDbA.has(s));
    assert.deepEqual(lostA, [], `acknowledged records of the killed writer missing from the database: ${lostA.slice(0, 10).join(', ')}`);
    const inDbB = await seqsOf('replica-b');
    assert.deepEqual([...b.acked].filter((s) => !inDbB.has(s)), []);
    // An append in flight at the kill may have committed without its ack reaching anyone: at most one batch more.
    assert.ok(inDbA.size >= a.acked.size, `${inDbA.size} rows, ${a.acked.size} acks`);

    const result = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
    assert.deepEqual(result.writers.map((w) => w.writer), ['replica-a', 'replica-b']);

    // The killed replica starts again with its id: the dead session's lock is gone, the chain continues.
    const restarted = await PostgresAuditLog.open({ pool, writerId: 'replica-a', redactor: new Redactor(), keys: KEYS });
    assert.equal(restarted.head.seq, Math.max(...inDbA));
    assert.equal((await restarted.append({ type: 'server.started', server: 'git' })).seq, Math.max(...inDbA) + 1);
    await restarted.close();
    const again = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(again.status, 'intact', JSON.stringify(again.firstBroken));
    assert.equal(again.writers.find((w) => w.writer === 'replica-a')?.checkpointed?.seq, Math.max(...inDbA) + 1);
  });
});
