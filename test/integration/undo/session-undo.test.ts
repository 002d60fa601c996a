// Undo session against the Kubernetes API emulator: every destructive call of one client session,
// newest first, as one plan under ONE approval bound to its digest; it stops at the first failure
// and reports what was undone and what was not attempted.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { queryAudit } from '../../../src/core/audit';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { waitFor } from '../../helpers/fixture-plane';
import { startUndoPlane, type UndoPlane } from './harness';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

describe('undo session (API emulator)', () => {
  let emulator: Emulator;
  let up: UndoPlane;
  let client: Client;

  before(async () => {
    emulator = await startEmulator();
    up = await startUndoPlane({ env: { KUBECONFIG: writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]) }, config: (c) => ({ ...c, servers: { git: { enabled: false } } }) });
    client = await up.client('kubernetes');
  });

  after(async () => {
    await up?.stop();
    await emulator?.close();
  });

  it('one approval for the plan, newest first, stops at the first failure and says what was undone', async () => {
    const deployments = emulator.cluster.findType('apps', 'v1', 'deployments')!;
    const replicas = (name: string): number => (emulator.cluster.get(deployments, 'shop', name) as { spec: { replicas: number } }).spec.replicas;
    const a = await up.approvedCall(client, 'scale', { name: 'api', replicas: 1 });
    const b = await up.approvedCall(client, 'scale', { name: 'broken', replicas: 0 });
    const c = await up.approvedCall(client, 'scale', { name: 'web', replicas: 4 });
    // The step in the middle will fail: its object is gone.
    emulator.cluster.delete(deployments, 'shop', 'broken', { dryRun: false });
    const session = (await queryAudit(join(up.stateDir, 'audit'), { callId: c.callId, type: ['call.requested'] })).records[0]!.principal!.session!;

    const plan = await up.plane.undo.previewSession(session);
    assert.deepEqual(plan.steps.map((s) => s.callId), [c.callId, b.callId, a.callId], 'newest first');
    assert.match(plan.text, /Undo session .*: 3 call\(s\), newest first, stopping at the first failure/);
    console.log(`--- undo session plan ---\n${plan.text}`);

    const requestedBefore = (await queryAudit(join(up.stateDir, 'audit'), { type: ['approval.requested'] })).records.length;
    const running = up.plane.undo.runSession(session, plan.digest);
    await waitFor(() => up.plane.oversight.store.list().length === 1, 20_000, 'the plan approval');
    const approval = up.plane.oversight.store.list()[0]!;
    assert.equal(approval.tool, 'undo_session');
    assert.match(JSON.stringify(approval.preview), new RegExp(plan.digest));
    await up.plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
    const result = await running;

    assert.deepEqual(result.undone.map((u) => u.callId), [c.callId]);
    assert.equal(result.failed?.callId, b.callId);
    assert.deepEqual(result.skipped, [a.callId]);
    assert.match(result.text, new RegExp(`stopped at call ${b.callId}`));
    assert.equal(replicas('web'), 3, 'the newest call was undone');
    assert.equal(replicas('api'), 1, 'the oldest was not attempted');
    const requested = (await queryAudit(join(up.stateDir, 'audit'), { type: ['approval.requested'] })).records.length;
    assert.equal(requested - requestedBefore, 1, 'one approval for the whole plan');
    const steps = (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.requested'], tool: 'scale' })).records.filter((r) => (r.detail as { undoPlanApproval?: string }).undoPlanApproval === approval.id);
    assert.deepEqual(steps.map((r) => (r.detail as { undoOf: string }).undoOf).sort(), [b.callId, c.callId].sort(), 'each step audited with undoOf and the plan approval');
  });

  it('a plan that changed since its preview is refused before any approval is asked', async () => {
    const d = await up.approvedCall(client, 'scale', { name: 'web', replicas: 2 });
    const session = (await queryAudit(join(up.stateDir, 'audit'), { callId: d.callId, type: ['call.requested'] })).records[0]!.principal!.session!;
    const plan = await up.plane.undo.previewSession(session);
    emulator.cluster.patch(emulator.cluster.findType('apps', 'v1', 'deployments')!, 'shop', 'web', 'merge', { spec: { replicas: 7 } }, { manager: 'kubectl', dryRun: false, force: false });
    await assert.rejects(up.plane.undo.runSession(session, plan.digest), /no longer the one previewed/);
    assert.equal(up.plane.oversight.store.list().length, 0);
  });
});
