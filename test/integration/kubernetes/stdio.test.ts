// The built Kubernetes server (dist/servers/kubernetes.js) as the supervisor runs it: a child
// process speaking MCP over stdio with a minimal environment plus KUBECONFIG. Run `npm run build` first.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { startEmulator, writeKubeconfig, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';

const SERVER = resolve(__dirname, '../../../dist/servers/kubernetes.js');

let emulator: ApiServerEmulator;
let kubeconfig: string;
const home = mkdtempSync(join(tmpdir(), 'k8s-stdio-home-'));

before(async () => {
  assert.ok(existsSync(SERVER), `${SERVER} is missing: run \`npm run build\` first`);
  emulator = await startEmulator();
  kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]);
});
after(() => emulator?.close());

describe('kubernetes server over stdio (built)', () => {
  it('bundles client-node into a CommonJS program that lists its tools and reads the cluster', async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [SERVER],
      env: { PATH: process.env['PATH'] ?? '', HOME: home, KUBECONFIG: kubeconfig },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    const pid = transport.pid;
    try {
      const { tools } = await client.listTools();
      assert.equal(tools.length, 24);
      assert.deepEqual(tools.find((t) => t.name === 'resource_apply')?._meta, { 'mcpcp/preview': true, 'mcpcp/effect': true });
      const r = CallToolResultSchema.parse(await client.callTool({ name: 'resources_list', arguments: { resource: 'deploy' } }));
      assert.equal(r.isError, undefined);
      assert.match(r.content[0]?.type === 'text' ? r.content[0].text : '', /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\napi\s+2\/2/);
      const exec = CallToolResultSchema.parse(await client.callTool({ name: 'pods_exec', arguments: { pod: 'deployment/web', command: ['hostname'] } }));
      assert.match(exec.content[0]?.type === 'text' ? exec.content[0].text : '', /^Exit code 0 — .*\n--- stdout ---\nweb-/);
    } finally {
      const started = Date.now();
      await client.close();
      assert.ok(pid !== null);
      await waitExit(pid!, 3000);
      assert.ok(Date.now() - started < 3000);
    }
    assert.match(stderr.join(''), /mcpcp-kubernetes info ready on stdio/);
  });
});

async function waitExit(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) assert.fail(`server ${pid} still running after stdin closed`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
