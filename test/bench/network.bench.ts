// Network server against the device simulator (its own process, 20 ms per-command latency, 50
// IOS devices): `show version` on all 50 through device_command_many (cold: SSH handshake and
// login included; warm: pooled sessions), and per-command latency on a pooled session through
// device_command, via the built server over stdio. netmiko (Debian python3-netmiko, default timing) does
// the same against the same simulator in the same run: a thread pool of the same width as our
// fan-out limit connecting to each device, and repeated send_command on one connection.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { builtNetworkServer } from '../integration/network/build';

const DEVICES = 50;
const LATENCY_MS = 20;
const FANOUT = 16;
const REPEAT = 50;
const PYTHON = '/usr/bin/python3';
const SIM_MAIN = resolve(__dirname, '../fixtures/network-sim/main.ts');
const NETMIKO_BENCH = resolve(__dirname, '../fixtures/network-sim/netmiko-bench.py');

interface SimInfo {
  devices: { name: string; port: number; username: string; password: string }[];
}

async function startSim(): Promise<{ info: SimInfo; child: ChildProcess }> {
  const specs = Array.from({ length: DEVICES }, (_, i) => ({ name: `r${i}`, platform: 'cisco_ios', latencyMs: LATENCY_MS }));
  const child = spawn(process.execPath, ['--import', 'tsx', SIM_MAIN, JSON.stringify(specs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return { info: JSON.parse(line) as SimInfo, child };
}

function stats(ms: number[]): { median: number; p95: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { median: at(0.5), p95: at(0.95) };
}

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

export async function run(): Promise<string> {
  const server = await builtNetworkServer();
  const { info, child } = await startSim();
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-net-bench-'));
  try {
    const inv = ['credentials:', '  lab:', '    username: admin', '    password: ${secret:lab-pass}', 'devices:', ...info.devices.map((d) => `  - name: ${d.name}\n    host: 127.0.0.1\n    port: ${d.port}\n    platform: cisco_ios\n    credential: lab`)];
    writeFileSync(join(dir, 'inventory.yaml'), `${inv.join('\n')}\n`);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [server],
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: dir,
        MCPCP_NETWORK_INVENTORY: join(dir, 'inventory.yaml'),
        MCPCP_KNOWN_HOSTS: join(dir, 'known_hosts'),
        MCPCP_SECRET_LAB_PASS: info.devices[0]?.password ?? '',
        MCPCP_NETWORK_FANOUT: String(FANOUT),
        MCPCP_LOG_LEVEL: 'warn',
      },
      stderr: 'inherit',
    });
    const client = new Client({ name: 'network-bench', version: '1.0.0' });
    await client.connect(transport);
    const call = async (name: string, args: Record<string, unknown>) => CallToolResultSchema.parse(await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 }));
    const many = async (): Promise<number> => {
      const t = performance.now();
      const r = await call('device_command_many', { devices: info.devices.map((d) => d.name), command: 'show version' });
      const results = r.structuredContent?.['results'] as { ok: boolean }[];
      if (results.filter((x) => x.ok).length !== DEVICES) throw new Error(`device_command_many: ${JSON.stringify(r.content).slice(0, 400)}`);
      return performance.now() - t;
    };
    const cold = await many();
    const warm = await many();
    const per: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now();
      const r = await call('device_command', { device: 'r0', command: 'show version' });
      if (r.isError === true) throw new Error('device_command failed');
      per.push(performance.now() - t);
    }
    await client.close();
    const ours = stats(per);

    let netmiko: { fanout_ms: number; fanout_ok: number; per_command_ms: number[] } | undefined;
    if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import netmiko'], { stdio: 'ignore' }).status === 0) {
      const args = { devices: info.devices.map((d) => ({ host: '127.0.0.1', port: d.port })), username: 'admin', password: info.devices[0]?.password, workers: FANOUT, repeat: REPEAT };
      const { stdout } = await promisify(execFile)(PYTHON, [NETMIKO_BENCH, JSON.stringify(args)], { timeout: 600_000, maxBuffer: 10_000_000 });
      netmiko = JSON.parse(stdout) as typeof netmiko;
    }
    const nm = netmiko === undefined ? undefined : stats(netmiko.per_command_ms);
    const ratio = (a: number, b: number | undefined): string => (b === undefined ? 'n/a' : `${(b / a).toFixed(1)}x`);
    return [
      '## Network devices',
      '',
      `Simulator in its own process: ${DEVICES} IOS devices on 127.0.0.1, ${LATENCY_MS} ms latency per command. Ours: the built server over stdio, fan-out limit ${FANOUT}. netmiko 2.4 (Debian python3-netmiko, default timing; \`fast_cli=True\` loses the prompt at this latency): a ${FANOUT}-thread pool, connect + send_command + disconnect per device; then send_command repeated on one connection. Same run, same simulator.`,
      '',
      '| Measure | mcpcp network server | netmiko | netmiko / ours |',
      '|---|---|---|---|',
      `| show version on ${DEVICES} devices, cold (SSH login included) | ${fmt(cold)} | ${netmiko === undefined ? 'n/a' : fmt(netmiko.fanout_ms)} | ${ratio(cold, netmiko?.fanout_ms)} |`,
      `| show version on ${DEVICES} devices, warm (pooled sessions) | ${fmt(warm)} | (netmiko scripts reconnect) | ${ratio(warm, netmiko?.fanout_ms)} |`,
      `| per command on a pooled session, median (${REPEAT} runs) | ${fmt(ours.median)} | ${nm === undefined ? 'n/a' : fmt(nm.median)} | ${ratio(ours.median, nm?.median)} |`,
      `| per command on a pooled session, p95 | ${fmt(ours.p95)} | ${nm === undefined ? 'n/a' : fmt(nm.p95)} | ${ratio(ours.p95, nm?.p95)} |`,
      '',
      `Ours includes the MCP round trip (stdio, JSON-RPC) and the command check; the ${LATENCY_MS} ms device latency is the floor of every command.`,
    ].join('\n');
  } finally {
    child.stdin?.end();
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
