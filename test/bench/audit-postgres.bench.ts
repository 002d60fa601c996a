// The team audit's cost per call: an allowed read-only call (`noop`) through one gateway with the
// real oversight stages (policy, audit: three records per call, the first two awaited before the
// call runs, the last before it answers), once with the file audit (fdatasync per group commit)
// and once with the PostgreSQL audit (one INSERT per group commit, on a local PostgreSQL 15 with
// fsync and synchronous_commit on, so a commit is as durable as the file's fsync). Same run, rounds
// interleaved (file, PostgreSQL, file, PostgreSQL…) so load from elsewhere hits both alike.
// Target: the PostgreSQL audit within 1.5x the file audit's per-call cost.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { parseAuditKeyring, verifyAudit, type AuditKeyring } from '../../src/core/audit';
import { verifyPostgresAudit } from '../../src/core/audit/postgres-verify';
import { percentile } from '../../src/core/metrics/metrics';
import { openPostgres, type PgPool } from '../../src/core/storage/postgres';
import { connectClient, startPlane, type TestPlane } from '../helpers/fixture-plane';
import { postgresSkipReason, startPostgres } from '../helpers/postgres';

// Many short interleaved rounds: fsync latency on a shared machine swings by 10x within minutes.
const ROUNDS: Record<number, number> = { 1: 25, 16: 10 };
const CALLS: Record<number, number> = { 1: 500, 16: 2000 };

interface Sample {
  readonly latencies: number[];
  seconds: number;
}

async function measure(client: Client, concurrency: number, total: number, into: Sample): Promise<void> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t0 = process.hrtime.bigint();
        await client.callTool({ name: 'noop', arguments: {} });
        into.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  into.seconds += Number(process.hrtime.bigint() - started) / 1e9;
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

export async function run(): Promise<string> {
  const skip = postgresSkipReason();
  if (skip !== undefined) return `## Audit in PostgreSQL vs files (per call)\n\nNot run: ${skip}.`;
  // Durable: fsync, synchronous_commit and full_page_writes on (the test harness turns them off by default).
  const pg = await startPostgres({ durable: true });
  let pool: PgPool | undefined;
  const planes: TestPlane[] = [];
  try {
    pool = await openPostgres(pg.url, { applicationName: 'bench-audit' });
    const durable = (await pool.query<{ fsync: string; synchronous_commit: string }>('SELECT current_setting(\'fsync\') AS fsync, current_setting(\'synchronous_commit\') AS synchronous_commit')).rows[0]!;
    const servers = [{ name: 'fx', fixture: 'well-behaved' }];
    // The gateway's per-session rate limit would cap the faster path: lifted as in gateway.bench.ts.
    const gateway = { maxRequestsPerSecondPerSession: 1_000_000, maxConcurrentPerSession: 64 };
    const filePlane = await startPlane(servers, { gateway, oversight: {} });
    planes.push(filePlane);
    const pgPlane = await startPlane(servers, { gateway, oversight: { postgresAudit: { pool, writerId: 'bench-replica' } } });
    planes.push(pgPlane);
    for (const p of planes) await p.supervisor.get('fx')!.waitUntilServing(15_000);
    const fileClient = await connectClient(filePlane, 'fx');
    const pgClient = await connectClient(pgPlane, 'fx');
    // Warm-up: JIT, connections, sessions, both audits.
    for (let i = 0; i < 200; i++) {
      await fileClient.callTool({ name: 'noop', arguments: {} });
      await pgClient.callTool({ name: 'noop', arguments: {} });
    }
    const rows: string[] = [];
    const ratios: number[] = [];
    for (const concurrency of [1, 16]) {
      const file: Sample = { latencies: [], seconds: 0 };
      const db: Sample = { latencies: [], seconds: 0 };
      const perRound = CALLS[concurrency]! / ROUNDS[concurrency]!;
      for (let r = 0; r < ROUNDS[concurrency]!; r++) {
        await measure(fileClient, concurrency, perRound, file);
        await measure(pgClient, concurrency, perRound, db);
      }
      const cps = (s: Sample): number => s.latencies.length / s.seconds;
      // Per-call cost = wall time per call at this concurrency (1 / throughput).
      const ratio = cps(file) / cps(db);
      ratios.push(ratio);
      for (const [label, s] of [['file audit (fdatasync)', file], ['PostgreSQL audit (commit, fsync on)', db]] as const) {
        rows.push(`| ${label} | ${concurrency} | ${s.latencies.length} | ${fmt(cps(s), 0)} | ${fmt(percentile(s.latencies, 50))} | ${fmt(percentile(s.latencies, 99))} | ${label.startsWith('PostgreSQL') ? `${fmt(ratio)}x` : '1.00x'} |`);
      }
    }
    await fileClient.close();
    await pgClient.close();
    for (const p of planes.splice(0)) await p.stop();
    const keysOf = (stateDir: string): AuditKeyring => parseAuditKeyring(readFileSync(join(stateDir, 'keys', 'audit.key'), 'utf8'), 'bench');
    const fileVerified = await verifyAudit(join(filePlane.stateDir!, 'audit'), { keys: keysOf(filePlane.stateDir!) });
    const pgVerified = await verifyPostgresAudit(pool, { keys: keysOf(pgPlane.stateDir!) });
    rmSync(filePlane.stateDir!, { recursive: true, force: true });
    rmSync(pgPlane.stateDir!, { recursive: true, force: true });
    const worst = Math.max(...ratios);
    return [
      '## Audit in PostgreSQL vs files (per call)',
      '',
      `An allowed read-only call (\`noop\` of the fixture server) through one gateway with the real policy and audit stages (three records per call: two awaited before the call runs, one before it answers). ` +
        `File audit: fdatasync per group commit. PostgreSQL audit: PostgreSQL 15 on the same machine (loopback TCP; fsync=${durable.fsync}, synchronous_commit=${durable.synchronous_commit}), one INSERT per group commit. ` +
        `${ROUNDS[1]} (concurrency 1) and ${ROUNDS[16]} (concurrency 16) interleaved rounds; ratio = PostgreSQL per-call cost / file per-call cost (1 / throughput). The machine was shared with other work while it ran.`,
      '',
      '| audit | concurrency | calls | calls/s | p50 ms | p99 ms | per-call cost vs file |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Both audits verify afterwards: files ${fileVerified.status} (${fileVerified.records} records), PostgreSQL ${pgVerified.status} (${pgVerified.records} records, ${pgVerified.checkpoints} checkpoints). ` +
        `Worst ratio ${fmt(worst)}x: ${worst <= 1.5 ? 'within' : 'over'} the 1.5x target.`,
    ].join('\n');
  } finally {
    for (const p of planes) await p.stop().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await pg.stop();
  }
}
