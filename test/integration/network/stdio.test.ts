// The built network server (dist/servers/network.js) as the supervisor runs it: a child process
// with a minimal environment speaking MCP over stdio, configured by MCPCP_* variables, with the
// secrets the control plane passes. stdout carries the protocol only; it exits when stdin closes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { startSimulator, type Simulator } from '../../fixtures/network-sim/simulator';
import { builtNetworkServer } from './build';
import { ENABLE, inventoryYaml, PASSWORD } from './harness';

let sim: Simulator;
let dir: string;
let server: string;

before(async () => {
  server = await builtNetworkServer();
  sim = await startSimulator([{ name: 'r1', platform: 'cisco_ios', enableSecret: ENABLE }, { name: 'j1', platform: 'juniper_junos' }]);
  dir = mkdtempSync(join(tmpdir(), 'mcpcp-net-stdio-'));
  writeFileSync(join(dir, 'inventory.yaml'), inventoryYaml(sim, {}));
});
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('network server over stdio (built)', () => {
  it('lists the tools, runs commands on devices, keeps secrets out of stdout and stderr, exits when stdin closes', async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [server],
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: dir,
        MCPCP_NETWORK_INVENTORY: join(dir, 'inventory.yaml'),
        MCPCP_KNOWN_HOSTS: join(dir, 'data', 'known_hosts'),
        MCPCP_SECRET_LAB_PASS: PASSWORD,
        MCPCP_SECRET_LAB_ENABLE: ENABLE,
        MCPCP_LOG_LEVEL: 'debug',
      },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    assert.equal(tools.length, 9);
    const r = CallToolResultSchema.parse(await client.callTool({ name: 'device_command_many', arguments: { devices: ['r1', 'j1'], command: 'show version', parse: true } }));
    const results = r.structuredContent?.['results'] as { device: string; ok: boolean }[];
    assert.deepEqual(results.map((x) => [x.device, x.ok]), [['r1', true], ['j1', true]]);
    const cfg = CallToolResultSchema.parse(await client.callTool({ name: 'config_get', arguments: { device: 'r1' } }));
    assert.match(String(cfg.content[0]?.type === 'text' ? cfg.content[0].text : ''), /secret 9 <removed>/);
    const pid = transport.pid;
    await client.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.throws(() => process.kill(pid ?? 0, 0), 'the server exited after stdin closed');
    const log = stderr.join('');
    assert.match(log, /mcpcp-network info ready on stdio/);
    assert.match(log, /host key ssh-ed25519 recorded/);
    assert.ok(!log.includes(PASSWORD) && !log.includes(ENABLE), 'no secret in the log');
  });
});
