import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApprovalStore,
  ManualClock,
  approvalDigest,
  type ApprovalChange,
  type ApprovalRequest,
  type HumanDecider,
  type PendingEntry,
} from '../../../src/core/approvals';

const UI: HumanDecider = { kind: 'vscode-ui', name: 'alice' };
const MIN = 60_000;

function setup(options: ConstructorParameters<typeof ApprovalStore>[0] = {}): { store: ApprovalStore; clock: ManualClock; changes: ApprovalChange[] } {
  const clock = new ManualClock();
  const store = new ApprovalStore({ clock, ...options });
  const changes: ApprovalChange[] = [];
  store.onDidChange((c) => changes.push(c));
  return { store, clock, changes };
}

function req(args: Record<string, unknown> = { name: 'web-1', namespace: 'default' }, extra: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    server: 'kubernetes',
    tool: 'pod_delete',
    args,
    displayArgs: { ...args } as ApprovalRequest['displayArgs'],
    client: { name: 'Visual Studio Code', version: '1.101.0' },
    rule: { source: 'default', id: 'destructive' },
    reason: 'destructive',
    callId: 'call-1',
    ...extra,
  };
}

describe('approvalDigest', () => {
  it('is SHA-256 of the canonical arguments, with dryRun only when true', () => {
    const d = approvalDigest({ b: 1, a: { y: 2, x: 1 } });
    assert.match(d, /^[0-9a-f]{64}$/);
    assert.equal(approvalDigest({ a: { x: 1, y: 2 }, b: 1 }), d, 'key order does not matter');
    assert.equal(approvalDigest({ a: { x: 1, y: 2 }, b: 1, dryRun: false }), d, 'dryRun: false is the real call');
    assert.notEqual(approvalDigest({ a: { x: 1, y: 2 }, b: 1, dryRun: true }), d, 'a dry run is its own call');
    assert.notEqual(approvalDigest({ a: { x: 1, y: 2 }, b: 2 }), d);
    assert.notEqual(approvalDigest({ a: { x: 1, y: 2, dryRun: true }, b: 1 }), d, 'only the top-level dryRun is ignored');
  });
});

