// The built git server (dist/servers/git.js) as the supervisor runs it: a child process speaking
// MCP over stdio. Run `npm run build` first.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { cleanup, git, makeRepo, tempDir, write } from '../../unit/git/fixture';

const SERVER = resolve(__dirname, '../../../dist/servers/git.js');

let ws: string;
let repo: string;
let home: string;

before(() => {
  assert.ok(existsSync(SERVER), `${SERVER} is missing: run \`npm run build\` first`);
  ws = tempDir();
  home = tempDir('mcpcp-home-');
  repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n', 'src/main.ts': 'main\n' }]);
  write(repo, 'src/main.ts', 'main changed\n');
  write(repo, 'todo.txt', 'x\n');
  git(repo, 'add', 'todo.txt');
});
after(() => cleanup(ws, home));

async function start(env: Record<string, string> = {}) {
  const stderr: string[] = [];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER],
    env: { PATH: process.env['PATH'] ?? '', HOME: home, ...env },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const client = new Client({ name: 'stdio-test', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: pathToFileURL(ws).href, name: 'ws' }] }));
  await client.connect(transport);
  return { client, transport, stderr };
}

describe('git server over stdio (built)', () => {
  it('lists the git tools and reports the real state of the workspace', async () => {
    const { client } = await start();
    try {
      const { tools } = await client.listTools();
      assert.equal(tools.length, 31);
      assert.equal(tools.find((t) => t.name === 'reset')?.annotations?.destructiveHint, true);
      assert.deepEqual(tools.find((t) => t.name === 'reset')?._meta, { 'mcpcp/preview': true });
      const status = CallToolResultSchema.parse(await client.callTool({ name: 'repo_status', arguments: {} }));
      assert.equal(status.isError, undefined);
      assert.equal(status.structuredContent?.['repository'], repo);
      assert.deepEqual(status.structuredContent?.['staged'], [{ path: 'todo.txt', change: 'A' }]);
      assert.deepEqual(status.structuredContent?.['unstaged'], [{ path: 'src/main.ts', change: 'M' }]);
    } finally {
      await client.close();
    }
  });

  it('honours MCPCP_WORKSPACE_TRUSTED=0', async () => {
    const { client } = await start({ MCPCP_WORKSPACE_TRUSTED: '0' });
    try {
      const r = CallToolResultSchema.parse(await client.callTool({ name: 'repo_status', arguments: {} }));
      assert.equal(r.isError, true);
      assert.match(r.content[0]?.type === 'text' ? r.content[0].text : '', /workspace is not trusted/);
    } finally {
      await client.close();
    }
  });

  it('keeps stdout for the protocol and exits promptly when stdin closes', async () => {
    const { client, transport, stderr } = await start();
    const pid = transport.pid;
    assert.ok(pid !== null);
    const started = Date.now();
    await client.close(); // closes stdin, as the supervisor does
    await waitForExit(pid, 3_000);
    assert.ok(Date.now() - started < 3_000);
    assert.match(stderr.join(''), /mcpcp-git info ready on stdio/);
  });

  it('exits promptly on SIGTERM', async () => {
    const child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', HOME: home } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise<void>((r) => child.stderr.once('data', () => r()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3_000))]);
    assert.equal(code, 0);
    assert.equal(out, '', 'nothing but protocol on stdout');
  });
});

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
