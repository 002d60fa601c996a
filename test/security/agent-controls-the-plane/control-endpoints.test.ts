// Threat: an agent holding the client token (what every MCP client has) stops, restarts or
// reloads the control plane's servers, or reloads a configuration it just wrote, to get around
// the policy and approvals that guard it. The witness is the server's child process: its pid
// stays the same and alive after every attempt, and changes when the approver credential is used.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { REPO_ROOT, fixtureScript, pidAlive, waitFor } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');

function fxPid(dataDir: string): number | undefined {
  const run = spawnSync(process.execPath, [CLI, 'status', '--json', '--data-dir', dataDir], { encoding: 'utf8' });
  const body = JSON.parse(run.stdout) as { instances: Array<{ servers: Array<{ name: string; state: { kind: string; pid?: number } }> }> };
  const fx = body.instances[0]?.servers.find((s) => s.name === 'fx');
  return fx?.state.kind === 'running' ? fx.state.pid : undefined;
}

describe('threat: an agent with the client token controls the control plane', () => {
  it('the client token, a forged header, a cross-site request and guessing never reach /control; the approver credential does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-sec-control-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    const entry = `  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }`;
    writeFileSync(config, ['policy:', '  rules:', '    - { server: fx, tool: delete_thing, decision: deny }', 'servers:', '  git: { enabled: false }', entry, ''].join('\n'));
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', dataDir, '--print-client-config'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      const fx = (JSON.parse(line) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['fx']!;
      const base = new URL(fx.url).origin;
      const token = fx.headers['Authorization']!.slice('Bearer '.length);
      const credential = spawnSync(process.execPath, [CLI, 'approver-credential', 'rotate', '--data-dir', dataDir], { encoding: 'utf8' }).stdout.trim();
      const pid0 = fxPid(dataDir)!;
      assert.ok(pid0 && pidAlive(pid0));

      // The agent loosens the configuration it can write, then asks for a reload and a restart.
      writeFileSync(config, ['servers:', '  git: { enabled: false }', entry, ''].join('\n'));
      const attempts: Array<{ path: string; headers: Record<string, string> }> = [];
      for (const path of ['reload', 'servers/fx/stop', 'servers/fx/restart']) {
        attempts.push({ path, headers: { authorization: `Bearer ${token}` } });
        attempts.push({ path, headers: { 'x-approver-credential': token } });
        attempts.push({ path, headers: { authorization: `Bearer ${token}`, 'x-approver-credential': `mcpcp_appr_${token}` } });
      }
      for (const a of attempts) {
        const res = await fetch(`${base}/control/${a.path}`, { method: 'POST', headers: a.headers });
        assert.equal(res.status, 401, `${a.path} ${JSON.stringify(Object.keys(a.headers))}`);
      }
      // A web page in the user's browser cannot send it either (cross-site, even with the credential).
      const crossSite = await fetch(`${base}/control/servers/fx/stop`, { method: 'POST', headers: { origin: 'https://evil.example', 'x-approver-credential': credential } });
      assert.equal(crossSite.status, 403);
      // Guessing is slowed: after 10 wrong credentials the answers to wrong ones are held (per
      // source), while the right credential is never delayed or locked out.
      let slowest = 0;
      for (let i = 0; i < 12; i++) {
        const started = Date.now();
        const res = await fetch(`${base}/control/reload`, { method: 'POST', headers: { 'x-approver-credential': `mcpcp_appr_guess${i}` } });
        assert.ok(res.status === 401 || res.status === 429, `a wrong credential is refused (${res.status})`);
        if (i >= 10) slowest = Math.max(slowest, Date.now() - started);
      }
      assert.ok(slowest >= 400, `wrong credentials beyond 10 are slowed (${slowest} ms)`);
      const rightStarted = Date.now();
      // (on a server that does not exist: the credential passes — 404, not 401/429 — and nothing
      // changes, so the witness below holds)
      const right = await fetch(`${base}/control/servers/no-such-server/restart`, { method: 'POST', headers: { 'x-approver-credential': credential } });
      assert.equal(right.status, 404, await right.text());
      assert.ok(Date.now() - rightStarted < 5_000, 'the right credential is not held');

      // Witness: the same child, and the policy the agent tried to remove still denies.
      assert.equal(fxPid(dataDir), pid0);
      assert.ok(pidAlive(pid0));
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
      const denied = (await client.callTool({ name: 'delete_thing', arguments: { name: 'prod' } })) as { isError?: boolean; content: Array<{ text: string }> };
      assert.equal(denied.isError, true);
      assert.match(denied.content[0]!.text, /Denied by policy/);
      await client.close();

      // The witness can change: a new serve (no throttle history) with the approver credential restarts fx.
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      const again = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', dataDir, '--print-client-config'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const line2 = await new Promise<string>((resolve) => createInterface({ input: again.stdout }).once('line', resolve));
        const base2 = new URL((JSON.parse(line2) as { servers: Record<string, { url: string }> }).servers['fx']!.url).origin;
        const pid1 = fxPid(dataDir)!;
        const res = await fetch(`${base2}/control/servers/fx/restart`, { method: 'POST', headers: { 'x-approver-credential': credential } });
        assert.equal(res.status, 200, await res.clone().text());
        await waitFor(() => !pidAlive(pid1) && fxPid(dataDir) !== undefined, 10_000, 'fx restarted');
        assert.notEqual(fxPid(dataDir), pid1);
      } finally {
        again.kill('SIGTERM');
        await new Promise((resolve) => again.once('exit', resolve));
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