describe('ApprovalStore', () => {
  it('approve → the call may run exactly once', async () => {
    const { store, changes } = setup();
    const { approval, created } = store.request(req());
    assert.equal(created, true);
    assert.equal(approval.status, 'pending');
    assert.equal(approval.digest, approvalDigest(req().args));
    assert.deepEqual(approval.client, { name: 'Visual Studio Code', version: '1.101.0' });
    assert.deepEqual(approval.preview, { status: 'none' });
    assert.ok(Object.isFrozen(approval));
    assert.deepEqual(store.list().map((a) => a.id), [approval.id]);

    const waiting = store.waitForDecision(approval.id);
    const decided = store.decide(approval.id, { approve: true, reason: 'looks right', by: UI, digest: approval.digest });
    assert.equal(decided.status, 'approved');
    const outcome = await waiting;
    assert.deepEqual({ approved: outcome.approved, status: outcome.status, reason: outcome.reason, by: outcome.by }, { approved: true, status: 'approved', reason: 'looks right', by: UI });

    const used = store.consume('kubernetes', 'pod_delete', approval.digest);
    assert.equal(used?.id, approval.id);
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest), undefined, 'a decision counts once');
    assert.deepEqual(changes.map((c) => c.type), ['requested', 'decided', 'consumed']);
    assert.deepEqual(store.list(), []);
    assert.equal(store.history()[0]?.consumedAt !== undefined, true);
  });

  it('reject → the waiter hears the reason and nothing can run', async () => {
    const { store } = setup();
    const { approval } = store.request(req());
    const waiting = store.waitForDecision(approval.id);
    store.decide(approval.id, { approve: false, reason: 'not on a Friday', by: { kind: 'approver-credential', name: 'ops' } });
    const outcome = await waiting;
    assert.equal(outcome.approved, false);
    assert.equal(outcome.status, 'rejected');
    assert.equal(outcome.reason, 'not on a Friday');
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest), undefined);
  });

  it('expiry → rejected as expired; a late decision is refused', async () => {
    const { store, clock, changes } = setup();
    const { approval } = store.request(req());
    assert.equal(approval.expiresAt - approval.createdAt, 5 * MIN, 'default expiry is 5 minutes');
    const waiting = store.waitForDecision(approval.id);
    clock.advance(5 * MIN - 1);
    assert.equal(store.get(approval.id)?.status, 'pending');
    clock.advance(1);
    const outcome = await waiting;
    assert.equal(outcome.status, 'expired');
    assert.equal(outcome.approved, false);
    assert.match(outcome.reason, /expired/);
    assert.deepEqual(outcome.by, { kind: 'system' });
    assert.throws(() => store.decide(approval.id, { approve: true, by: UI }), { code: 'APPROVAL_NOT_PENDING' });
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest), undefined);
    assert.deepEqual(changes.map((c) => c.type), ['requested', 'expired']);
    const again = store.request(req());
    assert.equal(again.created, true, 'after expiry an identical call asks again');
    assert.notEqual(again.approval.id, approval.id);
    assert.equal((await store.waitForDecision(approval.id)).status, 'expired', 'the expired outcome stays readable');
  });

  it('a decision is bound to the digest: changed arguments need a new approval', () => {
    const { store } = setup();
    const { approval } = store.request(req({ name: 'web-1' }));
    assert.throws(() => store.decide(approval.id, { approve: true, by: UI, digest: approvalDigest({ name: 'web-2' }) }), { code: 'APPROVAL_DIGEST_MISMATCH' });
    store.decide(approval.id, { approve: true, by: UI });
    assert.equal(store.consume('kubernetes', 'pod_delete', approvalDigest({ name: 'web-2' })), undefined, 'other arguments');
    assert.equal(store.consume('kubernetes', 'pod_restart', approval.digest), undefined, 'other tool');
    assert.equal(store.consume('git', 'pod_delete', approval.digest), undefined, 'other server');
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest, 'resource'), undefined, 'other kind');
    const changed = store.request(req({ name: 'web-2' }));
    assert.equal(changed.created, true);
    assert.equal(changed.approval.status, 'pending');
    assert.ok(store.consume('kubernetes', 'pod_delete', approval.digest) !== undefined, 'the original still runs once');
  });

  it('an approved dry run is never spent by (nor stands in for) the real call', () => {
    const { store } = setup();
    const { approval } = store.request(req({ name: 'web-1', dryRun: true }));
    store.decide(approval.id, { approve: true, by: UI });
    assert.equal(store.consume('kubernetes', 'pod_delete', approvalDigest({ name: 'web-1' })), undefined);
    assert.equal(store.request(req({ name: 'web-1' })).created, true, 'the real call asks for its own approval');
    assert.ok(store.consume('kubernetes', 'pod_delete', approvalDigest({ name: 'web-1', dryRun: true })));
  });

  it('a replayed decision is refused', () => {
    const { store } = setup();
    const { approval } = store.request(req());
    store.decide(approval.id, { approve: false, by: UI });
    assert.throws(() => store.decide(approval.id, { approve: true, by: UI }), { code: 'APPROVAL_NOT_PENDING' });
    const second = store.request(req({ other: 1 })).approval;
    store.decide(second.id, { approve: true, by: UI });
    assert.ok(store.consume('kubernetes', 'pod_delete', second.digest));
    assert.throws(() => store.decide(second.id, { approve: true, by: UI }), /already used/);
    assert.throws(() => store.decide('nope', { approve: true, by: UI }), { code: 'APPROVAL_NOT_FOUND' });
  });

  it('only human decider kinds are accepted', () => {
    const { store } = setup();
    const { approval } = store.request(req());
    for (const kind of ['system', 'agent', 'client-token']) {
      // What an untyped caller (a webview message, a plugin) could send: parsed JSON, not a typed value.
      const by: HumanDecider = JSON.parse(JSON.stringify({ kind }));
      assert.throws(() => store.decide(approval.id, { approve: true, by }), { code: 'APPROVAL_BAD_DECIDER' });
    }
    assert.equal(store.get(approval.id)?.status, 'pending');
  });

  it('identical concurrent calls join one approval, and only one of them runs', async () => {
    const { store, changes } = setup();
    const first = store.request(req());
    const second = store.request(req({ namespace: 'default', name: 'web-1' }));
    assert.equal(second.created, false);
    assert.equal(second.approval.id, first.approval.id);
    const waits = [store.waitForDecision(first.approval.id), store.waitForDecision(second.approval.id)];
    store.decide(first.approval.id, { approve: true, by: UI });
    const outcomes = await Promise.all(waits);
    assert.deepEqual(outcomes.map((o) => o.approved), [true, true]);
    const runs = [store.consume('kubernetes', 'pod_delete', first.approval.digest), store.consume('kubernetes', 'pod_delete', first.approval.digest)];
    assert.equal(runs.filter((r) => r !== undefined).length, 1);
    assert.equal(changes.filter((c) => c.type === 'requested').length, 1, 'the approver is asked once');
  });

  it('the client gives up; the human approves later; the repeat call runs once', async () => {
    const { store, clock } = setup();
    const { approval } = store.request(req());
    const controller = new AbortController();
    const waiting = store.waitForDecision(approval.id, { signal: controller.signal });
    clock.advance(60_000);
    controller.abort();
    await assert.rejects(waiting, { code: 'APPROVAL_WAIT_ABORTED' });
    assert.equal(store.get(approval.id)?.status, 'pending', 'still pending until its own expiry');
    clock.advance(2 * MIN);
    store.decide(approval.id, { approve: true, by: UI });

    const repeat = store.request(req());
    assert.equal(repeat.created, false);
    assert.equal(repeat.approval.id, approval.id);
    assert.equal((await store.waitForDecision(repeat.approval.id)).approved, true);
    assert.ok(store.consume('kubernetes', 'pod_delete', repeat.approval.digest));
    const third = store.request(req());
    assert.equal(third.created, true, 'once used, an identical call asks again');
  });

  it('the client gives up; the human rejects; the repeat call hears the rejection once', async () => {
    const { store } = setup();
    const { approval } = store.request(req());
    const controller = new AbortController();
    const waiting = store.waitForDecision(approval.id, { signal: controller.signal });
    controller.abort();
    await assert.rejects(waiting);
    store.decide(approval.id, { approve: false, reason: 'no', by: UI });
    const repeat = store.request(req());
    assert.equal(repeat.created, false);
    assert.equal(repeat.approval.status, 'rejected');
    assert.equal((await store.waitForDecision(repeat.approval.id)).reason, 'no');
    assert.equal(store.request(req()).created, true, 'after that, the model may ask again');
  });

  it('an approved decision that is not used in time lapses', () => {
    const { store, clock } = setup({ decisionTtlMs: MIN });
    const { approval } = store.request(req());
    store.decide(approval.id, { approve: true, by: UI });
    clock.advance(MIN);
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest), undefined);
    assert.equal(store.request(req()).created, true);
  });

  it('a decision arriving after the expiry time but before its timer is refused', () => {
    const clock = new ManualClock();
    // A clock whose timers never fire: only the time check can catch the expiry.
    const store = new ApprovalStore({ clock: { now: () => clock.now(), setTimer: () => ({ cancel: () => undefined }) } });
    const { approval } = store.request(req());
    clock.advance(5 * MIN);
    assert.throws(() => store.decide(approval.id, { approve: true, by: UI }), /expired/);
  });

  it('rejectAllPending rejects and wakes every waiter (shutdown)', async () => {
    const { store } = setup();
    const a = store.request(req({ n: 1 })).approval;
    const b = store.request(req({ n: 2 })).approval;
    const approved = store.request(req({ n: 3 })).approval;
    store.decide(approved.id, { approve: true, by: UI });
    const waits = [store.waitForDecision(a.id), store.waitForDecision(b.id)];
    const rejected = store.rejectAllPending('control plane stopping');
    assert.deepEqual(rejected.map((r) => r.id).sort(), [a.id, b.id].sort());
    for (const o of await Promise.all(waits)) {
      assert.equal(o.approved, false);
      assert.equal(o.reason, 'control plane stopping');
      assert.deepEqual(o.by, { kind: 'system' });
    }
    assert.deepEqual(store.list(), []);
  });

  it('sends heartbeats while waiting, and stops when decided', async () => {
    const { store, clock } = setup();
    const { approval } = store.request(req());
    const beats: number[] = [];
    const waiting = store.waitForDecision(approval.id, { heartbeatMs: 10_000, onHeartbeat: (elapsed) => beats.push(elapsed) });
    clock.advance(35_000);
    store.decide(approval.id, { approve: true, by: UI });
    clock.advance(60_000);
    await waiting;
    assert.deepEqual(beats, [10_000, 20_000, 30_000]);
    assert.equal(clock.pendingTimers, 0, 'no timers left behind');
  });

  it('a journal failure refuses the request and keeps nothing', () => {
    let fail = true;
    const written: PendingEntry[][] = [];
    const { store } = setup({
      journal: {
        write: (entries) => {
          if (fail) throw new Error('disk full');
          written.push([...entries]);
        },
      },
    });
    assert.throws(() => store.request(req()), { code: 'APPROVAL_JOURNAL_FAILED' });
    assert.deepEqual(store.list(), []);
    fail = false;
    const { approval } = store.request(req());
    assert.deepEqual(written.at(-1)?.map((e) => e.id), [approval.id]);
    assert.equal(Object.hasOwn(written.at(-1)?.[0] ?? {}, 'displayArgs'), false, 'arguments never reach the journal');
    store.decide(approval.id, { approve: true, by: UI });
    assert.deepEqual(written.at(-1), []);
  });

  it('waiting on an unknown id fails', async () => {
    const { store } = setup();
    await assert.rejects(store.waitForDecision('missing'), { code: 'APPROVAL_NOT_FOUND' });
  });
});
