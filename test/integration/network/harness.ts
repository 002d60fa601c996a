// Test harness for the network server: simulated devices on loopback, an inventory file that
// references secrets, the secrets in the environment the way the control plane passes them, and a
// real MCP client connected to the server over the in-memory transport.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createLogger, silentLogger, type Logger } from '../../../src/servers/kit';
import { createNetworkServer } from '../../../src/servers/network/server';
import type { NetworkOptions } from '../../../src/servers/network/services';
import { startSimulator, type SimDeviceSpec, type Simulator } from '../../fixtures/network-sim/simulator';

export const PASSWORD = 'admin-pass';
export const ENABLE = 'en-secret';

export interface Harness {
  readonly sim: Simulator;
  readonly dir: string;
  readonly client: Client;
  readonly inventoryFile: string;
  readonly knownHostsFile: string;
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
  text(result: CallToolResult): string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra inventory YAML appended after the generated devices (other devices, jump hosts...). */
  readonly extraDevices?: string;
  readonly extraTop?: string;
  /** Extra entries of the credentials map (YAML, indented by 2). */
  readonly extraCredentials?: string;
  readonly options?: Partial<NetworkOptions>;
  readonly env?: Record<string, string>;
  /** Group of each simulated device (by name). */
  readonly groups?: Record<string, string[]>;
  readonly log?: Logger;
}

export function inventoryYaml(sim: Simulator, opts: HarnessOptions): string {
  const groups = [...new Set(Object.values(opts.groups ?? {}).flat())];
  const lines = [
    'version: 1',
    'credentials:',
    '  lab:',
    '    username: admin',
    '    password: ${secret:lab-pass}',
    '    enable: ${secret:lab-enable}',
    ...(opts.extraCredentials === undefined ? [] : [opts.extraCredentials]),
    ...(groups.length > 0 ? ['groups:', ...groups.map((g) => `  ${g}:\n    tags: [${g}-tag]`)] : []),
    ...(opts.extraTop === undefined ? [] : [opts.extraTop]),
    'devices:',
    ...sim.devices.map((d) =>
      [
        `  - name: ${d.spec.name}`,
        '    host: 127.0.0.1',
        `    port: ${d.port}`,
        `    platform: ${d.spec.platform}`,
        '    credential: lab',
        ...(d.spec.legacyOnly === true ? ['    legacyAlgorithms: true'] : []),
        ...((opts.groups?.[d.spec.name] ?? []).length > 0 ? [`    groups: [${(opts.groups?.[d.spec.name] ?? []).join(', ')}]`] : []),
      ].join('\n'),
    ),
    ...(opts.extraDevices === undefined ? [] : [opts.extraDevices]),
  ];
  return `${lines.join('\n')}\n`;
}

export async function startHarness(specs: SimDeviceSpec[], opts: HarnessOptions = {}): Promise<Harness> {
  const sim = await startSimulator(specs);
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-net-'));
  const inventoryFile = join(dir, 'inventory.yaml');
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(inventoryFile, inventoryYaml(sim, opts));
  const env = { MCPCP_SECRET_LAB_PASS: PASSWORD, MCPCP_SECRET_LAB_ENABLE: ENABLE, ...opts.env };
  const options: NetworkOptions = {
    inventoryFile,
    knownHostsFile,
    templatesDir: join(dir, 'templates'),
    ntcTemplatesDir: undefined,
    fanOut: 16,
    idleMs: 60_000,
    keepaliveMs: 0,
    connectTimeoutMs: 5_000,
    confirmMinutes: 5,
    maxOutputBytes: 2_000_000,
    env,
    ...opts.options,
  };
  const log = opts.log ?? (process.env['MCPCP_TEST_LOG'] === '1' ? createLogger('network-test', 'debug') : silentLogger);
  const server = createNetworkServer({ log, options });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'network-test', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    sim,
    dir,
    client,
    inventoryFile,
    knownHostsFile,
    call: async (name, args) => CallToolResultSchema.parse(await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })),
    text: (r) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n'),
    close: async () => {
      await client.close();
      await server.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
