// Cross-replica approval wake-up: two real `mcpcp serve` replicas on one real PostgreSQL. An MCP
// client calls a tool needing approval on replica A; the approval is decided through replica B's
// /ui API; we time from sending that decision to the call's result arriving on A's client, over
// 100 approvals. Baseline in the same run: the same decision sent to A itself (no cross-replica
// hop). Also counted: transactions PostgreSQL committed while 10 calls waited 5 s (the wake-up is
// LISTEN/NOTIFY, not a query per waiting call per second).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ApprovalView } from '../../src/protocol/ui';
import { postgresSkipReason, startPostgres } from '../helpers/postgres';
import { startReplicas, stopReplicas, type Replica } from '../helpers/replicas';

const APPROVALS = 100;
const WAITING = 10;
const WAIT_SECONDS = 20;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function waitPending(replica: Replica, marker: string): Promise<ApprovalView> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = (await replica.pending()).find((a) => JSON.stringify(a.args).includes(marker));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`approval ${marker} never showed on ${replica.name}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Decides `count` approvals of calls made on `caller` through `decider`; ms from sending the decision to the result on the caller's client. */
async function series(caller: Replica, decider: Replica, count: number, dir: string, label: string): Promise<{ wake: number[]; decide: number[] }> {
  const client = await caller.connect(`bench-${label}`);
  const wake: number[] = [];
  const decide: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const text = `${label}-${i}`;
      const call = client.callTool({ name: 'write_marker', arguments: { path: join(dir, `${label}.txt`), text } }, undefined, { timeout: 60_000 });
      const approval = await waitPending(decider, text);
      const sent = performance.now();
      let decidedAt = 0;
      const decision = decider.decide(approval, true).then((r) => {
        decidedAt = performance.now();
        if (r.status !== 200) throw new Error(`decision refused: ${JSON.stringify(r.body)}`);
      });
      const result = (await call) as { isError?: boolean };
      const done = performance.now();
      await decision;
      if (result.isError) throw new Error(`call ${text} failed: ${JSON.stringify(result)}`);
      wake.push(done - sent);
      decide.push(decidedAt - sent);
    }
  } finally {
    await client.close();
  }
  return { wake: wake.sort((x, y) => x - y), decide: decide.sort((x, y) => x - y) };
}

async function transactionsWhileWaiting(a: Replica, b: Replica, url: string, dir: string): Promise<{ commits: number; waited: number }> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const clients = await Promise.all(Array.from({ length: WAITING }, (_, i) => a.connect(`waiter-${i}`)));
  try {
    const calls = clients.map((c, i) => c.callTool({ name: 'write_marker', arguments: { path: join(dir, 'waiting.txt'), text: `waiting-${i}` } }, undefined, { timeout: 120_000 }));
    for (const c of calls) c.catch(() => undefined);
    for (let i = 0; i < WAITING; i++) await waitPending(b, `waiting-${i}`);
    const read = async (): Promise<number> => {
      const { rows } = await admin.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
      return Number(rows[0]!.n);
    };
    // An idle backend flushes its statistics to pg_stat_database up to 10 s late (PostgreSQL 15):
    // let the requests' own work land first, then count a long window.
    await new Promise((r) => setTimeout(r, 11_000));
    const before = await read();
    await new Promise((r) => setTimeout(r, WAIT_SECONDS * 1000));
    const after = await read();
    for (const approval of await b.pending()) await b.decide(approval, false);
    await Promise.allSettled(calls);
    // The first read itself is one transaction.
    return { commits: after - before - 1, waited: WAITING };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await admin.end();
  }
}

export async function run(): Promise<string> {
  const skip = postgresSkipReason();
  if (skip) return `## Approvals across replicas\n\nNot measured: ${skip}.`;
  const server = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-approvals-bench-'));
  let replicas: Replica[] = [];
  try {
    replicas = await startReplicas(2, { postgres: server, names: ['bench-a', 'bench-b'], extraConfig: ['team:', '  allowSelfApproval: true', 'approvals:', '  maxPendingPerSession: 20'] });
    const [a, b] = replicas as [Replica, Replica];
    await series(a, b, 5, dir, 'warmup');
    const cross = await series(a, b, APPROVALS, dir, 'cross');
    const same = await series(a, a, APPROVALS, dir, 'same');
    const idle = await transactionsWhileWaiting(a, b, server.url, dir);
    const row = (label: string, r: { wake: number[]; decide: number[] }): string =>
      `| ${label} | ${r.wake.length} | ${percentile(r.wake, 50).toFixed(1)} | ${percentile(r.wake, 99).toFixed(1)} | ${percentile(r.wake, 100).toFixed(1)} | ${percentile(r.decide, 50).toFixed(1)} |`;
    const p99 = percentile(cross.wake, 99);
    return [
      '## Approvals across replicas',
      '',
      `Two \`mcpcp serve\` replicas on one PostgreSQL ${'15'} (loopback, fsync off in the test cluster). A call to a tool needing approval waits on replica A; ` +
        'the decision is POSTed to replica B\'s `/ui/api/approvals/<id>` with the approver credential; the time runs from sending it to the call\'s result on A\'s MCP client ' +
        '(B\'s transaction and NOTIFY, A\'s LISTEN connection re-reading the row, the tool running, the response). Baseline, same run: the decision sent to A itself. ' +
        `Target p99 < 100 ms: ${p99 < 100 ? 'met' : '**not met**'} (${p99.toFixed(1)} ms).`,
      '',
      '| Decision through | Approvals | p50 ms | p99 ms | max ms | p50 decide request ms |',
      '|---|---:|---:|---:|---:|---:|',
      row('replica B (cross-replica, LISTEN/NOTIFY)', cross),
      row('replica A (same replica, baseline)', same),
      '',
      `While ${idle.waited} calls waited ${WAIT_SECONDS} s for a decision, PostgreSQL counted ${idle.commits} committed transactions in all (pg_stat_database, whose figures lag up to 10 s: ` +
        `both replicas' heartbeats, three statements every 3 s each, and background work), against at least ${idle.waited * WAIT_SECONDS} for a query per waiting call per second.`,
    ].join('\n');
  } finally {
    await stopReplicas(replicas);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
