import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultAuditKeyFile, fileAuditKeyStorage, loadOrCreateAuditKeyring, verifyAudit, queryAudit } from '../../../src/core/audit';
import type { TestPlane } from '../../helpers/fixture-plane';
import { connectClient, firstText, startPlane, waitFor } from '../../helpers/fixture-plane';

/** Waits for the one pending approval of a tool and returns it. */
async function pendingFor(plane: TestPlane, tool: string) {
  await waitFor(() => plane.oversight!.store.list().some((a) => a.tool === tool), 10_000, `pending approval of ${tool}`);
  return plane.oversight!.store.list().find((a) => a.tool === tool)!;
}

async function withPlane(options: Parameters<typeof startPlane>[1], run: (plane: TestPlane) => Promise<void>): Promise<void> {
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], options);
  try {
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    await run(plane);
  } finally {
    await plane.stop();
  }
}

describe('gateway oversight: policy, approvals, audit through the real pipeline', () => {
  it('a destructive call waits; the human sees the preview; approved, it runs exactly once', async () => {
    await withPlane({ oversight: {} }, async (plane) => {
      const client = await connectClient(plane, 'fx', { name: 'agent', version: '9.1' });
      const call = client.callTool({ name: 'delete_thing', arguments: { name: 'prod-db' } });
      const approval = await pendingFor(plane, 'delete_thing');
      assert.deepEqual(approval.displayArgs, { name: 'prod-db' });
      assert.equal(approval.preview.status, 'ok');
      assert.match(JSON.stringify(approval.preview), /would delete prod-db/);
      assert.deepEqual(approval.client, { name: 'agent', version: '9.1' });
      assert.equal(approval.rule?.source, 'default');
      const view = (await plane.oversight!.state(3_600_000)).pending[0]!;
      assert.equal(view.preview.text, 'would delete prod-db');
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true, reason: 'planned' }, { kind: 'vscode-ui' });
      const result = await call;
      assert.equal(result.isError, undefined);
      assert.equal(firstText(result), 'deleted prod-db; deleted so far: prod-db', 'ran once, and the preview deleted nothing');
      // The decision is used up: the same call needs a new approval.
      const again = client.callTool({ name: 'delete_thing', arguments: { name: 'prod-db' } });
      const second = await pendingFor(plane, 'delete_thing');
      assert.notEqual(second.id, approval.id);
      await assert.rejects(plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' }), /no longer pending \(approved and already used\); a decision counts once/);
      await plane.oversight!.decide({ approvalId: second.id, digest: second.digest, approve: false, reason: 'once is enough' }, { kind: 'vscode-ui' });
      const refused = await again;
      assert.equal(refused.isError, true);
      assert.match(firstText(refused), /Not approved: rejected by a human: once is enough/);
      // Rejected without a reason: said once, not "rejected by a human: rejected by the approver".
      const third = client.callTool({ name: 'delete_thing', arguments: { name: 'prod-db' } });
      const pendingThird = await pendingFor(plane, 'delete_thing');
      await plane.oversight!.decide({ approvalId: pendingThird.id, digest: pendingThird.digest, approve: false }, { kind: 'vscode-ui' });
      const bare = firstText(await third);
      assert.match(bare, /Not approved: rejected by a human/);
      assert.doesNotMatch(bare, /rejected by a human: rejected by/);
      await client.close();
    });
  });

  it('a decision is bound to the digest of the arguments the human saw', async () => {
    await withPlane({ oversight: {} }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const call = client.callTool({ name: 'delete_thing', arguments: { name: 'a' } });
      const approval = await pendingFor(plane, 'delete_thing');
      await assert.rejects(
        plane.oversight!.decide({ approvalId: approval.id, digest: '0'.repeat(64), approve: true }, { kind: 'vscode-ui' }),
        /digest/i,
      );
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      assert.match(firstText(await call), /deleted a;/);
      // Other arguments are another call: a fresh approval, not the used one.
      const other = client.callTool({ name: 'delete_thing', arguments: { name: 'b' } });
      const next = await pendingFor(plane, 'delete_thing');
      assert.deepEqual(next.displayArgs, { name: 'b' });
      await plane.oversight!.decide({ approvalId: next.id, digest: next.digest, approve: false }, { kind: 'vscode-ui' });
      assert.equal((await other).isError, true);
      await client.close();
    });
  });

  it('nobody decides: the approval expires and the call is refused with the reason', async () => {
    await withPlane({ oversight: { approvals: { expiryMs: 400 } } }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const result = await client.callTool({ name: 'delete_thing', arguments: { name: 'x' } });
      assert.equal(result.isError, true);
      assert.match(firstText(result), /Not approved: nobody decided within/);
      await client.close();
    });
  });

  it('progress notifications keep a waiting client informed', async () => {
    await withPlane({ oversight: { heartbeatMs: 100 } }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const messages: string[] = [];
      const call = client.callTool({ name: 'delete_thing', arguments: { name: 'y' } }, undefined, { onprogress: (p) => messages.push(p.message ?? '') });
      const approval = await pendingFor(plane, 'delete_thing');
      await waitFor(() => messages.length >= 3, 5_000, 'heartbeats');
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      await call;
      assert.match(messages[0]!, /Waiting for a human to approve delete_thing on fx/);
      assert.match(messages[1]!, /Still waiting for approval/);
      await client.close();
    });
  });

  it('the client gives up; the approval is cancelled and a repeat call asks anew (see test/security/orphaned-approval)', async () => {
    await withPlane({ oversight: {} }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const controller = new AbortController();
      const first = client.callTool({ name: 'delete_thing', arguments: { name: 'z' } }, undefined, { signal: controller.signal });
      const approval = await pendingFor(plane, 'delete_thing');
      controller.abort();
      await assert.rejects(first);
      await waitFor(() => plane.oversight!.store.get(approval.id)?.status === 'rejected', 5_000, 'the approval to be cancelled');
      await assert.rejects(plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'approver-credential', name: 'ops' }), /no longer pending/);
      const repeat = client.callTool({ name: 'delete_thing', arguments: { name: 'z' } });
      const second = await pendingFor(plane, 'delete_thing');
      assert.notEqual(second.id, approval.id);
      await plane.oversight!.decide({ approvalId: second.id, digest: second.digest, approve: true }, { kind: 'approver-credential', name: 'ops' });
      assert.equal(firstText(await repeat), 'deleted z; deleted so far: z');
      await client.close();
    });
  });

  it('denials and read-only mode come back to the model as isError results with the reason', async () => {
    await withPlane(
      { oversight: { rules: [{ tool: 'echo', args: { text: { matches: 'rm *' } }, decision: 'deny', reason: 'no shell commands in echo' }] } },
      async (plane) => {
        const client = await connectClient(plane, 'fx');
        assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'hello' } })), 'hello');
        const denied = await client.callTool({ name: 'echo', arguments: { text: 'rm -rf /' } });
        assert.equal(denied.isError, true);
        assert.equal(firstText(denied), 'Denied by policy: no shell commands in echo');
        await client.close();
      },
    );
    await withPlane({ oversight: { readOnlyMode: true } }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'read' } })), 'read');
      const denied = await client.callTool({ name: 'bump', arguments: {} });
      assert.equal(denied.isError, true);
      assert.match(firstText(denied), /^Denied by policy: .*read-only/i);
      await client.close();
    });
  });

  it('a workspace rule cannot allow what the defaults send to approval', async () => {
    await withPlane({ oversight: { workspaceRules: [{ tool: '*', decision: 'allow', reason: 'trust me' }] } }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const call = client.callTool({ name: 'delete_thing', arguments: { name: 'w' } });
      const approval = await pendingFor(plane, 'delete_thing');
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: false }, { kind: 'vscode-ui' });
      assert.equal((await call).isError, true);
      await client.close();
    });
  });

  it('stopping with approvals pending rejects them, and the audit trail verifies with secrets redacted', async () => {
    const canary = 'ghp_' + 'C4n4ryT0k3n'.repeat(3) + 'abcd';
    let stateDir = '';
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: {} });
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    stateDir = plane.stateDir!;
    const client = await connectClient(plane, 'fx', { name: 'agent' });
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: `token ${canary}` } })), `token ${canary}`);
    const waiting = client.callTool({ name: 'delete_thing', arguments: { name: 'v', note: canary } });
    await pendingFor(plane, 'delete_thing');
    // The approver sees the argument as it will run, marked; the audit below never holds it.
    const card = (await plane.oversight!.state(60_000)).pending.find((a) => a.tool === 'delete_thing')!;
    assert.equal(card.args['note'], canary);
    assert.deepEqual(card.secretPaths, ['note']);
    await plane.stop();
    const result = await waiting.catch((err: unknown) => ({ isError: true, content: [{ type: 'text', text: String(err) }] }));
    assert.equal(result.isError, true);
    await client.close().catch(() => undefined);

    const auditDir = join(stateDir, 'audit');
    const keys = await loadOrCreateAuditKeyring(fileAuditKeyStorage(defaultAuditKeyFile(stateDir)));
    const verified = await verifyAudit(auditDir, { keys });
    assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
    const types = (await queryAudit(auditDir, {}, { limit: 1000 })).records.map((r) => r.type);
    for (const t of ['server.started', 'call.requested', 'policy.decided', 'call.completed', 'approval.requested', 'approval.decided', 'server.stopped']) {
      assert.ok(types.includes(t as never), `audit has ${t}: ${types.join(',')}`);
    }
    const decided = (await queryAudit(auditDir, { type: 'approval.decided' }, {})).records[0]!;
    assert.equal(decided.decision, 'rejected');
    assert.match(decided.reason ?? '', /control plane stopping/);
    for (const file of readdirSync(auditDir)) {
      assert.ok(!readFileSync(join(auditDir, file), 'utf8').includes(canary), `${file} holds the canary`);
    }
  });
});
