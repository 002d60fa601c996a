// A secret missing from the store fails only the devices whose credential needs it: the control
// plane still starts the network server (with the secrets it has), and the error names the device.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { findBuiltin } from '../../../src/core/builtin-servers';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { silentLogger } from '../../../src/servers/kit';
import { createNetworkServer } from '../../../src/servers/network/server';
import { networkOptionsFromEnv } from '../../../src/servers/network/services';
import { startSimulator, type Simulator } from '../../fixtures/network-sim/simulator';
import { PASSWORD } from './harness';

let sim: Simulator;
let dir: string;
let inventory: string;
let store: FileSecretStore;

before(async () => {
  sim = await startSimulator([
    { name: 'core1', platform: 'cisco_ios' },
    { name: 'edge1', platform: 'cisco_ios' },
  ]);
  dir = mkdtempSync(join(tmpdir(), 'mcpcp-net-secrets-'));
  inventory = join(dir, 'inventory.yaml');
  writeFileSync(
    inventory,
    [
      'credentials:',
      '  core:',
      '    username: admin',
      '    password: ${secret:core-pass}',
      '  edge:',
      '    username: admin',
      '    password: ${secret:edge-pass}',
      'devices:',
      `  - {name: core1, host: 127.0.0.1, port: ${sim.device('core1').port}, platform: cisco_ios, credential: core}`,
      `  - {name: edge1, host: 127.0.0.1, port: ${sim.device('edge1').port}, platform: cisco_ios, credential: edge}`,
      '',
    ].join('\n'),
  );
  store = new FileSecretStore(join(dir, 'data'), {});
  await store.set('core-pass', PASSWORD);
});
after(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('network secrets', () => {
  it('one missing secret fails only the device that needs it, naming the device', async () => {
    const handed: string[] = [];
    const env = await findBuiltin('network')!.env!({ env: { MCPCP_NETWORK_INVENTORY: inventory }, rootPaths: [], stateDir: dir, secrets: store, onSecret: (v) => handed.push(v) });
    assert.equal(env['MCPCP_SECRET_CORE_PASS'], PASSWORD);
    assert.equal('MCPCP_SECRET_EDGE_PASS' in env, false);
    assert.deepEqual(handed, [PASSWORD]);

    const server = createNetworkServer({ log: silentLogger, options: { ...networkOptionsFromEnv(env, dir), keepaliveMs: 0 } });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'network-secrets-test', version: '1.0.0' });
    await client.connect(clientSide);
    const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => CallToolResultSchema.parse(await client.callTool({ name, arguments: args }));
    const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    try {
      const core = await call('device_command', { device: 'core1', command: 'show clock' });
      assert.equal(core.isError, undefined, text(core));
      const edge = await call('device_command', { device: 'edge1', command: 'show clock' });
      assert.equal(edge.isError, true);
      assert.match(text(edge), /^edge1: the secret "edge-pass" \(password\) is not available to the server\n/);
      assert.equal(sim.device('edge1').logins(), 0, 'nothing was sent to edge1');
      const many = await call('device_command_many', { devices: ['core1', 'edge1'], command: 'show clock' });
      assert.match(text(many), /core1/);
      assert.match(text(many), /edge1: the secret "edge-pass" \(password\) is not available/);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
