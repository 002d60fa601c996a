/**
 * The network server as deploy/overlays/network runs it: the inventory is the shipped example
 * (deploy/overlays/network/inventory.yaml, its hosts pointed at the device simulator) in a
 * read-only folder, as a ConfigMap is mounted; `network.trustedInventory` names it; the device
 * password reaches the server only from the environment (MCPCP_SECRET_<NAME>, from the Secret).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse as parseYaml, stringify } from 'yaml';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { startSimulator, type Simulator } from '../../fixtures/network-sim/simulator';
import { DEPLOY_DIR } from './manifests';
import { REPO_ROOT, firstText } from '../../helpers/fixture-plane';

const PASSWORD = 'core-password-from-the-secret';
const ENABLE = 'core-enable-from-the-secret';

describe('network inventory from a mounted ConfigMap, credentials from the Secret', () => {
  let sim: Simulator;
  let dir: string;
  let mount: string;

  before(async () => {
    sim = await startSimulator([
      { name: 'core-1', platform: 'cisco_xe', username: 'netops', password: PASSWORD, enableSecret: ENABLE },
      { name: 'core-2', platform: 'cisco_xe', username: 'netops', password: PASSWORD, enableSecret: ENABLE },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'mcpcp-net-configmap-'));
    mount = join(dir, 'etc-mcpcp');
    mkdirSync(mount);
    // The shipped example, with each device's host and port pointed at the simulator.
    const example = parseYaml(readFileSync(join(DEPLOY_DIR, 'overlays', 'network', 'inventory.yaml'), 'utf8')) as { devices: { name: string; host: string; port?: number }[] };
    for (const d of example.devices) {
      d.host = '127.0.0.1';
      d.port = sim.device(d.name).port;
    }
    writeFileSync(join(mount, 'inventory.yaml'), stringify(example));
    // As a ConfigMap volume: read-only.
    chmodSync(join(mount, 'inventory.yaml'), 0o444);
    chmodSync(mount, 0o555);
  });
  after(async () => {
    await sim?.close();
  });

  it('serves the devices; the password comes from the environment and is written nowhere', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const env = { PATH: process.env['PATH'] ?? '', HOME: dataDir, MCPCP_SECRET_CORE_PASSWORD: PASSWORD, MCPCP_SECRET_CORE_ENABLE: ENABLE };
    const base = defaultConfig();
    const plane = await ControlPlane.start({
      config: { ...base, servers: { git: { enabled: false }, kubernetes: { enabled: false }, network: { enabled: true } }, network: { trustedInventory: join(mount, 'inventory.yaml') } },
      host: {
        serversDir: join(REPO_ROOT, 'dist/servers'),
        nodePath: process.execPath,
        runAsNode: false,
        env,
        secrets: new FileSecretStore(dataDir, env),
        workspaceTrusted: true,
        defaultCwd: dataDir,
        rootPaths: [],
        stateDir: dataDir,
        trustedInventory: join(mount, 'inventory.yaml'),
      },
      roots: () => [],
      stateDir: dataDir,
      instancePrefix: 'net-configmap',
      policyLayer: 'config',
    });
    try {
      await plane.supervisor.get('network')!.waitUntilServing(20_000);
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('network')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      const list = await client.callTool({ name: 'devices_list', arguments: {} });
      assert.match(firstText(list), /core-1/);
      assert.match(firstText(list), /core-2/);
      const clock = await client.callTool({ name: 'device_command', arguments: { device: 'core-1', command: 'show clock' } });
      assert.equal(clock.isError, undefined, firstText(clock));
      assert.equal(sim.device('core-1').logins(), 1, 'the simulator saw one login with the password from the Secret');
      const version = await client.callTool({ name: 'device_command', arguments: { device: 'core-2', command: 'show version' } });
      assert.equal(version.isError, undefined, firstText(version));
      assert.ok(!firstText(version).includes(PASSWORD) && !firstText(clock).includes(PASSWORD));
      await client.close();
    } finally {
      await plane.stop('test');
    }
    // The secret was handed over in memory: no file in the data directory holds it.
    const files = (readdirSync(dataDir, { recursive: true }) as string[]).map((f) => join(dataDir, f)).filter((f) => existsSync(f) && !readdirSafe(f));
    for (const f of files) assert.ok(!readFileSync(f).includes(PASSWORD), `${f} holds the password`);
  });
});

function readdirSafe(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}
