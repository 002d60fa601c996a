// Two (or three) real `mcpcp serve` processes on one real PostgreSQL: a call waits on one replica,
// a human decides through another. Decisions use each replica's approver credential, which is the
// loopback mode's local principal; team-auth's OIDC/API-key principals plug into the same path.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApprovalView } from '../../../src/protocol/ui';
import { firstText, pidAlive, waitFor } from '../../helpers/fixture-plane';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';
import { CLI, startReplicas, stopReplicas, type Replica } from '../../helpers/replicas';

const skip = postgresSkipReason();

async function pendingOn(replica: Replica, tool: string, marker: string): Promise<ApprovalView> {
  let found: ApprovalView | undefined;
  await waitFor(async () => {
    found = (await replica.pending()).find((a) => a.tool === tool && JSON.stringify(a.args).includes(marker));
    return found !== undefined;
  }, 15_000, `the approval of ${tool} to show on ${replica.name}`);
  return found!;
}

function auditRecords(replica: Replica, type: string): Array<Record<string, unknown> & { detail?: Record<string, unknown> }> {
  const run = spawnSync(process.execPath, [CLI, 'audit', 'query', '--type', type, '--data-dir', replica.dataDir], { encoding: 'utf8' });
  return run.stdout.trim() === '' ? [] : run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

describe('approvals across replicas: real mcpcp serve processes on PostgreSQL', { skip }, () => {
  let pg: TestPostgres;
  const started: Replica[] = [];
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await stopReplicas(started);
    await pg?.stop();
  });

  it('a call waiting on A is decided through B and completes on A (the marker tool ran once); the self-approval is marked in the audit', async () => {
    const [a, b] = await startReplicas(2, { postgres: pg, names: ['solo-a', 'solo-b'], extraConfig: ['team:', '  allowSelfApproval: true'] });
    started.push(a!, b!);
    const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran.txt');
    const client = await a!.connect();
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker, text: 'cross-replica' } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b!, 'write_marker', marker);
    assert.equal(lines(marker).length, 0, 'nothing ran before the decision');
    const decided = await b!.decide(approval, true, 'fine');
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    assert.equal(decided.body.status, 'approved');
    const result = await call;
    assert.equal(firstText(result), `wrote ${marker}`);
    assert.deepEqual(lines(marker), ['cross-replica'], 'the tool ran exactly once');
    // A replayed decision is refused and runs nothing more.
    const replay = await b!.decide(approval, true);
    assert.equal(replay.status, 409);
    await client.close();
    // A (the replica holding the call) audited the decision: who asked, who decided, self-approved.
    await waitFor(() => auditRecords(a!, 'approval.decided').some((r) => r['approvalId'] === approval.id), 5_000, 'the decision in A\'s audit');
    const record = auditRecords(a!, 'approval.decided').find((r) => r['approvalId'] === approval.id)!;
    assert.equal(record['decision'], 'approved');
    assert.equal(record.detail?.['selfApproved'], true);
    assert.equal(record.detail?.['requester'], 'local:owner');
    assert.equal(record.detail?.['decidedBy'], 'local:owner');
    assert.equal(lines(marker).length, 1);
    await stopReplicas([a!, b!]);
  });

  it('the requester cannot approve: with shared state and no allowSelfApproval, the local principal\'s decision is refused (403) and nothing runs', async () => {
    const [a, b] = await startReplicas(2, { postgres: pg, names: ['team-a', 'team-b'] });
    started.push(a!, b!);
    const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran.txt');
    const client = await a!.connect();
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b!, 'write_marker', marker);
    for (const [replica, approve] of [[b!, true], [a!, true], [b!, false]] as const) {
      const refused = await replica.decide(approval, approve);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'APPROVAL_SELF_DECISION');
      assert.match(refused.body.error ?? '', /nobody decides their own request.*team\.allowSelfApproval: true/);
    }
    assert.equal((await b!.pending()).find((p) => p.id === approval.id)?.status, 'pending');
    assert.equal(lines(marker).length, 0);
    // The call ends cleanly when A stops: rejected, never run.
    assert.equal(await a!.stop(), 0);
    await assert.rejects(call);
    assert.equal(lines(marker).length, 0);
    await waitFor(async () => (await b!.history()).some((h) => h.id === approval.id && h.status === 'rejected'), 5_000, 'the approval rejected at A\'s stop');
    await client.close().catch(() => undefined);
    await stopReplicas([b!]);
  });

  it('four-eyes (approvers: 2): one approval leaves it pending (1 of 2); the same approver again, through the other replica, is refused', async () => {
    const rule = ['policy:', '  rules:', '    - { server: fx, tool: write_marker, decision: approve, approvers: 2 }'];
    const [a, b] = await startReplicas(2, { postgres: pg, names: ['four-a', 'four-b'], extraConfig: [...rule, 'team:', '  allowSelfApproval: true'] });
    started.push(a!, b!);
    const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran.txt');
    const client = await a!.connect();
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b!, 'write_marker', marker);
    const first = await b!.decide(approval, true);
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'pending');
    assert.match(first.body.note ?? '', /1 of 2 approvals; another approver must approve it/);
    const shown = (await a!.pending()).find((p) => p.id === approval.id);
    assert.deepEqual(shown?.approvals, { given: 1, required: 2, by: ['local user'] });
    const again = await a!.decide(approval, true);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'APPROVAL_ALREADY_APPROVED');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lines(marker).length, 0, 'one approver of two runs nothing');
    // Any rejection rejects.
    const reject = await a!.decide(approval, false, 'no');
    assert.equal(reject.status, 200);
    const result = (await call) as { isError?: boolean };
    assert.equal(result.isError, true);
    assert.equal(lines(marker).length, 0);
    await client.close();
    await stopReplicas([a!, b!]);
  });

  it('a LISTEN connection terminated by the server (pg_terminate_backend) misses no decision', async () => {
    const [a, b] = await startReplicas(2, { postgres: pg, names: ['listen-a', 'listen-b'], extraConfig: ['team:', '  allowSelfApproval: true'] });
    started.push(a!, b!);
    const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran.txt');
    const client = await a!.connect();
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b!, 'write_marker', marker);
    const { default: pgLib } = await import('pg');
    const admin = new pgLib.Client({ connectionString: pg.url });
    await admin.connect();
    try {
      const killed = await admin.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'mcpcp-approvals-listen-a'");
      assert.deepEqual(killed.rows, [{ ok: true }], 'A\'s listener was terminated');
      const decided = await b!.decide(approval, true);
      assert.equal(decided.status, 200);
      assert.equal(firstText(await call), `wrote ${marker}`);
      assert.equal(lines(marker).length, 1);
      await waitFor(() => /the LISTEN connection is back/.test(a!.stderr()), 5_000, 'A to say it reconnected');
      const relistening = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'mcpcp-approvals-listen-a'");
      assert.equal(relistening.rows[0].n, 1);
    } finally {
      await admin.end();
    }
    assert.doesNotMatch(a!.stderr() + b!.stderr(), new RegExp(pg.password.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the database password never reaches a log');
    await client.close();
    await stopReplicas([a!, b!]);
  });

  it('killing replica A (SIGKILL) mid-call: B ends its approval as caller-gone, nothing runs later, B audits it', async () => {
    const [a, b] = await startReplicas(2, { postgres: pg, names: ['kill-a', 'kill-b'], replicaTimeoutSeconds: 2, extraConfig: ['team:', '  allowSelfApproval: true'] });
    started.push(a!, b!);
    const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran.txt');
    const client = await a!.connect();
    // The MCP SDK client retries a dropped stream and only gives up at its request timeout.
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { timeout: 12_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b!, 'write_marker', marker);
    const statusRun = spawnSync(process.execPath, [CLI, 'status', '--json', '--data-dir', a!.dataDir], { encoding: 'utf8' });
    const fxPid = (JSON.parse(statusRun.stdout) as { instances: Array<{ servers: Array<{ name: string; state: { pid: number } }> }> }).instances[0]!.servers.find((s) => s.name === 'fx')!.state.pid;
    a!.child.kill('SIGKILL');
    await new Promise((r) => a!.child.once('exit', r));
    // The caller's request ends (connection gone), it does not hang.
    const killedAt = Date.now();
    await waitFor(async () => (await b!.history()).some((h) => h.id === approval.id), 15_000, 'B to end the orphaned approval');
    const endedAfterMs = Date.now() - killedAt;
    assert.ok(endedAfterMs < 6_000, `ended ${endedAfterMs} ms after the kill (replicaTimeoutSeconds: 2)`);
    const ended = (await b!.history()).find((h) => h.id === approval.id)!;
    assert.equal(ended.status, 'rejected');
    assert.match(ended.decisionReason ?? '', /replica holding the call \(kill-a\) is gone.*nothing ran/);
    const late = await b!.decide(approval, true);
    assert.equal(late.status, 409, 'nobody can approve it later');
    await waitFor(() => auditRecords(b!, 'approval.decided').some((r) => r['approvalId'] === approval.id), 5_000, 'B to audit it');
    const record = auditRecords(b!, 'approval.decided').find((r) => r['approvalId'] === approval.id)!;
    assert.equal(record['decision'], 'rejected');
    assert.equal(record.detail?.['endedByReplica'], true);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(lines(marker).length, 0, 'the marker tool never ran');
    // The fx server A started does not outlive it for long (it loses its stdin and exits).
    await waitFor(() => !pidAlive(fxPid), 10_000, 'A\'s fx server to exit');
    // The caller's request ends (it does not hang), never with a result.
    await assert.rejects(call);
    await client.close().catch(() => undefined);
    await stopReplicas([b!]);
  });
});
