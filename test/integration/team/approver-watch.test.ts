// The team section of VS Code's Approvals view follows the team's pending approvals with the
// approver's /ui session (src/extension/team/approver.ts `watchTeamApprovals`): the service's
// /ui/events stream against a real team-mode gateway with the fixture OIDC issuer. A teammate's
// call shows up from the stream, a decision is answered with who decided, the requester's own
// approval is refused in plain words while the call keeps waiting, an ended session is reported,
// and nothing is read after stop().
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApprovalView } from '../../../src/protocol/ui';
import { decideTeamApproval, describeTeamRefusal, signInApprover, watchTeamApprovals, type ApproverSession, type WatchEvent } from '../../../src/extension/team/approver';
import { connectAs, issuerRedirect, startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

async function signIn(t: TeamPlane, sub: string): Promise<ApproverSession> {
  return signInApprover(t.base, async (url) => void fetch(await issuerRedirect(url, sub)), { timeoutMs: 20_000 });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('team client: following the team\'s pending approvals with the approver session', () => {
  let t: TeamPlane;
  let operatorKey: string;
  let bob: ApproverSession;

  before(async () => {
    t = await startTeamPlane({ rules: [{ id: 'noop-needs-approval', server: 'fx', tool: 'noop', decision: 'approve' }] as never, team: { roles: { users: { 'alice@example.com': ['operator'], 'bob@example.com': ['approver'] }, groups: {} } }, allowSelfApproval: false });
    operatorKey = (await t.keys.create({ owner: 'alice@example.com', roles: ['operator'] })).key;
    bob = await signIn(t, 'u-bob');
  });
  after(async () => t?.stop());

  it('a teammate\'s call appears from the event stream; the decision is answered with who decided; after stop() nothing more is read', async () => {
    const events: WatchEvent[] = [];
    const watch = watchTeamApprovals(t.base, bob, (e) => events.push(e));
    const latest = (): ApprovalView[] | undefined => [...events].reverse().find((e): e is Extract<WatchEvent, { kind: 'pending' }> => e.kind === 'pending')?.pending;
    await until('the first state from the stream', () => latest());
    assert.deepEqual(latest(), []);
    const alice = await connectAs(t.mcpUrl(), operatorKey, 'teammate');
    try {
      const asked = Date.now();
      let settled: unknown;
      const call = alice.callTool({ name: 'noop', arguments: {} }, undefined, { timeout: 60_000 }).then((r) => (settled = r));
      const pending = await until('the teammate\'s approval from the stream', () => latest()?.find((a) => a.tool === 'noop'));
      const seenMs = Date.now() - asked;
      console.log(`approval seen through /ui/events ${seenMs} ms after the call`);
      assert.ok(seenMs < 3_000, `the stream took ${seenMs} ms (it pushes on every change)`);
      assert.equal(pending.requestedBy, 'alice@example.com');
      assert.deepEqual(pending.requestedByRoles, ['operator']);
      assert.equal(settled, undefined);
      const decided = await decideTeamApproval(t.base, bob, pending, true, 'looked fine');
      assert.deepEqual(decided, { ok: true, status: 'approved', decidedBy: 'ui-session (bob@example.com)' });
      await call;
      await until('the approval to leave the stream\'s list', () => latest() !== undefined && !latest()!.some((a) => a.id === pending.id));
      assert.ok(events.every((e) => e.kind === 'pending'), JSON.stringify(events.filter((e) => e.kind !== 'pending')));
      watch.stop();
      const count = events.length;
      // A change that the open stream would push within 250 ms: nothing arrives after stop().
      const second = alice.callTool({ name: 'noop', arguments: {} }, undefined, { timeout: 60_000 });
      second.catch(() => undefined);
      await until('the second approval on the service', () => t.plane.oversight!.store.list().some((a) => a.status === 'pending'));
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(events.length, count, `events after stop(): ${JSON.stringify(events.slice(count))}`);
      const second_ = t.plane.oversight!.store.list().find((a) => a.status === 'pending')!;
      await decideTeamApproval(t.base, bob, second_, false, 'not needed');
      await second;
    } finally {
      await alice.close();
    }
  });

  it('the requester\'s own approval is refused (403 APPROVAL_SELF_DECISION), said in plain words, and the call keeps waiting', async () => {
    // Bob asks through his own OIDC access token (same principal as his /ui session), then approves it himself.
    const token = await t.issuer.accessToken({ sub: 'u-bob', email: 'bob@example.com', roles: ['approver'] });
    const own = await connectAs(t.mcpUrl(), token, 'bobs-agent');
    try {
      let settled: unknown;
      const call = own.callTool({ name: 'noop', arguments: {} }, undefined, { timeout: 60_000 }).then((r) => (settled = r), (e: unknown) => (settled = e));
      const approval = await until('bob\'s own approval', () => t.plane.oversight!.store.list().find((a) => a.status === 'pending'));
      assert.equal(approval.requester.id, `oidc:${t.issuer.issuer}#u-bob`);
      const refused = await decideTeamApproval(t.base, bob, approval, true);
      assert.equal(refused.ok, false);
      assert.ok(!refused.ok && refused.status === 403 && refused.code === 'APPROVAL_SELF_DECISION', JSON.stringify(refused));
      assert.deepEqual(describeTeamRefusal(refused as { status: number; code?: string; message: string }), { text: 'You asked for this call yourself: nobody decides their own request, so another approver must decide it.', signedOut: false });
      await new Promise((r) => setTimeout(r, 300));
      // Witness: the approval is still pending and the call has not run.
      assert.equal(t.plane.oversight!.store.get(approval.id)?.status, 'pending');
      assert.equal(settled, undefined);
      void call;
    } finally {
      await own.close();
    }
  });

  it('an ended session is reported as signed out: on an open stream, and when the stream is opened', async () => {
    const events: WatchEvent[] = [];
    const watch = watchTeamApprovals(t.base, bob, (e) => events.push(e));
    await until('the first state', () => events.some((e) => e.kind === 'pending'));
    const out = await fetch(`${t.base}/ui/logout`, { method: 'POST', headers: { cookie: bob.cookie, 'x-csrf-token': bob.csrfToken }, redirect: 'manual' });
    assert.ok(out.status < 400, `logout: ${out.status}`);
    const ended = await until('signed-out on the open stream', () => events.find((e) => e.kind === 'signed-out'), 20_000);
    assert.equal(ended.kind, 'signed-out');
    watch.stop();
    const again: WatchEvent[] = [];
    const second = watchTeamApprovals(t.base, bob, (e) => again.push(e));
    await until('signed-out at once', () => again.find((e) => e.kind === 'signed-out'));
    second.stop();
    assert.deepEqual(again.map((e) => e.kind), ['signed-out'], 'no state for an ended session');
    assert.equal(describeTeamRefusal({ status: 401, message: 'not signed in' }).signedOut, true);
  });
});
