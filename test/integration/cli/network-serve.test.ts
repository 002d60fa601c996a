// The network server as a user gets it: `mcpcp serve` with the user's own inventory (the data
// directory's inventory.yaml; a workspace's devices are proposals, see test/security/hostile-workspace)
// starts it by default, hands it the secrets the inventory references from the control plane's
// store, and its tools work through the gateway; the password appears in no output or audit file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startSimulator } from '../../fixtures/network-sim/simulator';
import { ENABLE, inventoryYaml, PASSWORD } from '../network/harness';
import { REPO_ROOT, firstText } from '../../helpers/fixture-plane';

describe('mcpcp serve with a workspace inventory', () => {
  it('starts the network server with the referenced secrets; its tools answer through the gateway', async () => {
    const sim = await startSimulator([{ name: 'r1', platform: 'cisco_ios', enableSecret: ENABLE }]);
    const workspace = mkdtempSync(join(tmpdir(), 'mcpcp-ws-'));
    const dataDir = join(workspace, '..', `${workspace.split('/').pop()}-data`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'inventory.yaml'), inventoryYaml(sim, {}));
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/cli.js'), 'serve', '--print-client-config', '--data-dir', dataDir], {
      cwd: workspace,
      stdio: ['ignore', 'pipe', 'pipe'],
      // The control plane's own secret store (headless: environment overrides), not the child's.
      env: { PATH: process.env['PATH'] ?? '', HOME: workspace, MCPCP_SECRET_LAB_PASS: PASSWORD, MCPCP_SECRET_LAB_ENABLE: ENABLE },
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const config = JSON.parse(line) as { servers: Record<string, { url: string; headers: Record<string, string> }> };
      assert.deepEqual(Object.keys(config.servers).sort(), ['git', 'network']);
      const net = config.servers['network']!;
      const client = new Client({ name: 'e2e', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(net.url), { requestInit: { headers: net.headers } }));
      const version = await client.callTool({ name: 'device_command', arguments: { device: 'r1', command: 'sh ver' } });
      assert.equal(version.isError, undefined, firstText(version));
      assert.match(firstText(version), /Cisco IOS/);
      const injected = await client.callTool({ name: 'device_command', arguments: { device: 'r1', command: 'show clock\nreload' } });
      assert.equal(injected.isError, true);
      await client.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await sim.close();
    }
    assert.ok(!stderr.includes(PASSWORD) && !stderr.includes(ENABLE), 'no secret in the control plane log');
    const auditDir = join(dataDir, 'audit');
    for (const file of readdirSync(auditDir)) {
      const text = readFileSync(join(auditDir, file), 'utf8');
      assert.ok(!text.includes(PASSWORD) && !text.includes(ENABLE), `${file} holds a secret`);
    }
  });
});
