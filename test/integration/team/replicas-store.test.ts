// Two replicas' approval stores on one real PostgreSQL, in one process: each has its own pool, its
// own LISTEN connection and its own in-memory store, exactly as two `mcpcp serve` processes do.
// Decisions are driven with explicit Principals (team-auth resolves them from credentials).
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ApprovalStore, type Approval, type ApprovalRequest, type HumanDecider } from '../../../src/core/approvals';
import { PostgresApprovalStorage } from '../../../src/core/approvals/postgres';
import { ControlPlaneError } from '../../../src/core/errors';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import type { Principal } from '../../../src/core/team/principal';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';

const skip = postgresSkipReason();

function person(name: string): Principal {
  return { id: `oidc:https://idp.test#${name}`, name, via: 'ui-session', roles: ['approver'], groups: [] };
}
const alice = person('alice');
const bob = person('bob');
const carol = person('carol');
const agent: Principal = { id: 'apikey/ci-bot', name: 'ci bot', via: 'api-key', roles: ['operator'], groups: [] };
const as = (principal: Principal): HumanDecider => ({ kind: 'approver-credential', name: 'web-ui', principal });

let counter = 0;
function req(extra: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const args = { name: `web-${++counter}`, namespace: 'prod' };
  return { server: 'kubernetes', tool: 'resource_delete', args, displayArgs: { ...args }, reason: 'destructive', callId: `call-${counter}`, requester: agent, ...extra };
}

