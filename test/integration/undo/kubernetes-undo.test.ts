// Undo against the Kubernetes API emulator, through the real control plane, gateway and built
// kubernetes server: scale → undo restores replicas; delete → undo restores the object; drift is
// shown when the object changed after the call; the undo needs approval and is audited with undoOf;
// the handle file holds no plaintext (a Secret's value is absent from it).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { queryAudit } from '../../../src/core/audit';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { REPO_ROOT, firstText, waitFor } from '../../helpers/fixture-plane';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

describe('undo on Kubernetes (API emulator)', () => {
  let emulator: Emulator;
  let plane: ControlPlane;
  let client: Client;
  let stateDir: string;

  const deployments = (): ReturnType<Emulator['cluster']['findType']> => emulator.cluster.findType('apps', 'v1', 'deployments');
  const replicas = (name: string): unknown => (emulator.cluster.get(deployments()!, 'shop', name) as { spec?: { replicas?: number } }).spec?.replicas;

  /** Runs a destructive call an approver approves; returns its call id from the audit. */
  async function approvedCall(name: string, args: Record<string, unknown>): Promise<{ callId: string; text: string }> {
    const pending = client.callTool({ name, arguments: args });
    await waitFor(() => plane.oversight.store.list().length === 1, 20_000, `the approval of ${name}`);
    const a = plane.oversight.store.list()[0]!;
    await plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: true }, { kind: 'vscode-ui' });
    const result = await pending;
    assert.equal(result.isError, undefined, firstText(result));
    assert.equal((result as { _meta?: Record<string, unknown> })._meta?.['mcpcp/undo'], undefined, 'the client never sees the undo handle');
    const callId = a.callId!;
    return { callId, text: firstText(result) };
  }

  /** Starts the undo and approves it as a human would; returns its result and the approval. */
  async function approvedUndo(callId: string, digest?: string): Promise<{ ok: boolean; text: string; approvalTool: string }> {
    const running = plane.undo.run(callId, digest !== undefined ? { digest } : {});
    await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'the approval of the undo');
    const a = plane.oversight.store.list()[0]!;
    await plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: true }, { kind: 'vscode-ui' });
    const r = await running;
    return { ...r, approvalTool: a.tool };
  }

  before(async () => {
    emulator = await startEmulator();
    const kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]);
    stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-undo-k8s-'));
    plane = await ControlPlane.start({
      config: { ...defaultConfig(), servers: { git: { enabled: false } } },
      host: {
        serversDir: join(REPO_ROOT, 'dist/servers'),
        nodePath: process.execPath,
        runAsNode: false,
        env: { PATH: process.env['PATH'] ?? '', HOME: stateDir, KUBECONFIG: kubeconfig },
        secrets: new FileSecretStore(stateDir, {}),
        workspaceTrusted: true,
        defaultCwd: stateDir,
        rootPaths: [stateDir],
        stateDir,
      },
      roots: () => [],
      stateDir,
      instancePrefix: 'undo',
      policyLayer: 'user',
    });
    await plane.supervisor.get('kubernetes')!.waitUntilServing(20_000);
    client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('kubernetes')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
  });

  after(async () => {
    await client?.close();
    await plane?.stop();
    await emulator?.close();
  });

  it('scale → the undo (approved, audited with undoOf) restores the replicas', async () => {
    assert.equal(replicas('web'), 3);
    const { callId } = await approvedCall('scale', { resource: 'deployment', name: 'web', replicas: 5 });
    assert.equal(replicas('web'), 5);

    // The audit holds the handle's id and digest, never the prior state.
    const completed = (await queryAudit(join(stateDir, 'audit'), { callId, type: ['call.completed'] })).records[0]!;
    const undo = (completed.detail as { undo: { undoable: boolean; id: string; digest: string } }).undo;
    assert.equal(undo.undoable, true);
    assert.equal(undo.id, callId);
    assert.match(undo.digest, /^[0-9a-f]{64}$/);
    assert.doesNotMatch(JSON.stringify(completed), /"replicas"/);

    const preview = await plane.undo.preview(callId);
    assert.equal(preview.drift.changed, false, preview.text);
    assert.equal(preview.inverse.tool, 'scale');
    assert.equal(preview.inverse.args['replicas'], 3);
    assert.match(preview.text, /Drift: none/);

    const done = await approvedUndo(callId, preview.digest);
    assert.equal(done.approvalTool, 'scale', 'the undo waited for a human like any destructive call');
    assert.equal(done.ok, true, done.text);
    assert.equal(replicas('web'), 3);

    const undoRecords = (await queryAudit(join(stateDir, 'audit'), { type: ['call.completed'], tool: 'scale' })).records.filter((r) => (r.detail as { undoOf?: string } | undefined)?.undoOf === callId);
    assert.equal(undoRecords.length, 1, 'the undo is audited and linked to the original call');
  });

  it('drift: an object changed after the call is said so, with the three-way difference', async () => {
    const { callId } = await approvedCall('scale', { resource: 'deployment', name: 'web', replicas: 2 });
    // Someone else scales it in between.
    emulator.cluster.patch(deployments()!, 'shop', 'web', 'merge', { spec: { replicas: 4 } }, { manager: 'kubectl', dryRun: false, force: false });
    const preview = await plane.undo.preview(callId);
    assert.equal(preview.drift.changed, true);
    assert.match(preview.text, /CHANGED SINCE THE CALL/);
    assert.match(preview.text, /spec\.replicas: 3 \| 2 \| 4/);
    console.log(`--- Kubernetes undo preview with drift ---\n${preview.text}`);
    // A run bound to an older plan is refused once the state moved again.
    emulator.cluster.patch(deployments()!, 'shop', 'web', 'merge', { spec: { replicas: 6 } }, { manager: 'kubectl', dryRun: false, force: false });
    await assert.rejects(plane.undo.run(callId, { digest: preview.digest }), /no longer the one previewed/);
    assert.equal(plane.oversight.store.list().length, 0, 'nothing was submitted');
  });

  it('delete of a Secret → undo restores it; the handle file holds no plaintext', async () => {
    const secrets = emulator.cluster.findType('', 'v1', 'secrets')!;
    const original = emulator.cluster.get(secrets, 'shop', 'db-credentials') as { data: Record<string, string>; metadata: { labels?: Record<string, string> } };
    const password = Buffer.from(original.data['password']!, 'base64').toString('utf8');
    assert.equal(password, 's3cr3t-Hunter2');
    const { callId } = await approvedCall('resource_delete', { resource: 'secret', name: 'db-credentials' });
    assert.throws(() => emulator.cluster.get(secrets, 'shop', 'db-credentials'));

    const files = readdirSync(join(stateDir, 'undo'));
    assert.ok(files.includes(`${callId}.bin`), `handle file of ${callId} in ${files.join(', ')}`);
    const raw = readFileSync(join(stateDir, 'undo', `${callId}.bin`));
    for (const needle of [password, original.data['password']!, 'db-credentials', 'shop']) {
      assert.equal(raw.includes(Buffer.from(needle)), false, `"${needle}" is not in the handle file`);
    }
    const audit = readdirSync(join(stateDir, 'audit')).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(stateDir, 'audit', f), 'utf8')).join('\n');
    assert.equal(audit.includes(original.data['password']!), false, 'the audit holds no prior content');

    const preview = await plane.undo.preview(callId);
    assert.equal(preview.drift.changed, false, preview.text);
    assert.equal(preview.text.includes(password), false, 'the preview masks Secret data');
    assert.equal(preview.text.includes(original.data['password']!), false);
    const done = await approvedUndo(callId, preview.digest);
    assert.equal(done.ok, true, done.text);
    const restored = emulator.cluster.get(secrets, 'shop', 'db-credentials') as { data: Record<string, string>; metadata: { uid: string } };
    assert.deepEqual(restored.data, original.data);
    // The undo's arguments (shown on its approval card, recorded in the audit) carry the Secret masked:
    // the data reaches the server only in the gateway's _meta.
    const after = readdirSync(join(stateDir, 'audit')).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(stateDir, 'audit', f), 'utf8')).join('\n');
    assert.equal(after.includes(original.data['password']!), false, 'the audit of the undo holds no Secret data');
    assert.match(after, /db-credentials/);
  });

  it('a deleted Deployment comes back; re-created in between, the undo preview says so', async () => {
    const { callId } = await approvedCall('resource_delete', { resource: 'deployment', name: 'web' });
    assert.throws(() => emulator.cluster.get(deployments()!, 'shop', 'web'));
    const preview = await plane.undo.preview(callId);
    assert.equal(preview.drift.changed, false, preview.text);
    const done = await approvedUndo(callId, preview.digest);
    assert.equal(done.ok, true, done.text);
    assert.equal(replicas('web'), 6);
    // Deleted again, then someone re-creates it: the undo would now apply over a live object.
    const again = await approvedCall('resource_delete', { resource: 'deployment', name: 'web' });
    await approvedUndo(again.callId);
    const drift = await plane.undo.preview(again.callId);
    assert.equal(drift.drift.changed, true);
    assert.match(drift.text, /\(object\): present \| absent \| present/);
  });

  it('what cannot be undone is said in the approval card, before approval (a Namespace\'s content)', async () => {
    const deleting = client.callTool({ name: 'resource_delete', arguments: { resource: 'namespace', name: 'shop' } });
    await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'the approval');
    const a = plane.oversight.store.list()[0]!;
    const view = (await plane.oversight.state(60_000)).pending.find((p) => p.id === a.id)!;
    assert.deepEqual(view.preview.irreversible, ['the objects inside namespace shop (only the Namespace object itself is restored)']);
    assert.match(view.preview.text ?? '', /Cannot be undone: the objects inside namespace shop/);
    await plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: false, reason: 'no' }, { kind: 'vscode-ui' });
    assert.equal((await deleting).isError, true);
    assert.ok(emulator.cluster.get(emulator.cluster.findType('', 'v1', 'namespaces')!, undefined, 'shop'));
  });
});
