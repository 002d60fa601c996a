// The whole stack for Kubernetes: the control plane (as both hosts build it) starts the built
// kubernetes server because a kubeconfig is found, the gateway forwards an agent's calls, policy
// sends a destructive call to approval with the server's dry-run preview, a human approves, and
// the API emulator sees the change. A `reveal` needs approval too.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { REPO_ROOT, firstText, waitFor } from '../../helpers/fixture-plane';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

/** The live replicas of a Deployment, read from the emulator's store. */
function replicas(emulator: Emulator, namespace: string, name: string): unknown {
  const type = emulator.cluster.findType('apps', 'v1', 'deployments')!;
  return (emulator.cluster.get(type, namespace, name) as { spec?: { replicas?: number } }).spec?.replicas;
}

describe('kubernetes through the control plane', () => {
  it('is enabled by a kubeconfig; reads pass, a scale waits for a human who sees the dry-run diff', async () => {
    const emulator = await startEmulator();
    const kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]);
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-e2e-'));
    const config = defaultConfig();
    const plane = await ControlPlane.start({
      config: { ...config, servers: { git: { enabled: false } } },
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
      instancePrefix: 'e2e',
      policyLayer: 'user',
    });
    try {
      assert.deepEqual(plane.supervisor.list().map((s) => s.name), ['kubernetes']);
      await plane.supervisor.get('kubernetes')!.waitUntilServing(20_000);
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('kubernetes')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));

      const pods = await client.callTool({ name: 'resources_list', arguments: { resource: 'deploy' } });
      assert.match(firstText(pods), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m);
      assert.match(firstText(pods), /^web\s+3\/3/m);

      const scaling = client.callTool({ name: 'scale', arguments: { resource: 'deployment', name: 'web', replicas: 5 } });
      await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'the approval');
      const approval = plane.oversight.store.list()[0]!;
      assert.equal(approval.tool, 'scale');
      assert.equal(approval.preview.status, 'ok');
      assert.match(JSON.stringify(approval.preview), /would scale deployment.apps\/web \(namespace shop\) from 3 to 5/);
      assert.equal(replicas(emulator, 'shop', 'web'), 3, 'the preview changed nothing');
      await plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      const scaled = await scaling;
      assert.equal(scaled.isError, undefined, firstText(scaled));
      assert.equal(replicas(emulator, 'shop', 'web'), 5);

      // Secrets stay redacted unless `reveal`, which needs a human.
      const reveal = client.callTool({ name: 'resource_get', arguments: { resource: 'secret', name: 'db-credentials', reveal: true } });
      await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'the reveal approval');
      const revealApproval = plane.oversight.store.list()[0]!;
      assert.match(revealApproval.reason, /force|reveal/);
      await plane.oversight.decide({ approvalId: revealApproval.id, digest: revealApproval.digest, approve: false, reason: 'not now' }, { kind: 'vscode-ui' });
      const refused = await reveal;
      assert.equal(refused.isError, true);
      await client.close();
    } finally {
      await plane.stop();
      await emulator.close();
    }
  });
});