interface Replica {
  readonly pool: PgPool;
  readonly shared: PostgresApprovalStorage;
  readonly store: ApprovalStore;
  close(): Promise<void>;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof ControlPlaneError ? err.code : String(err);
  }
  return undefined;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('approvals shared by two replicas in PostgreSQL (real server)', { skip }, () => {
  let server: TestPostgres;
  const replicas: Replica[] = [];

  async function replica(writerId: string, options: { allowSelfApproval?: boolean; expiryMs?: number; reconnectMs?: number; orphanAfterMs?: number; heartbeatMs?: number } = {}): Promise<Replica> {
    const pool = await openPostgres(server.url, { applicationName: writerId });
    const shared = await PostgresApprovalStorage.open(pool, {
      url: server.url,
      writerId,
      ...(options.reconnectMs !== undefined ? { reconnectMs: options.reconnectMs } : {}),
      orphanAfterMs: options.orphanAfterMs ?? 60_000,
      heartbeatMs: options.heartbeatMs ?? 60_000,
    });
    let closed = false;
    const store = new ApprovalStore({ shared, allowSelfApproval: options.allowSelfApproval ?? false, ...(options.expiryMs !== undefined ? { defaultExpiryMs: options.expiryMs } : {}) });
    const r: Replica = {
      pool,
      shared,
      store,
      close: async () => {
        if (closed) return;
        closed = true;
        store.dispose();
        await shared.close();
        await pool.end();
      },
    };
    replicas.push(r);
    return r;
  }

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    for (const r of replicas) await r.close().catch(() => undefined);
    await server?.stop();
  });

  it('a call waiting on A is decided through B and wakes on A; the approval is consumed once across replicas', async () => {
    const a = await replica('a1');
    const b = await replica('b1');
    const { approval } = await a.store.requestShared(req());
    const waiting = a.store.waitForDecision(approval.id);
    // B lists it (every replica's approvals) and decides it.
    const listed = await b.shared.listPending();
    assert.deepEqual(listed.map((x) => x.id), [approval.id]);
    assert.equal(listed[0]!.requester.id, agent.id);
    const decided = await b.store.decideShared(approval.id, { approve: true, reason: 'ok for prod', by: as(bob), digest: approval.digest });
    assert.equal(decided.status, 'approved');
    const outcome = await waiting;
    assert.equal(outcome.approved, true);
    assert.equal(outcome.approval.decision?.principal?.id, bob.id, 'A knows who decided, from the table');
    assert.equal(outcome.reason, 'ok for prod');
    // Exactly one consumption, even when both replicas try at once.
    const [first, second] = await Promise.all([a.shared.consume(approval.id, approval.digest), b.shared.consume(approval.id, approval.digest)]);
    assert.equal(Number(first) + Number(second), 1, 'consumed at most once');
    assert.equal(await a.shared.consume(approval.id, approval.digest), false);
    assert.equal((await b.shared.get(approval.id))?.consumedAt !== undefined, true);
  });

  it('the requester cannot approve (through either replica); another approver can', async () => {
    const a = await replica('a2');
    const b = await replica('b2');
    const { approval } = await a.store.requestShared(req({ requester: alice }));
    const waiting = a.store.waitForDecision(approval.id);
    let settled = false;
    void waiting.then(() => (settled = true));
    assert.equal(await codeOf(b.store.decideShared(approval.id, { approve: true, by: as(alice), digest: approval.digest })), 'APPROVAL_SELF_DECISION');
    assert.equal(await codeOf(a.store.decideShared(approval.id, { approve: false, by: as(alice) })), 'APPROVAL_SELF_DECISION');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false);
    assert.equal((await b.shared.get(approval.id))?.status, 'pending');
    const { rows } = await b.pool.query('SELECT count(*)::int AS n FROM mcpcp_approval_decisions WHERE approval_id = $1', [approval.id]);
    assert.equal(rows[0].n, 0, 'a refused decision leaves no decision row');
    await b.store.decideShared(approval.id, { approve: true, by: as(carol), digest: approval.digest });
    assert.equal((await waiting).approved, true);
  });

  it('explicit self-approval (allowSelfApproval) is recorded as selfApproved', async () => {
    const a = await replica('a3', { allowSelfApproval: true });
    const b = await replica('b3', { allowSelfApproval: true });
    const { approval } = await a.store.requestShared(req({ requester: alice }));
    const waiting = a.store.waitForDecision(approval.id);
    const decided = await b.store.decideShared(approval.id, { approve: true, by: as(alice) });
    assert.equal(decided.decision?.selfApproved, true);
    assert.equal((await waiting).approval.decision?.selfApproved, true);
    const { rows } = await b.pool.query('SELECT self_approved FROM mcpcp_approval_decisions WHERE approval_id = $1', [approval.id]);
    assert.deepEqual(rows, [{ self_approved: true }]);
  });

  it('four-eyes: 1 of 2 stays pending on both replicas, the same approver twice is refused, a second approver completes it', async () => {
    const a = await replica('a4');
    const b = await replica('b4');
    const { approval } = await a.store.requestShared(req({ approvers: 2 }));
    const waiting = a.store.waitForDecision(approval.id);
    let settled = false;
    void waiting.then(() => (settled = true));
    const first = await b.store.decideShared(approval.id, { approve: true, by: as(alice), digest: approval.digest });
    assert.equal(first.status, 'pending');
    assert.deepEqual(first.votes.map((v) => v.principal.id), [alice.id]);
    // A hears of the vote (notification → re-read) and still waits.
    await until('A to see 1 of 2', () => (a.store.get(approval.id)?.votes.length ?? 0) === 1);
    assert.equal(settled, false);
    assert.equal(await codeOf(a.store.decideShared(approval.id, { approve: true, by: as(alice) })), 'APPROVAL_ALREADY_APPROVED');
    // Even two replicas racing the same approver's second approval: one row at most.
    const racing = await Promise.all([a.store.decideShared(approval.id, { approve: true, by: as(alice) }), b.store.decideShared(approval.id, { approve: true, by: as(alice) })].map(codeOf));
    assert.deepEqual(racing, ['APPROVAL_ALREADY_APPROVED', 'APPROVAL_ALREADY_APPROVED']);
    assert.equal(settled, false);
    const done = await a.store.decideShared(approval.id, { approve: true, by: as(bob), digest: approval.digest });
    assert.equal(done.status, 'approved');
    const outcome = await waiting;
    assert.equal(outcome.approved, true);
    assert.deepEqual(outcome.approval.votes.map((v) => v.principal.id), [alice.id, bob.id]);
  });

  it('four-eyes: any rejection rejects', async () => {
    const a = await replica('a5');
    const b = await replica('b5');
    const { approval } = await a.store.requestShared(req({ approvers: 2 }));
    const waiting = a.store.waitForDecision(approval.id);
    await b.store.decideShared(approval.id, { approve: true, by: as(alice) });
    await b.store.decideShared(approval.id, { approve: false, reason: 'change freeze', by: as(bob) });
    const outcome = await waiting;
    assert.equal(outcome.approved, false);
    assert.equal(outcome.reason, 'change freeze');
    assert.equal(await a.shared.consume(approval.id, approval.digest), false);
  });

  it('a decision made while A\'s LISTEN connection is down (pg_terminate_backend) still wakes A after it reconnects', async () => {
    const a = await replica('a6', { reconnectMs: 400 });
    const b = await replica('b6');
    const { approval } = await a.store.requestShared(req());
    const waiting = a.store.waitForDecision(approval.id);
    const before = await a.shared.listenerPid();
    assert.ok(before);
    let reconnects = 0;
    a.shared.onDidReconnect(() => reconnects++);
    const { rows } = await b.pool.query('SELECT pg_terminate_backend($1) AS ok', [before]);
    assert.equal(rows[0].ok, true);
    // Decided while A listens to nothing: this NOTIFY never reaches A.
    await until('A to notice the drop', async () => (await a.shared.listenerPid().catch(() => undefined)) === undefined, 5_000);
    await b.store.decideShared(approval.id, { approve: true, by: as(bob) });
    const outcome = await waiting;
    assert.equal(outcome.approved, true);
    await until('the reconnect to be reported', () => reconnects === 1, 5_000);
    const afterPid = await a.shared.listenerPid();
    assert.ok(afterPid !== undefined && afterPid !== before, 'a new LISTEN connection');
    // And notifications work again on the new connection.
    const next = await a.store.requestShared(req());
    const waitingNext = a.store.waitForDecision(next.approval.id);
    await b.store.decideShared(next.approval.id, { approve: false, by: as(bob) });
    assert.equal((await waitingNext).approved, false);
  });

  it('expiry: A expires its approval with a conditional update; B can no longer decide it', async () => {
    const a = await replica('a7', { expiryMs: 300 });
    const b = await replica('b7');
    const { approval } = await a.store.requestShared(req());
    const outcome = await a.store.waitForDecision(approval.id);
    assert.equal(outcome.status, 'expired');
    await until('the row to be expired', async () => (await b.shared.get(approval.id))?.status === 'expired');
    assert.equal(await codeOf(b.store.decideShared(approval.id, { approve: true, by: as(bob) })), 'APPROVAL_NOT_PENDING');
  });

  it('expiry racing a decision: exactly one of them decides', async () => {
    for (let i = 0; i < 5; i++) {
      const a = await replica(`a8-${i}`, { expiryMs: 150 });
      const b = await replica(`b8-${i}`);
      const { approval } = await a.store.requestShared(req());
      const waiting = a.store.waitForDecision(approval.id);
      await new Promise((r) => setTimeout(r, 140 + i * 5));
      const decided = await b.store.decideShared(approval.id, { approve: true, by: as(bob) }).then(
        (x: Approval) => x.status,
        (err: unknown) => (err instanceof ControlPlaneError ? err.code : String(err)),
      );
      const outcome = await waiting;
      const row = await b.shared.get(approval.id);
      if (decided === 'approved') {
        assert.equal(outcome.status, 'approved', 'the decision won: A runs it');
        assert.equal(row?.status, 'approved');
      } else {
        assert.equal(decided, 'APPROVAL_NOT_PENDING');
        assert.equal(outcome.status, 'expired');
        assert.equal(row?.status, 'expired');
      }
      const { rows } = await b.pool.query('SELECT count(*)::int AS n FROM mcpcp_approval_decisions WHERE approval_id = $1', [approval.id]);
      assert.equal(rows[0].n, decided === 'approved' ? 1 : 0);
    }
  });

  it('a replica that is gone: another one ends its pending approvals as caller-gone, and nobody can approve them later', async () => {
    const a = await replica('a9', { heartbeatMs: 100 });
    const b = await replica('b9', { heartbeatMs: 100, orphanAfterMs: 600 });
    const { approval } = await a.store.requestShared(req());
    const ended: Approval[] = [];
    b.shared.onDidEndOrphans((x) => ended.push(x));
    // A disappears without a word (as after SIGKILL): no heartbeat, no rejection.
    a.store.dispose();
    await a.shared.close();
    await a.pool.query("UPDATE mcpcp_approval_replicas SET seen_at = 0 WHERE writer_id = 'a9'");
    await until('B to end the orphan', () => ended.some((x) => x.id === approval.id), 5_000);
    const row = await b.shared.get(approval.id);
    assert.equal(row?.status, 'rejected');
    assert.equal(row?.decision?.by.kind, 'system');
    assert.match(row?.decision?.reason ?? '', /replica holding the call \(a9\) is gone.*nothing ran/);
    assert.equal(await codeOf(b.store.decideShared(approval.id, { approve: true, by: as(bob) })), 'APPROVAL_NOT_PENDING');
    assert.equal(await b.shared.consume(approval.id, approval.digest), false);
    // B sweeps with a 600 ms timeout: left running, it would end the later tests' approvals, whose
    // replicas beat once a minute (in a deployment every replica has the same settings).
    await b.close();
  });

  it('a live replica\'s waiting call is never taken for gone: its heartbeat keeps the approval pending well past the timeout', async () => {
    const a = await replica('a13', { heartbeatMs: 100, orphanAfterMs: 600 });
    const b = await replica('b13', { heartbeatMs: 100, orphanAfterMs: 600 });
    const { approval } = await a.store.requestShared(req());
    const waiting = a.store.waitForDecision(approval.id);
    const ended: Approval[] = [];
    b.shared.onDidEndOrphans((x) => ended.push(x));
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal((await b.shared.get(approval.id))?.status, 'pending', 'still pending after four timeouts');
    assert.deepEqual(ended, []);
    await b.store.decideShared(approval.id, { approve: true, by: as(bob) });
    assert.equal((await waiting).approved, true);
    // Both sweep with a 600 ms timeout: stopped here, as in the test above.
    await a.close();
    await b.close();
  });

  it('the shared row never holds a secret-looking value; the approver elsewhere sees it masked, its holder unmasked', async () => {
    const a = await replica('a10');
    const b = await replica('b10');
    const args = { name: 'db', token: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' };
    const { approval } = await a.store.requestShared(req({ args, displayArgs: { ...args }, secretPaths: ['token'] }));
    const { rows } = await b.pool.query('SELECT display_args::text AS t FROM mcpcp_approvals WHERE id = $1', [approval.id]);
    assert.doesNotMatch(rows[0].t, /ghp_/);
    assert.deepEqual((await b.shared.get(approval.id))?.displayArgs, { name: 'db', token: '[REDACTED]' });
    assert.equal(a.store.get(approval.id)?.displayArgs['token'], args.token);
  });

  it('the digest binds a decision to the arguments the approver saw', async () => {
    const a = await replica('a11');
    const b = await replica('b11');
    const { approval } = await a.store.requestShared(req());
    assert.equal(await codeOf(b.store.decideShared(approval.id, { approve: true, by: as(bob), digest: '0'.repeat(64) })), 'APPROVAL_DIGEST_MISMATCH');
    assert.equal(await codeOf(b.store.decideShared('no-such-id', { approve: true, by: as(bob) })), 'APPROVAL_NOT_FOUND');
    await b.store.decideShared(approval.id, { approve: true, by: as(bob), digest: approval.digest });
    assert.equal(await a.shared.consume(approval.id, 'f'.repeat(64)), false, 'another digest consumes nothing');
  });

  it('a database outage longer than the timeout ends no live replica\'s approval; a replica that died before it is still ended after', async () => {
    // A beats five times per timeout, as in a deployment (3 s and 15 s there); B five times as
    // often, so B is back first. After a 3 s outage every replica's last heartbeat is older than the
    // 2.5 s timeout; C died before the outage.
    const a = await replica('a14', { heartbeatMs: 500, orphanAfterMs: 2_500 });
    const b = await replica('b14', { heartbeatMs: 100, orphanAfterMs: 2_500 });
    const c = await replica('c14', { heartbeatMs: 500, orphanAfterMs: 2_500 });
    const { approval } = await a.store.requestShared(req());
    const waiting = a.store.waitForDecision(approval.id);
    const dead = (await c.store.requestShared(req())).approval;
    c.store.dispose();
    await c.shared.close();
    // Either live replica may be the one that ends an orphan. (They also end approvals that
    // earlier tests left with replicas beating once a minute: not A's.)
    const ended: Approval[] = [];
    for (const r of [a, b]) r.shared.onDidEndOrphans((x) => ended.push(x));
    await server.restart(3_000);
    await until("the dead replica's approval to be ended after the outage", () => ended.some((x) => x.id === dead.id), 15_000);
    // Past the timeout on both sides of the outage: A's call still waits.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(ended.some((x) => x.id === approval.id), false, "the live replica's approval was not ended");
    assert.equal((await b.shared.get(approval.id))?.status, 'pending');
    await until('B to decide after the outage', async () => await b.store.decideShared(approval.id, { approve: true, by: as(bob) }).then(() => true, () => false), 15_000);
    assert.equal((await waiting).approved, true);
    await a.close();
    await b.close();
  });

  // Last: it restarts the server under every replica of this file.
  it('PostgreSQL restarts while a call waits: A reconnects its LISTEN connection, re-reads, and wakes on the decision made through B', async () => {
    const a = await replica('a12');
    const b = await replica('b12');
    const { approval } = await a.store.requestShared(req());
    const waiting = a.store.waitForDecision(approval.id);
    let reconnects = 0;
    a.shared.onDidReconnect(() => reconnects++);
    await server.restart();
    // B's pool replaces the connections the restart broke (the first attempt may meet one).
    // A try whose commit went through but whose answer was lost counts too: the row says.
    let last = '';
    await until('B to decide after the restart', async () => {
      await b.store.decideShared(approval.id, { approve: true, by: as(bob) }).catch((err: unknown) => void (last = `decide: ${String(err)}`));
      const row = await b.shared.get(approval.id).catch((err: unknown) => void (last += `; get: ${String(err)}`));
      if (row) last += `; status ${row.status}`;
      return row?.status === 'approved';
    }, 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)} (last: ${last})`);
    });
    assert.equal((await waiting).approved, true);
    await until('A to report its reconnect', () => reconnects >= 1);
    assert.equal(await a.shared.consume(approval.id, approval.digest), true);
  });
});
