// Two real `mcpcp serve` processes in team mode on one real PostgreSQL, with real identities: MCP
// callers hold API keys made with `mcpcp team api-key create` (stored in the database) or OIDC
// access tokens from the issuer fixture; approvers sign in to /ui on either replica through the
// issuer's authorization-code + PKCE flow (plain HTTP, test/helpers/ui-sign-in.ts). A call waits on
// one replica and is decided through the other. The replicas are shared by the tests, in order; the
// last one SIGKILLs replica A and checks the audit in PostgreSQL with `mcpcp audit verify`.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OidcIssuer } from '../../fixtures/oidc-issuer/issuer';
import type { ApprovalView } from '../../../src/protocol/ui';
import { firstText, pidAlive, waitFor } from '../../helpers/fixture-plane';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';
import { CLI, accessTokenFor, startReplicaIssuer, startReplicas, stopReplicas, type Replica } from '../../helpers/replicas';
import { apiKeySecretPart } from '../../helpers/team-plane';
import type { UiSignedIn } from '../../helpers/ui-sign-in';

const skip = postgresSkipReason();

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

function newMarker(): string {
  return join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran.txt');
}

describe('approvals across replicas in team mode: real mcpcp serve processes, real identities, one PostgreSQL', { skip }, () => {
  let pg: TestPostgres;
  let issuer: OidcIssuer;
  let a: Replica;
  let b: Replica;
  /** ci-bot's API key (operator), made once with the CLI against the shared database. */
  let operator: { key: string; id: string };
  /** Alice's own API key (approver and operator): what an agent on her machine could hold. */
  let aliceKey: { key: string; id: string };
  let vera: { key: string; id: string };
  const sessions: Record<string, UiSignedIn> = {};
  /** Calls answered successfully, by replica and tool: each must have its call.completed row. */
  const answered = new Map<string, number>();
  const count = (replica: Replica, tool: string): void => void answered.set(`${replica.name} ${tool}`, (answered.get(`${replica.name} ${tool}`) ?? 0) + 1);

  async function pendingOn(replica: Replica, marker: string): Promise<ApprovalView> {
    let found: ApprovalView | undefined;
    await waitFor(async () => {
      found = (await replica.pending(sessions[replica === a ? 'alice@A' : 'alice@B']!)).find((x) => x.tool === 'write_marker' && JSON.stringify(x.args).includes(marker));
      return found !== undefined;
    }, 15_000, `the approval of ${marker} to show on ${replica.name}`);
    return found!;
  }

  before(async () => {
    pg = await startPostgres();
    issuer = await startReplicaIssuer();
    // Four-eyes for one kind of call only: write_marker with text "four-eyes" needs two approvers.
    const rules = ['policy:', '  rules:', '    - { server: fx, tool: write_marker, args: { text: { equals: four-eyes } }, decision: approve, approvers: 2 }'];
    [a, b] = (await startReplicas(2, { postgres: pg, issuer, replicaTimeoutSeconds: 2, extraConfig: rules })) as [Replica, Replica];
    operator = a.createApiKey('ci-bot', ['operator']);
    aliceKey = b.createApiKey('alice@example.com', ['approver', 'operator']);
    vera = a.createApiKey('vera-bot', ['viewer']);
    for (const [who, replica, sub] of [['alice@B', b, 'u-alice'], ['alice@A', a, 'u-alice'], ['bob@A', a, 'u-bob'], ['olga@A', a, 'u-olga'], ['olga@B', b, 'u-olga']] as const) {
      sessions[who] = await replica.signIn(sub);
    }
  });
  after(async () => {
    await stopReplicas([a, b].filter((r) => r !== undefined));
    await issuer?.close();
    await pg?.stop();
  });

  it('an API key made once with the CLI works on both replicas; a viewer\'s key may read but not write (roles enforced)', async () => {
    for (const replica of [a, b]) {
      const client = await replica.connect(operator.key);
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: `key on ${replica.name}` } })), `key on ${replica.name}`);
      count(replica, 'echo');
      await client.close();
    }
    const marker = newMarker();
    const viewer = await b.connect(vera.key);
    assert.equal(firstText(await viewer.callTool({ name: 'echo', arguments: { text: 'read' } })), 'read');
    count(b, 'echo');
    const refused = (await viewer.callTool({ name: 'write_marker', arguments: { path: marker } })) as { isError?: boolean };
    assert.equal(refused.isError, true);
    assert.match(firstText(refused), /vera-bot holds the role viewer, which may only make read-only requests/);
    assert.equal(lines(marker).length, 0, 'the viewer\'s write never ran');
    assert.equal((await b.pending(sessions['alice@B']!)).length, 0, 'and asked nobody');
    await viewer.close();
  });

  it('an operator\'s call waiting on A is approved by Alice signed in on B and completes on A (the marker tool ran once); the audit names both', async () => {
    const marker = newMarker();
    const client = await a.connect(operator.key);
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker, text: 'cross-replica' } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b, marker);
    assert.equal(lines(marker).length, 0, 'nothing ran before the decision');
    const decided = await b.decide(sessions['alice@B']!, approval, true, 'fine');
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    assert.equal(decided.body.status, 'approved');
    assert.equal(firstText(await call), `wrote ${marker}`);
    count(a, 'write_marker');
    assert.deepEqual(lines(marker), ['cross-replica'], 'the tool ran exactly once');
    // A replayed decision is refused and runs nothing more.
    assert.equal((await b.decide(sessions['alice@B']!, approval, true)).status, 409);
    await client.close();
    // A (the replica holding the call) audited the decision in PostgreSQL: who asked, who decided.
    await waitFor(() => b.audit('approval.decided').some((r) => r['approvalId'] === approval.id), 10_000, 'the decision in the audit');
    const record = b.audit('approval.decided').find((r) => r['approvalId'] === approval.id)!;
    assert.equal(record['decision'], 'approved');
    assert.equal(record['instance'], a.name);
    // The requester is the key's id, readable (the redactor masks what follows `apikey:`, so the
    // id is written `apikey/<id>`); the call records name the key's owner too (below).
    assert.match(String(record.detail?.['requester']), /^apikey\/[A-Za-z0-9]{12}$/);
    assert.equal(record.detail?.['decidedBy'], `oidc:${issuer.issuer}#u-alice`);
    const actor = record['actor'] as { kind?: string; id?: string; roles?: string[] } | undefined;
    assert.deepEqual([actor?.kind, actor?.id, actor?.roles], ['ui-session', `oidc:${issuer.issuer}#u-alice`, ['approver']], 'the decider with their roles');
    const requested = b.audit('call.requested').find((r) => r['approvalId'] === approval.id || JSON.stringify(r).includes(marker));
    assert.deepEqual((requested?.['principal'] as { name?: string; via?: string } | undefined) && { name: (requested!['principal'] as { name: string }).name, via: (requested!['principal'] as { via: string }).via }, { name: 'ci-bot', via: 'api-key' });
    assert.equal(record.detail?.['selfApproved'], undefined);
    assert.equal(lines(marker).length, 1);
  });

  it('the requester cannot approve their own request: Olga asks with her access token, signs in to /ui on both replicas, is refused (403), nothing runs', async () => {
    const marker = newMarker();
    const client = await a.connect(await accessTokenFor(issuer, 'u-olga'));
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b, marker);
    for (const [replica, session, approve] of [[b, 'olga@B', true], [a, 'olga@A', true], [b, 'olga@B', false]] as const) {
      const refused = await replica.decide(sessions[session]!, approval, approve);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'APPROVAL_SELF_DECISION');
      assert.match(refused.body.error ?? '', /nobody decides their own request.*team\.allowSelfApproval: true/);
    }
    assert.equal((await a.pending(sessions['alice@A']!)).find((p) => p.id === approval.id)?.status, 'pending', 'still pending');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lines(marker).length, 0, 'the marker tool never ran');
    // Another approver ends it: rejected, never run.
    assert.equal((await b.decide(sessions['alice@B']!, approval, false, 'not today')).status, 200);
    assert.equal(((await call) as { isError?: boolean }).isError, true);
    assert.equal(lines(marker).length, 0);
    await client.close();
  });

  it('four-eyes (approvers: 2): Alice on B leaves it pending (1 of 2); Alice again on A is refused (409); Bob (approver by group) on A completes it', async () => {
    const marker = newMarker();
    const client = await a.connect(operator.key);
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker, text: 'four-eyes' } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b, marker);
    const first = await b.decide(sessions['alice@B']!, approval, true);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, 'pending');
    assert.match(first.body.note ?? '', /1 of 2 approvals; another approver must approve it/);
    const shown = (await a.pending(sessions['bob@A']!)).find((p) => p.id === approval.id);
    assert.equal(shown?.approvals?.given, 1);
    assert.equal(shown?.approvals?.required, 2);
    const again = await a.decide(sessions['alice@A']!, approval, true);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.code, 'APPROVAL_ALREADY_APPROVED');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lines(marker).length, 0, 'one approver of two runs nothing');
    const second = await a.decide(sessions['bob@A']!, approval, true);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.status, 'approved');
    assert.equal(firstText(await call), `wrote ${marker}`);
    count(a, 'write_marker');
    assert.deepEqual(lines(marker), ['four-eyes'], 'ran once, after the second approver');
    // The audit names both approvers; the actor is the second, Bob, an approver through his group.
    await waitFor(() => a.audit('approval.decided').some((r) => r['approvalId'] === approval.id), 10_000, 'the decision in the audit');
    const record = a.audit('approval.decided').find((r) => r['approvalId'] === approval.id)!;
    assert.deepEqual(record.detail?.['approvers'], [`oidc:${issuer.issuer}#u-alice`, `oidc:${issuer.issuer}#u-bob`]);
    const actor = record['actor'] as { id?: string; roles?: string[]; groups?: string[] } | undefined;
    assert.deepEqual([actor?.id, actor?.roles, actor?.groups], [`oidc:${issuer.issuer}#u-bob`, ['approver'], ['ops']]);
    await client.close();
  });

  it('an approver\'s MCP API key and access token are refused by the approval endpoints of both replicas: the approval stays pending, the marker absent', async () => {
    const marker = newMarker();
    const client = await b.connect(operator.key);
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker, text: 'borrowed' } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(a, marker);
    const aliceToken = await accessTokenFor(issuer, 'u-alice');
    // Both credentials are good on /mcp: what an agent on Alice's machine could hold.
    const agent = await a.connect(aliceKey.key);
    assert.equal(firstText(await agent.callTool({ name: 'echo', arguments: { text: 'mine' } })), 'mine');
    count(a, 'echo');
    await agent.close();
    for (const replica of [a, b]) {
      for (const [what, secret] of [['API key', aliceKey.key], ['access token', aliceToken]] as const) {
        for (const headers of [{ authorization: `Bearer ${secret}` }, { 'x-approver-credential': secret }, { cookie: `mcpcp_ui=${secret}`, 'x-csrf-token': secret }] as Array<Record<string, string>>) {
          const decide = await fetch(`${replica.url}/ui/api/approvals/${encodeURIComponent(approval.id)}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ approve: true, digest: approval.digest }) });
          const text = await decide.text();
          assert.ok(decide.status === 401 || decide.status === 403, `${what} ${Object.keys(headers).join('+')} on ${replica.name}: ${decide.status} ${text}`);
          const request = await fetch(`${replica.url}/ui/api/request`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ type: 'request', id: 'r1', method: 'approval.decide', params: { approvalId: approval.id, digest: approval.digest, approve: true } }) });
          const text2 = await request.text();
          assert.ok(request.status === 401 || request.status === 403, `${what} ${Object.keys(headers).join('+')} on ${replica.name}/ui/api/request: ${request.status} ${text2}`);
        }
        const listed = await fetch(`${replica.url}/ui/api/approvals`, { headers: { authorization: `Bearer ${secret}` } });
        await listed.text();
        assert.equal(listed.status, 401, `${what} lists nothing on ${replica.name}`);
      }
    }
    for (const [replica, session] of [[a, 'alice@A'], [b, 'alice@B']] as const) {
      assert.equal((await replica.pending(sessions[session]!)).find((p) => p.id === approval.id)?.status, 'pending', `still pending on ${replica.name}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lines(marker).length, 0, 'the marker tool never ran');
    // Alice herself, signed in, can: the approval was untouched by the attempts.
    assert.equal((await a.decide(sessions['alice@A']!, approval, true)).status, 200);
    assert.equal(firstText(await call), `wrote ${marker}`);
    count(b, 'write_marker');
    assert.deepEqual(lines(marker), ['borrowed']);
    await client.close();
  });

  it('a LISTEN connection terminated by the server (pg_terminate_backend) misses no decision', async () => {
    const marker = newMarker();
    const client = await a.connect(operator.key);
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b, marker);
    const { default: pgLib } = await import('pg');
    const admin = new pgLib.Client({ connectionString: pg.url });
    await admin.connect();
    try {
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'mcpcp-approvals-${a.name}'`);
      assert.deepEqual(killed.rows, [{ ok: true }], 'A\'s listener was terminated');
      const decided = await b.decide(sessions['alice@B']!, approval, true);
      assert.equal(decided.status, 200);
      assert.equal(firstText(await call), `wrote ${marker}`);
      count(a, 'write_marker');
      assert.equal(lines(marker).length, 1);
      await waitFor(() => /the LISTEN connection is back/.test(a.stderr()), 5_000, 'A to say it reconnected');
      const relistening = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'mcpcp-approvals-${a.name}'`);
      assert.equal(relistening.rows[0].n, 1);
    } finally {
      await admin.end();
    }
    const logs = a.stderr() + b.stderr();
    assert.doesNotMatch(logs, new RegExp(pg.password.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the database password never reaches a log');
    for (const secret of [operator.key, aliceKey.key]) assert.equal(logs.includes(apiKeySecretPart(secret)), false, 'no API key reaches a log');
    await client.close();
  });

  it('concurrent calls on both replicas (API key and access token) are all audited; the audit in PostgreSQL verifies', async () => {
    const token = await accessTokenFor(issuer, 'u-olga');
    const clients = await Promise.all([a.connect(operator.key), b.connect(operator.key), a.connect(token), b.connect(token)]);
    const replicaOf = [a, b, a, b];
    await Promise.all(
      clients.flatMap((client, c) =>
        Array.from({ length: 10 }, async (_, i) => {
          assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: `c${c}-${i}` } })), `c${c}-${i}`);
          count(replicaOf[c]!, 'echo');
        }),
      ),
    );
    await Promise.all(clients.map((c) => c.close()));
    const verified = a.cli(['audit', 'verify', '--postgres']);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /from 2 writers/);
    // The calls name their principals: the API key's and Olga's.
    const completed = a.audit('call.completed').filter((r) => r['tool'] === 'echo');
    const principals = new Set(completed.map((r) => JSON.stringify(r['principal'] ?? r.detail?.['principal'] ?? null)));
    assert.ok([...principals].some((p) => p.includes('"name":"ci-bot","via":"api-key"')), [...principals].join(' '));
    assert.ok([...principals].some((p) => p.includes('u-olga')), [...principals].join(' '));
  });

  it('SIGKILL of replica A mid-call: B ends the approval as caller-gone, a late approval runs nothing, no audit record is lost and the audit verifies', async () => {
    const marker = newMarker();
    const client = await a.connect(operator.key);
    // The MCP SDK client retries a dropped stream and only gives up at its request timeout.
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { timeout: 12_000 });
    call.catch(() => undefined);
    const approval = await pendingOn(b, marker);
    const statusRun = spawnSync(process.execPath, [CLI, 'status', '--json', '--data-dir', a.dataDir], { encoding: 'utf8' });
    const fxPid = (JSON.parse(statusRun.stdout) as { instances: Array<{ servers: Array<{ name: string; state: { pid: number } }> }> }).instances[0]!.servers.find((s) => s.name === 'fx')!.state.pid;
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    const killedAt = Date.now();
    await waitFor(async () => (await b.history(sessions['alice@B']!)).some((h) => h.id === approval.id), 15_000, 'B to end the orphaned approval');
    const endedAfterMs = Date.now() - killedAt;
    assert.ok(endedAfterMs < 6_000, `ended ${endedAfterMs} ms after the kill (replicaTimeoutSeconds: 2)`);
    const ended = (await b.history(sessions['alice@B']!)).find((h) => h.id === approval.id)!;
    assert.equal(ended.status, 'rejected');
    assert.match(ended.decisionReason ?? '', new RegExp(`replica holding the call \\(${a.name}\\) is gone.*nothing ran`));
    const late = await b.decide(sessions['alice@B']!, approval, true);
    assert.equal(late.status, 409, 'nobody can approve it later');
    await waitFor(() => b.audit('approval.decided').some((r) => r['approvalId'] === approval.id), 10_000, 'B to audit it');
    const record = b.audit('approval.decided').find((r) => r['approvalId'] === approval.id)!;
    assert.equal(record['decision'], 'rejected');
    assert.equal(record['instance'], b.name);
    assert.equal(record.detail?.['endedByReplica'], true);
    assert.match(String(record.detail?.['requester']), /^apikey\/[A-Za-z0-9]{12}$/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(lines(marker).length, 0, 'the marker tool never ran');
    await waitFor(() => !pidAlive(fxPid), 10_000, 'A\'s fx server to exit');
    await assert.rejects(call);
    await client.close().catch(() => undefined);

    // No audit record lost: every call answered in this file, on either replica, has its call.completed row.
    const completed = b.audit('call.completed');
    for (const [key, n] of answered) {
      const [instance, tool] = key.split(' ');
      assert.equal(completed.filter((r) => r['instance'] === instance && r['tool'] === tool).length, n, `call.completed rows of ${key}`);
    }
    assert.equal(completed.filter((r) => r['instance'] === a.name && r['tool'] === 'write_marker').length, answered.get(`${a.name} write_marker`));
    // The killed replica's chain and B's verify from the database (read through B's configuration).
    const verified = b.cli(['audit', 'verify', '--postgres']);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /from 2 writers/);
  });
});

