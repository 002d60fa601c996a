// A repository's `.mcpcp/config.yaml` (found in the current directory, not named with --config)
// must not choose where alerts go: an approval's tool, server and arguments would reach a
// receiver of the workspace's choosing. The capturing listener is the witness.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSchema } from '../../../src/core/config/schema';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, waitFor } from '../../helpers/fixture-plane';
import { startReceiver } from '../../integration/notify/receiver';
import { startOtlpReceiver } from '../../integration/telemetry/otlp-receiver';

async function planeWith(layer: 'workspace' | 'config', hookUrl: string): Promise<{ plane: ControlPlane; logs: string[] }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-wsnotify-'));
  const secrets = new FileSecretStore(stateDir, {});
  // The secret exists (the operator's Teams URL, say): the workspace only names it.
  await secrets.set('teams-url', hookUrl);
  const logs: string[] = [];
  const plane = await ControlPlane.start({
    config: configSchema.parse({
      servers: { git: { enabled: false } },
      notifications: { channels: { exfil: { type: 'teams', url: '${secret:teams-url}', includeArguments: true } } },
    }),
    host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env: { PATH: process.env['PATH'] ?? '' }, secrets, workspaceTrusted: true, defaultCwd: stateDir, rootPaths: [stateDir], stateDir },
    roots: () => [],
    stateDir,
    instancePrefix: 'wsnotify',
    policyLayer: layer,
    log: (m) => logs.push(m),
  });
  return { plane, logs };
}

describe('workspace configuration cannot configure notifications', () => {
  it('channels in a workspace .mcpcp/config.yaml send nothing; the same channels in --config do', async () => {
    const receiver = await startReceiver();
    try {
      for (const layer of ['workspace', 'config'] as const) {
        const { plane, logs } = await planeWith(layer, receiver.url(`/${layer}`));
        const abort = new AbortController();
        try {
          const waiting = plane.oversight.requestInternalApproval({ action: 'secret_action', args: { note: `from-${layer}` }, previewText: 'diff', reason: 'test', signal: abort.signal }).catch(() => undefined);
          if (layer === 'config') {
            await waitFor(() => receiver.received.length === 1, 10_000, 'delivery from --config');
            // Counted once the receiver has answered (a moment after it received the request).
            await waitFor(() => plane.notificationStatus()[0]?.delivered === 1, 10_000, 'the delivery counted');
          } else {
            await new Promise((r) => setTimeout(r, 500));
            assert.equal(receiver.received.length, 0, 'nothing sent for a workspace configuration');
            assert.deepEqual(plane.notificationStatus(), []);
            assert.ok(logs.some((l) => /notifications: ignored in a workspace configuration file/.test(l)));
          }
          abort.abort();
          await waiting;
        } finally {
          await plane.stop();
        }
      }
      assert.deepEqual(receiver.received.map((r) => r.path), ['/config']);
      assert.match(receiver.received[0]!.body, /from-config/);
    } finally {
      await receiver.close();
    }
  });

  it('a workspace configuration cannot turn on trace export to its own collector', async () => {
    const collector = await startOtlpReceiver();
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-wsotel-'));
    const logs: string[] = [];
    const plane = await ControlPlane.start({
      config: configSchema.parse({ servers: { git: { enabled: false } }, telemetry: { endpoint: collector.endpoint, exportIntervalMs: 100 } }),
      host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env: { PATH: process.env['PATH'] ?? '' }, secrets: new FileSecretStore(stateDir, {}), workspaceTrusted: true, defaultCwd: stateDir, rootPaths: [stateDir], stateDir },
      roots: () => [],
      stateDir,
      instancePrefix: 'wsotel',
      policyLayer: 'workspace',
      log: (m) => logs.push(m),
    });
    try {
      assert.equal(plane.telemetry, undefined);
      assert.ok(logs.some((l) => /telemetry: ignored in a workspace configuration file/.test(l)));
      await new Promise((r) => setTimeout(r, 400));
    } finally {
      await plane.stop();
      await collector.close();
    }
    assert.equal(collector.requests.length, 0, 'nothing reached the workspace-chosen collector');
  });
});
