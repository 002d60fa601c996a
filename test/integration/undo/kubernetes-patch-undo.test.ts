// Undo of resource_patch and node_cordon against the Kubernetes API emulator, through the real
// control plane, gateway and built kubernetes server: the patch's undo restores the object (keys the
// patch added are removed again), drift is shown field by field, cordon's undo uncordons. And what
// cannot be undone is on the approval card BEFORE the call is approved (pods_exec, rollout_restart,
// node_drain), with the cluster as witness that the refused call did nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { queryAudit } from '../../../src/core/audit';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { waitFor } from '../../helpers/fixture-plane';
import { startUndoPlane, type UndoPlane } from './harness';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

describe('undo of resource_patch and node_cordon (API emulator)', () => {
  let emulator: Emulator;
  let up: UndoPlane;
  let client: Client;

  const configMap = (name: string): { data?: Record<string, string> } | undefined => emulator.cluster.store.get('/configmaps', 'shop', name) as { data?: Record<string, string> } | undefined;
  const node = (name: string): { spec?: { unschedulable?: boolean } } | undefined => emulator.cluster.store.get('/nodes', undefined, name) as { spec?: { unschedulable?: boolean } } | undefined;

  before(async () => {
    emulator = await startEmulator();
    const kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]);
    up = await startUndoPlane({ env: { KUBECONFIG: kubeconfig }, config: (c) => ({ ...c, servers: { ...c.servers, git: { enabled: false } } }) });
    client = await up.client('kubernetes');
  });

  after(async () => {
    await up?.stop();
    await emulator?.close();
  });

  it('resource_patch → undo (approved, audited with undoOf) restores the object; a key the patch added is gone again', async () => {
    const before = structuredClone(configMap('web-config')!.data);
    const { callId } = await up.approvedCall(client, 'resource_patch', { context: 'emu', resource: 'configmaps', name: 'web-config', patch: '{"data":{"LOG_LEVEL":"debug","ADDED":"by-agent"}}' });
    assert.equal(configMap('web-config')!.data!['LOG_LEVEL'], 'debug');
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.inverse.tool, 'resource_patch');
    assert.equal(preview.drift.changed, false, preview.text);
    const done = await up.approvedUndo(callId, { digest: preview.digest });
    assert.equal(done.approvalTool, 'resource_patch');
    assert.equal(done.ok, true, done.text);
    assert.deepEqual(configMap('web-config')!.data, before);
    const linked = (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.completed'], tool: 'resource_patch' })).records.filter((r) => (r.detail as { undoOf?: string } | undefined)?.undoOf === callId);
    assert.equal(linked.length, 1);
  });

  it('drift: a change after the patch is shown field by field (before | after | now)', async () => {
    const { callId } = await up.approvedCall(client, 'resource_patch', { context: 'emu', resource: 'configmaps', name: 'web-config', patch: '{"data":{"LOG_LEVEL":"debug"}}' });
    // Someone else changes the same key afterwards.
    emulator.cluster.patch(emulator.cluster.findType('', 'v1', 'configmaps')!, 'shop', 'web-config', 'merge', { data: { LOG_LEVEL: 'warn' } }, { manager: 'kubectl', dryRun: false, force: false });
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.drift.changed, true);
    assert.match(preview.text, /data\.LOG_LEVEL: "info" \| "debug" \| "warn"/);
    console.log(`--- kubernetes undo preview with drift (resource_patch) ---\n${preview.text}`);
  });

  it('rollout_undo → undo puts the pod template back as it was before the rollback', async () => {
    const image = (): string => (emulator.cluster.get(emulator.cluster.findType('apps', 'v1', 'deployments')!, 'shop', 'web') as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
    const first = image();
    // A new revision (as a deploy would make it), then the agent rolls back to the one before.
    await up.approvedCall(client, 'resource_patch', { context: 'emu', resource: 'deployments', name: 'web', patch: '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}' });
    await waitFor(() => image() === 'nginx:1.28', 10_000, 'the new template');
    const { callId } = await up.approvedCall(client, 'rollout_undo', { context: 'emu', name: 'web' });
    assert.equal(image(), first);
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.inverse.tool, 'resource_patch');
    assert.doesNotMatch(JSON.stringify(preview.inverse.args), /deployment\.kubernetes\.io\/revision/, 'the controller\'s revision is not patched back');
    const done = await up.approvedUndo(callId);
    assert.equal(done.ok, true, done.text);
    assert.equal(image(), 'nginx:1.28', 'the template the rollback replaced is back');
  });

  it('node_cordon → undo uncordons the node, and only once a human approves it (policy alone would allow an uncordon)', async () => {
    assert.notEqual(node('emulator-worker2')?.spec?.unschedulable, true);
    // A non-destructive write: the default policy lets it run without an approval.
    const r = await client.callTool({ name: 'node_cordon', arguments: { context: 'emu', name: 'emulator-worker2' } });
    assert.equal(r.isError, undefined);
    assert.equal(node('emulator-worker2')?.spec?.unschedulable, true);
    const callId = (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.completed'], tool: 'node_cordon' })).records[0]!.callId!;
    const refused = await up.approvedUndo(callId, { approve: false });
    assert.equal(refused.approvalTool, 'node_uncordon', 'the undo waited for a human');
    assert.equal(refused.ok, false);
    assert.equal(node('emulator-worker2')?.spec?.unschedulable, true, 'witness: rejected, the node stays cordoned');
    const done = await up.approvedUndo(callId);
    assert.equal(done.ok, true, done.text);
    assert.notEqual(node('emulator-worker2')?.spec?.unschedulable, true, 'schedulable again');
  });

  for (const c of [
    { tool: 'pods_exec', args: { context: 'emu', pod: 'deployment/web', command: ['sh', '-c', 'echo ran > /tmp/witness'] }, says: /Cannot be undone: a command run in a container can change anything the container reaches/ },
    { tool: 'rollout_restart', args: { context: 'emu', name: 'web' }, says: /Cannot be undone: a restart replaces the pods/ },
    { tool: 'node_drain', args: { context: 'emu', name: 'emulator-worker', force: true }, says: /Cannot be undone: the evicted pods: they are not un-evicted/ },
  ]) {
    it(`${c.tool}: the approval card says what cannot be undone before approval; rejected, nothing happened`, async () => {
      const execsBefore = emulator.requests.filter((q) => q.path.endsWith('/exec')).length;
      const deploy = JSON.stringify((emulator.cluster.get(emulator.cluster.findType('apps', 'v1', 'deployments')!, 'shop', 'web') as { spec: unknown }).spec);
      const worker = JSON.stringify(node('emulator-worker')?.spec ?? {});
      const pending = client.callTool({ name: c.tool, arguments: c.args });
      await waitFor(() => up.plane.oversight.store.list().length === 1, 20_000, `the approval of ${c.tool}`);
      const a = up.plane.oversight.store.list()[0]!;
      const card = (await up.plane.oversight.state(60_000)).pending.find((p) => p.id === a.id)!;
      assert.match(card.preview.text ?? '', c.says);
      assert.match(card.preview.irreversible?.join('\n') ?? '', new RegExp(c.says.source.replace('Cannot be undone: ', '')));
      await up.plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: false }, { kind: 'vscode-ui' });
      const r = await pending;
      assert.equal(r.isError, true);
      // Witnesses: the dry run ran no command, restarted nothing, cordoned nothing.
      assert.equal(emulator.requests.filter((q) => q.path.endsWith('/exec')).length, execsBefore);
      assert.equal(JSON.stringify((emulator.cluster.get(emulator.cluster.findType('apps', 'v1', 'deployments')!, 'shop', 'web') as { spec: unknown }).spec), deploy);
      assert.equal(JSON.stringify(node('emulator-worker')?.spec ?? {}), worker);
    });
  }
});
