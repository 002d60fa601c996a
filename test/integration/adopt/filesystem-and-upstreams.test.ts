// More real third-party servers adopted and run under the control plane:
// - server-filesystem from a Claude Desktop file, confined to one temporary folder (its argument
//   and the roots the control plane answers with), writes approved by a human;
// - server-everything's Streamable HTTP and SSE modes adopted as http and sse upstreams, connected
//   by the gateway itself and offered to clients as Streamable HTTP.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adoptServers, backupRoot, assessLocations, locationForFile, planAdoption, readMcpConfig } from '../../../src/core/adopt';
import { firstText, waitFor } from '../../helpers/fixture-plane';
import { serverBin, startAdoptPlane } from './harness';

async function adoptFile(t: Awaited<ReturnType<typeof startAdoptPlane>>, file: string): Promise<string[]> {
  const parsed = (await readMcpConfig(locationForFile(file, readFileSync(file, 'utf8'))))!;
  const plan = planAdoption(parsed, { existing: await t.own.read(), secretNames: await t.secrets.list(), move: false });
  const result = await adoptServers(plan, parsed, { secrets: t.secrets, servers: t.own, backupDir: backupRoot(t.dataDir), recorder: t.plane.oversight, promptInput: async () => undefined });
  return Object.keys(result.servers);
}

describe('server-filesystem adopted from Claude Desktop', () => {
  it('is confined to its folder: reads and approved writes inside, refusals outside', async () => {
    const allowed = realpathSync(mkdtempSync(join(tmpdir(), 'mcpcp-fs-allowed-')));
    const outside = realpathSync(mkdtempSync(join(tmpdir(), 'mcpcp-fs-outside-')));
    writeFileSync(join(allowed, 'notes.txt'), 'inside the fence\n');
    writeFileSync(join(outside, 'secret.txt'), 'outside the fence\n');
    const t = await startAdoptPlane({ roots: [allowed] });
    try {
      const file = join(t.project, 'claude_desktop_config.json');
      writeFileSync(file, JSON.stringify({ mcpServers: { filesystem: { command: 'node', args: [serverBin('server-filesystem'), allowed] } }, globalShortcut: '' }, null, 2));
      assert.deepEqual(await adoptFile(t, file), ['filesystem']);
      await t.plane.supervisor.get('filesystem')!.waitUntilServing(20_000);
      const client = await t.connect('filesystem');

      await waitFor(async () => firstText(await client.callTool({ name: 'list_allowed_directories', arguments: {} })).includes(allowed), 10_000, 'the allowed folder');
      const allowedList = firstText(await client.callTool({ name: 'list_allowed_directories', arguments: {} }));
      assert.ok(!allowedList.includes(outside));
      assert.match(firstText(await client.callTool({ name: 'read_text_file', arguments: { path: join(allowed, 'notes.txt') } })), /inside the fence/);

      const denied = await client.callTool({ name: 'read_text_file', arguments: { path: join(outside, 'secret.txt') } });
      assert.equal(denied.isError, true);
      assert.match(firstText(denied), /access denied|outside allowed/i);
      assert.doesNotMatch(firstText(denied), /outside the fence/);

      // write_file is destructive: a human approves it first.
      const writing = client.callTool({ name: 'write_file', arguments: { path: join(allowed, 'new.txt'), content: 'approved write\n' } });
      await waitFor(() => t.plane.oversight.store.list().length === 1, 10_000, 'the write approval');
      const approval = t.plane.oversight.store.list()[0]!;
      assert.deepEqual([approval.server, approval.tool], ['filesystem', 'write_file']);
      assert.equal(existsSync(join(allowed, 'new.txt')), false, 'nothing written before the decision');
      await t.plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      assert.equal((await writing).isError, undefined);
      assert.equal(readFileSync(join(allowed, 'new.txt'), 'utf8'), 'approved write\n');
    } finally {
      await t.stop();
    }
  });
});

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** server-everything in one of its HTTP modes, as a separate process on a loopback port. */
async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [serverBin('server-everything'), mode], { env: { PATH: process.env['PATH'] ?? '', PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
  await waitFor(() => /listening on port|running on port/i.test(err) || child.exitCode !== null, 15_000, `server-everything ${mode} to listen`);
  if (child.exitCode !== null) throw new Error(`server-everything ${mode} exited: ${err}`);
  return { port, child };
}

describe('server-everything over Streamable HTTP and SSE, adopted as upstreams', () => {
  it('connects both from the gateway itself and serves their tools as Streamable HTTP', async () => {
    const [http, sse] = await Promise.all([startEverything('streamableHttp'), startEverything('sse')]);
    const t = await startAdoptPlane({ rules: [{ server: ['everything-http', 'everything-sse'], decision: 'allow' }] });
    try {
      const file = join(t.project, '.mcp.json');
      writeFileSync(file, JSON.stringify({ mcpServers: {
        'everything-http': { type: 'http', url: `http://127.0.0.1:${http.port}/mcp`, headers: { Authorization: 'Bearer upstream_FAKE_0123456789abcdef' } },
        'everything-sse': { type: 'sse', url: `http://127.0.0.1:${sse.port}/sse` },
      } }, null, 2));
      const report = await assessLocations([locationForFile(file, readFileSync(file, 'utf8'))]);
      assert.equal(report.findings.filter((f) => f.rule === 'insecure-url').length, 0, 'loopback needs no TLS');
      assert.ok(report.findings.some((f) => f.rule === 'plaintext-secret' && f.location.pointer === '/mcpServers/everything-http/headers/Authorization'));

      assert.deepEqual(await adoptFile(t, file), ['everything-http', 'everything-sse']);
      assert.equal(await t.secrets.get('everything-http-authorization'), 'upstream_FAKE_0123456789abcdef');
      for (const name of ['everything-http', 'everything-sse']) {
        await t.plane.supervisor.get(name)!.waitUntilServing(20_000);
        const client = await t.connect(name);
        const echo = await client.callTool({ name: 'echo', arguments: { message: `via ${name}` } });
        assert.match(firstText(echo), new RegExp(`via ${name}`));
        assert.match(firstText(await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })), /5/);
      }
    } finally {
      await t.stop();
      http.child.kill();
      sse.child.kill();
    }
  });
});