describe('explicit self-approval across replicas (team.allowSelfApproval: true): allowed, and marked in the audit', { skip }, () => {
  let pg: TestPostgres;
  let issuer: OidcIssuer;
  let replicas: Replica[] = [];
  before(async () => {
    pg = await startPostgres();
    issuer = await startReplicaIssuer();
    replicas = await startReplicas(2, { postgres: pg, issuer, names: ['solo-a', 'solo-b'], teamConfig: ['allowSelfApproval: true'] });
  });
  after(async () => {
    await stopReplicas(replicas);
    await issuer?.close();
    await pg?.stop();
  });

  it('Olga asks on A with her access token and approves her own request on B: it runs once; the audit says selfApproved, requester = decider', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const marker = newMarker();
    const client = await a.connect(await accessTokenFor(issuer, 'u-olga'));
    const call = client.callTool({ name: 'write_marker', arguments: { path: marker, text: 'solo' } }, undefined, { timeout: 60_000 });
    call.catch(() => undefined);
    const olga = await b.signIn('u-olga');
    let approval: ApprovalView | undefined;
    await waitFor(async () => (approval = (await b.pending(olga)).find((x) => JSON.stringify(x.args).includes(marker))) !== undefined, 15_000, 'the approval on B');
    assert.equal(lines(marker).length, 0);
    const decided = await b.decide(olga, approval!, true);
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    assert.equal(firstText(await call), `wrote ${marker}`);
    assert.deepEqual(lines(marker), ['solo']);
    await client.close();
    const olgaId = `oidc:${issuer.issuer}#u-olga`;
    await waitFor(() => b.audit('approval.decided').some((r) => r['approvalId'] === approval!.id), 10_000, 'the decision in the audit');
    const record = b.audit('approval.decided').find((r) => r['approvalId'] === approval!.id)!;
    assert.deepEqual([record.detail?.['requester'], record.detail?.['decidedBy'], record.detail?.['selfApproved']], [olgaId, olgaId, true]);
    const verified = b.cli(['audit', 'verify', '--postgres']);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });
});
