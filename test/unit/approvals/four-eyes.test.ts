import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApprovalStore, ManualClock, type ApprovalChange, type ApprovalRequest } from '../../../src/core/approvals';
import { ControlPlaneError } from '../../../src/core/errors';
import { LOCAL_PRINCIPAL, type Principal } from '../../../src/core/team/principal';

function person(id: string, name: string): Principal {
  return { id, name, via: 'ui-session', roles: ['approver'], groups: [] };
}
const agent: Principal = { id: 'apikey/k1', name: 'build agent of alice', via: 'api-key', roles: ['operator'], groups: [] };
const alice = person('oidc:https://idp#alice', 'alice');
const bob = person('oidc:https://idp#bob', 'bob');
const carol = person('oidc:https://idp#carol', 'carol');

function req(extra: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const args = { name: 'web-1', namespace: 'prod' };
  return { server: 'kubernetes', tool: 'pod_delete', args, displayArgs: { ...args }, reason: 'destructive', callId: 'c1', ...extra };
}

function setup(allowSelfApproval: boolean): { store: ApprovalStore; changes: ApprovalChange[] } {
  const store = new ApprovalStore({ clock: new ManualClock(), allowSelfApproval });
  const changes: ApprovalChange[] = [];
  store.onDidChange((c) => changes.push(c));
  return { store, changes };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ControlPlaneError ? err.code : String(err);
  }
  return undefined;
}

describe('who decides an approval', () => {
  it('the requester cannot decide their own request (approve or reject), another approver can; the wait resolves only then', async () => {
    const { store } = setup(false);
    const { approval } = store.request(req({ requester: alice }));
    assert.deepEqual(approval.requester, alice);
    const waiting = store.waitForDecision(approval.id);
    let settled = false;
    void waiting.then(() => (settled = true));
    let message = '';
    try {
      store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: alice }, digest: approval.digest });
    } catch (err) {
      assert.ok(err instanceof ControlPlaneError);
      assert.equal(err.code, 'APPROVAL_SELF_DECISION');
      message = err.message;
    }
    assert.match(message, /nobody decides their own request/);
    assert.match(message, /alice \(oidc:https:\/\/idp#alice\)/, 'names the requester');
    assert.match(message, /team\.allowSelfApproval: true/, 'says what to change for a one-person setup');
    assert.equal(code(() => store.decide(approval.id, { approve: false, by: { kind: 'approver-credential', principal: alice } })), 'APPROVAL_SELF_DECISION');
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false);
    assert.equal(store.get(approval.id)?.status, 'pending');
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest, 'tool', alice.id), undefined, 'a refused self-approval cannot run anything');

    const decided = store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: bob }, digest: approval.digest });
    assert.equal(decided.status, 'approved');
    assert.equal(decided.decision?.principal?.id, bob.id);
    assert.equal(decided.decision?.selfApproved, undefined);
    assert.equal((await waiting).approved, true);
  });

  it("another person's identical call gets its own approval: nobody joins someone else's request to approve or spend it as their own", async () => {
    const { store } = setup(false);
    const asked = store.request(req({ requester: alice }));
    // Bob makes the very same call (same server, tool, arguments) while Alice's waits.
    const same = store.request(req({ requester: bob, callId: 'c2' }));
    assert.equal(same.created, true, 'a new approval, not a seat on Alice\'s');
    assert.notEqual(same.approval.id, asked.approval.id);
    assert.equal(same.approval.requester.id, bob.id);
    // Bob cannot approve his own, and approving Alice's does not let his call run.
    assert.equal(code(() => store.decide(same.approval.id, { approve: true, by: { kind: 'approver-credential', principal: bob }, digest: same.approval.digest })), 'APPROVAL_SELF_DECISION');
    store.decide(asked.approval.id, { approve: true, by: { kind: 'approver-credential', principal: bob }, digest: asked.approval.digest });
    assert.equal(store.consume('kubernetes', 'pod_delete', same.approval.digest, 'tool', bob.id), undefined, "Bob's call cannot spend the approval Bob gave Alice");
    assert.equal(store.get(same.approval.id)?.status, 'pending', "Bob's request still waits for someone else");
    assert.equal(store.consume('kubernetes', 'pod_delete', asked.approval.digest, 'tool', alice.id)?.id, asked.approval.id, "Alice's call runs with it");
    // The same requester's identical call still joins (one card for a retried call).
    const again = store.request(req({ requester: bob, callId: 'c3' }));
    assert.deepEqual([again.created, again.approval.id], [false, same.approval.id]);
  });

  it('explicit self-approval: allowed, and the decision is marked selfApproved', () => {
    const { store } = setup(true);
    const { approval } = store.request(req({ requester: alice }));
    const decided = store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: alice } });
    assert.equal(decided.status, 'approved');
    assert.equal(decided.decision?.selfApproved, true);
    assert.deepEqual(decided.votes.map((v) => v.principal.id), [alice.id]);
  });

  it('loopback mode (the default) is self-approval by construction: the local user asks and decides, marked selfApproved', () => {
    const store = new ApprovalStore({ clock: new ManualClock() });
    const { approval } = store.request(req());
    assert.equal(approval.requester.id, LOCAL_PRINCIPAL.id);
    const decided = store.decide(approval.id, { approve: true, by: { kind: 'vscode-ui' } });
    assert.equal(decided.status, 'approved');
    assert.deepEqual(decided.decision?.by, { kind: 'vscode-ui' }, 'the decider as before');
    assert.equal(decided.decision?.principal?.id, LOCAL_PRINCIPAL.id);
    assert.equal(decided.decision?.selfApproved, true);
  });
});

