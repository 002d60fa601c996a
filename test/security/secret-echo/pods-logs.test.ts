// Threat: a read-only log tool hands the agent a credential from a container log
// (`pods_logs` returned `DB_PASSWORD=Sup3r-S3cret-Passw0rd-1234`). The built-in kubernetes server
// passes the log through as it is; the gateway masks credential patterns in declared log output.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import { MASKED_NOTE } from '../../../src/core/gateway/secret-echo';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { REPO_ROOT } from '../../helpers/fixture-plane';

const LINE = 'DB_PASSWORD=Sup3r-S3cret-Passw0rd-1234 DATABASE_URL=postgres://shop:hunter2hunter2@db:5432/shop';

const texts = (result: unknown): string[] => ((result as { content: Array<{ text: string }> }).content ?? []).map((c) => c.text);

describe('secret echo: credentials in log output', () => {
  it('pods_logs through the gateway masks the credentials in a container log and says so', async () => {
    const emulator = await startEmulator();
    const kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]);
    const pods = emulator.cluster.findType('', 'v1', 'pods')!;
    emulator.cluster.controllers.appendLog(emulator.cluster.get(pods, 'shop', 'crashy'), 'app', LINE);
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-podlogs-'));
    const env = { PATH: process.env['PATH'] ?? '', HOME: stateDir, KUBECONFIG: kubeconfig };

    // The server itself returns the log as it is (what reached the agent before).
    const direct = new Client({ name: 'direct', version: '1' });
    await direct.connect(new StdioClientTransport({ command: process.execPath, args: [join(REPO_ROOT, 'dist/servers/kubernetes.js')], env, stderr: 'ignore' }));
    const raw = await direct.callTool({ name: 'pods_logs', arguments: { pod: 'crashy' } });
    assert.match(texts(raw).join('\n'), /Sup3r-S3cret-Passw0rd-1234/);
    await direct.close();

    const plane = await ControlPlane.start({
      config: { ...defaultConfig(), servers: { git: { enabled: false } } },
      host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env, secrets: new FileSecretStore(stateDir, {}), workspaceTrusted: true, defaultCwd: stateDir, rootPaths: [stateDir], stateDir },
      roots: () => [],
      stateDir,
      instancePrefix: 'podlogs',
      policyLayer: 'user',
    });
    try {
      await plane.supervisor.get('kubernetes')!.waitUntilServing(20_000);
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('kubernetes')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      const result = await client.callTool({ name: 'pods_logs', arguments: { pod: 'crashy' } });
      const all = texts(result).join('\n');
      assert.doesNotMatch(all, /Sup3r-S3cret-Passw0rd-1234|hunter2hunter2/);
      assert.match(all, /DB_PASSWORD=\[REDACTED\]/);
      assert.match(all, /app starting \(image example\/crashloop:1\)/, 'the rest of the log is intact');
      assert.equal(texts(result).at(-1), MASKED_NOTE);
      await client.close();
    } finally {
      await plane.stop();
      await emulator.close();
    }
  });
});
