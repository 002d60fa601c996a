// Cross-replica approval wake-up: two real `mcpcp serve` replicas in team mode on one real
// PostgreSQL. An MCP client with an operator's API key (made with `mcpcp team api-key create`) calls
// a tool needing approval on replica A; an approver signed in to replica B's /ui (OIDC code + PKCE
// against the issuer fixture) decides it through B's /ui API; we time from sending that decision to the call's result arriving on A's client, over
// 100 approvals. Baseline in the same run: the same decision sent to A itself (no cross-replica
// hop). Also counted: transactions PostgreSQL committed while 10 calls waited 5 s (the wake-up is
// LISTEN/NOTIFY, not a query per waiting call per second).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ApprovalView } from '../../src/protocol/ui';
import { postgresSkipReason, startPostgres } from '../helpers/postgres';
import { startReplicaIssuer, startReplicas, stopReplicas, type Replica } from '../helpers/replicas';
import type { UiSignedIn } from '../helpers/ui-sign-in';

/** The operator's API key (for calls) and the approver's /ui session on each replica. */
interface Identities {
  key: string;
  approver: Map<Replica, UiSignedIn>;
}

const APPROVALS = 100;
const WAITING = 10;
const WAIT_SECONDS = 20;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function waitPending(replica: Replica, as: UiSignedIn, marker: string): Promise<ApprovalView> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = (await replica.pending(as)).find((a) => JSON.stringify(a.args).includes(marker));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`approval ${marker} never showed on ${replica.name}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Decides `count` approvals of calls made on `caller` through `decider`; ms from sending the decision to the result on the caller's client. */
async function series(ids: Identities, caller: Replica, decider: Replica, count: number, dir: string, label: string): Promise<{ wake: number[]; decide: number[] }> {
  const client = await caller.connect(ids.key, `bench-${label}`);
  const session = ids.approver.get(decider)!;
  const wake: number[] = [];
  const decide: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const text = `${label}-${i}`;
      const call = client.callTool({ name: 'write_marker', arguments: { path: join(dir, `${label}.txt`), text } }, undefined, { timeout: 60_000 });
      const approval = await waitPending(decider, session, text);
      const sent = performance.now();
      let decidedAt = 0;
      const decision = decider.decide(session, approval, true).then((r) => {
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

async function transactionsWhileWaiting(ids: Identities, a: Replica, b: Replica, url: string, dir: string): Promise<{ commits: number; waited: number }> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const session = ids.approver.get(b)!;
  const clients = await Promise.all(Array.from({ length: WAITING }, (_, i) => a.connect(ids.key, `waiter-${i}`)));
  try {
    const calls = clients.map((c, i) => c.callTool({ name: 'write_marker', arguments: { path: join(dir, 'waiting.txt'), text: `waiting-${i}` } }, undefined, { timeout: 120_000 }));
    for (const c of calls) c.catch(() => undefined);
    for (let i = 0; i < WAITING; i++) await waitPending(b, session, `waiting-${i}`);
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
    for (const approval of await b.pending(session)) await b.decide(session, approval, false);
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
  const issuer = await startReplicaIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-approvals-bench-'));
  let replicas: Replica[] = [];
  try {
    replicas = await startReplicas(2, { postgres: server, issuer, names: ['bench-a', 'bench-b'], extraConfig: ['approvals:', '  maxPendingPerSession: 20'] });
    const [a, b] = replicas as [Replica, Replica];
    // Real identities: a CI bot's operator key asks, Alice (an approver) decides; nobody approves their own request.
    const ids: Identities = { key: a.createApiKey('bench-bot', ['operator']).key, approver: new Map([[a, await a.signIn('u-alice')], [b, await b.signIn('u-alice')]]) };
    await series(ids, a, b, 5, dir, 'warmup');
    const cross = await series(ids, a, b, APPROVALS, dir, 'cross');
    const same = await series(ids, a, a, APPROVALS, dir, 'same');
    const idle = await transactionsWhileWaiting(ids, a, b, server.url, dir);
    const row = (label: string, r: { wake: number[]; decide: number[] }): string =>
      `| ${label} | ${r.wake.length} | ${percentile(r.wake, 50).toFixed(1)} | ${percentile(r.wake, 99).toFixed(1)} | ${percentile(r.wake, 100).toFixed(1)} | ${percentile(r.decide, 50).toFixed(1)} |`;
    const p99 = percentile(cross.wake, 99);
    return [
      '## Approvals across replicas',
      '',
      `Two \`mcpcp serve\` replicas on one PostgreSQL ${'15'} (loopback, fsync off in the test cluster). A call to a tool needing approval waits on replica A; ` +
        'the decision is POSTed to replica B\'s `/ui/api/approvals/<id>` in an approver\'s /ui session (team mode: the call made with an operator\'s API key); the time runs from sending it to the call\'s result on A\'s MCP client ' +
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
    await issuer.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