describe('four-eyes (approvers: 2)', () => {
  it('the first approval leaves it pending (1 of 2), the same approver twice is refused, a second distinct approver completes it', async () => {
    const { store, changes } = setup(false);
    const { approval } = store.request(req({ requester: agent, approvers: 2 }));
    assert.equal(approval.approversRequired, 2);
    const waiting = store.waitForDecision(approval.id);
    let settled = false;
    void waiting.then(() => (settled = true));

    const first = store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: alice }, digest: approval.digest });
    assert.equal(first.status, 'pending');
    assert.deepEqual(first.votes.map((v) => v.principal.id), [alice.id]);
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest, 'tool', agent.id), undefined, 'one approval of two runs nothing');
    let message = '';
    try {
      store.decide(approval.id, { approve: true, by: { kind: 'vscode-ui', principal: alice }, digest: approval.digest });
    } catch (err) {
      assert.ok(err instanceof ControlPlaneError);
      assert.equal(err.code, 'APPROVAL_ALREADY_APPROVED');
      message = err.message;
    }
    assert.match(message, /already approved/);
    assert.match(message, /1 of 2/);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'still waiting after one approver');

    const second = store.decide(approval.id, { approve: true, reason: 'checked with the on-call', by: { kind: 'approver-credential', principal: bob }, digest: approval.digest });
    assert.equal(second.status, 'approved');
    assert.deepEqual(second.votes.map((v) => v.principal.id), [alice.id, bob.id]);
    assert.equal(second.decision?.principal?.id, bob.id);
    const outcome = await waiting;
    assert.equal(outcome.approved, true);
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest, 'tool', agent.id)?.id, approval.id);
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest, 'tool', agent.id), undefined, 'still single-use');
    assert.deepEqual(changes.map((c) => c.type), ['requested', 'progress', 'decided', 'consumed']);
  });

  it('any rejection rejects, even after an approval', async () => {
    const { store } = setup(false);
    const { approval } = store.request(req({ requester: agent, approvers: 2 }));
    const waiting = store.waitForDecision(approval.id);
    store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: alice } });
    const rejected = store.decide(approval.id, { approve: false, reason: 'not during the freeze', by: { kind: 'approver-credential', principal: carol } });
    assert.equal(rejected.status, 'rejected');
    const outcome = await waiting;
    assert.equal(outcome.approved, false);
    assert.equal(outcome.reason, 'not during the freeze');
    assert.equal(code(() => store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: bob } })), 'APPROVAL_NOT_PENDING');
    assert.equal(store.consume('kubernetes', 'pod_delete', approval.digest, 'tool', agent.id), undefined);
  });

  it('with self-approval allowed the requester counts as one of two, never as both', () => {
    const { store } = setup(true);
    const { approval } = store.request(req({ requester: alice, approvers: 2 }));
    assert.equal(store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: alice } }).status, 'pending');
    assert.equal(code(() => store.decide(approval.id, { approve: true, by: { kind: 'vscode-ui', principal: alice } })), 'APPROVAL_ALREADY_APPROVED');
    const done = store.decide(approval.id, { approve: true, by: { kind: 'approver-credential', principal: bob } });
    assert.equal(done.status, 'approved');
    assert.equal(done.decision?.selfApproved, true, 'one of the approvals was the requester\'s own');
  });

  it('refuses an approvers count outside 1..5', () => {
    const { store } = setup(false);
    assert.equal(code(() => store.request(req({ approvers: 0 }))), 'APPROVAL_BAD_APPROVERS');
    assert.equal(code(() => store.request(req({ approvers: 6 }))), 'APPROVAL_BAD_APPROVERS');
  });
});
