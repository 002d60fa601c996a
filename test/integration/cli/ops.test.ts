// Headless operations as an operator runs them: `mcpcp serve` and the commands as real child
// processes, over real loopback HTTP; a terminal is a real pty (script(1)).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AuditLog, defaultAuditKeyFile, fileAuditKeyStorage, loadOrCreateAuditKeyring } from '../../../src/core/audit';
import { Redactor } from '../../../src/core/redact';
import { REPO_ROOT, firstText, fixtureScript, pidAlive, waitFor } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `tty: true` gives it a terminal (script(1)) and types `input` into it. */
function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; tty?: boolean; cwd?: string } = {}): Promise<Run> {
  const argv = [process.execPath, CLI, ...args];
  const child = options.tty
    ? spawn('script', ['-qec', argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null'], { env: options.env ?? process.env, cwd: options.cwd })
    : spawn(argv[0]!, argv.slice(1), { env: options.env ?? process.env, cwd: options.cwd });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin!.end(options.input ?? '');
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

interface Served {
  child: ChildProcess;
  servers: Record<string, { url: string; headers: Record<string, string> }>;
  stderr: () => string;
}

async function serve(config: string, dataDir: string, cwd: string, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', ...(config ? ['--config', config] : []), '--data-dir', dataDir, '--print-client-config', ...extra], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, servers: (JSON.parse(line) as Served).servers, stderr: () => err };
}

async function stopServe(s: Served): Promise<void> {
  if (s.child.exitCode !== null) return;
  s.child.kill('SIGTERM');
  await new Promise((resolve) => s.child.once('exit', resolve));
}

function fixtureEntry(name: string, fixture: string, extra = ''): string {
  return `  ${name}: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript(fixture))}]${extra} }`;
}

interface StatusJson {
  status: string;
  instances: Array<{ pid: number; servers: Array<{ name: string; state: { kind: string; pid?: number } }> }>;
}

async function statusJson(dataDir: string, extra: string[] = []): Promise<{ code: number | null; body: StatusJson }> {
  const run = await runCli(['status', '--json', '--data-dir', dataDir, ...extra]);
  return { code: run.status, body: JSON.parse(run.stdout) as StatusJson };
}

function serverPid(body: StatusJson, name: string): number | undefined {
  return body.instances[0]?.servers.find((s) => s.name === name)?.state.pid;
}

async function connect(server: { url: string; headers: Record<string, string> }, name = 'ops-test'): Promise<Client> {
  const client = new Client({ name, version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: server.headers } }));
  return client;
}

describe('mcpcp status exit codes', () => {
  it('2 without an instance, 0 when every server runs, 1 degraded; --pid picks one of several; --watch exits with the last state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-ops-'));
    const dataDir = join(dir, 'data');
    const none = await runCli(['status', '--data-dir', dataDir]);
    assert.equal(none.status, 2, none.stderr);
    assert.match(none.stdout, /no running instance/);

    const good = join(dir, 'good.yaml');
    writeFileSync(good, ['servers:', '  git: { enabled: false }', fixtureEntry('fx', 'well-behaved'), ''].join('\n'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, ['servers:', '  git: { enabled: false }', fixtureEntry('fx', 'well-behaved'), fixtureEntry('broken', 'exit-at-start', ', retries: 1'), ''].join('\n'));

    const healthy = await serve(good, dataDir, dir);
    try {
      const ok = await runCli(['status', '--data-dir', dataDir]);
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /healthy: every enabled server is running/);
      assert.equal((await statusJson(dataDir)).body.status, 'healthy');

      const degraded = await serve(bad, dataDir, dir);
      try {
        await waitFor(async () => (await statusJson(dataDir, ['--pid', String(degraded.child.pid)])).body.instances[0]?.servers.some((s) => s.state.kind === 'crash-looping') ?? false, 15_000, 'broken crash-looping');
        const one = await runCli(['status', '--data-dir', dataDir, '--pid', String(degraded.child.pid)]);
        assert.equal(one.status, 1, one.stdout);
        // The cause is the child's own last stderr line, or the handshake failure when that line lost the race.
        assert.match(one.stdout, /degraded: broken is crash-looping \(.*(fatal: missing configuration|exit code 3)/);
        assert.equal((await runCli(['status', '--data-dir', dataDir, '--pid', String(healthy.child.pid)])).status, 0);

        // Both: the worst code, and a note naming the instances.
        const both = await runCli(['status', '--data-dir', dataDir]);
        assert.equal(both.status, 1);
        assert.match(both.stderr, new RegExp(`2 instances are running \\(pids ${healthy.child.pid}, ${degraded.child.pid}\\).*choose one with --pid`));
        assert.equal((await runCli(['status', '--data-dir', dataDir, '--pid', '999999999'])).status, 2);

        // A command that acts on one instance refuses to guess.
        const ambiguous = await runCli(['server', 'restart', 'fx', '--data-dir', dataDir], { env: { ...process.env, MCPCP_APPROVER_CREDENTIAL: 'mcpcp_appr_x' } });
        assert.equal(ambiguous.status, 2);
        assert.match(ambiguous.stderr, new RegExp(`2 instances are running \\(pids ${healthy.child.pid}, ${degraded.child.pid}\\): choose one with --pid`));

        // --watch renders until Ctrl-C, then exits with the last state's code.
        const watch = spawn(process.execPath, [CLI, 'status', '--watch', '--interval', '0.2', '--pid', String(degraded.child.pid), '--data-dir', dataDir]);
        children.push(watch);
        let out = '';
        watch.stdout.on('data', (c: Buffer) => (out += c.toString()));
        await waitFor(() => (out.match(/degraded: broken/g) ?? []).length >= 2, 10_000, 'two renders');
        watch.kill('SIGINT');
        const code = await new Promise<number | null>((resolve) => watch.once('exit', (c) => resolve(c)));
        assert.equal(code, 1);
      } finally {
        await stopServe(degraded);
      }
      assert.equal((await runCli(['status', '--data-dir', dataDir])).status, 0);
    } finally {
      await stopServe(healthy);
    }
    assert.equal((await runCli(['status', '--data-dir', dataDir])).status, 2);
  });

  it('`mcpcp audit export | head -1` ends quietly when head goes away (EPIPE)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-ops-'));
    const dataDir = join(dir, 'data');
    const log = await AuditLog.open({ dir: join(dataDir, 'audit'), instanceId: 'cli-1', redactor: new Redactor(), keys: await loadOrCreateAuditKeyring(fileAuditKeyStorage(defaultAuditKeyFile(dataDir))), fsync: false });
    for (let i = 0; i < 3000; i++) void log.append({ type: 'server.started', server: `server-${i}`, detail: { pid: i, restarts: 0, tools: 3 } });
    await log.close();
    for (const format of ['jsonl', 'csv']) {
      const script = `'${process.execPath}' '${CLI}' audit export --format ${format} --data-dir '${dataDir}' | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`;
      const run = await new Promise<Run>((resolve) => {
        const child = spawn('bash', ['-c', script]);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.once('close', (status) => resolve({ status, stdout, stderr }));
      });
      assert.equal(run.stdout.split('\n').filter(Boolean).length, 1);
      assert.equal(run.stderr.trim(), 'exit=0', `${format}: ${run.stderr}`);
    }
  });
});

describe('mcpcp server start|stop|restart and reload (approver credential on a terminal)', () => {
  it('refuses the client token and piped input (the server keeps running), then stops, starts and restarts by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-ops-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, ['servers:', '  git: { enabled: false }', fixtureEntry('fx', 'well-behaved'), ''].join('\n'));
    const s = await serve(config, dataDir, dir);
    try {
      const credential = (await runCli(['approver-credential', 'rotate', '--data-dir', dataDir])).stdout.trim();
      const token = s.servers['fx']!.headers['Authorization']!.slice('Bearer '.length);
      const pid0 = serverPid((await statusJson(dataDir)).body, 'fx')!;
      assert.ok(pidAlive(pid0));

      // The attack: an agent holding the client token tries to stop the server that guards it.
      const port = new URL(s.servers['fx']!.url).port;
      const attempts: Array<Record<string, string>> = [{ authorization: `Bearer ${token}` }, { 'x-approver-credential': token }, {}];
      for (const headers of attempts) {
        const res = await fetch(`http://127.0.0.1:${port}/control/servers/fx/stop`, { method: 'POST', headers });
        assert.equal(res.status, 401, JSON.stringify(headers));
      }
      const reloadAttack = await fetch(`http://127.0.0.1:${port}/control/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(reloadAttack.status, 401);
      const withToken = await runCli(['server', 'stop', 'fx', '--data-dir', dataDir], { env: { ...process.env, MCPCP_APPROVER_CREDENTIAL: token }, tty: true, input: 'stop\n' });
      assert.equal(withToken.status, 1);
      assert.match(withToken.stdout, /wrong approver credential \(the client token of an MCP client does not work here\)/);
      const env = { ...process.env, MCPCP_APPROVER_CREDENTIAL: credential };
      const piped = await runCli(['server', 'stop', 'fx', '--data-dir', dataDir], { env, input: 'stop\n' });
      assert.equal(piped.status, 1);
      assert.match(piped.stderr, /stop needs an interactive confirmation on a terminal/);
      const noCredential = await runCli(['server', 'stop', 'fx', '--data-dir', dataDir], { env: { ...process.env, MCPCP_APPROVER_CREDENTIAL: '' }, input: 'stop\n' });
      assert.equal(noCredential.status, 1);
      assert.match(noCredential.stderr, /set MCPCP_APPROVER_CREDENTIAL or run on a terminal/);
      const notConfirmed = await runCli(['server', 'stop', 'fx', '--data-dir', dataDir], { env, tty: true, input: 'no\n' });
      assert.equal(notConfirmed.status, 1);
      // The witness: the same child still runs and serves.
      assert.equal(serverPid((await statusJson(dataDir)).body, 'fx'), pid0);
      assert.ok(pidAlive(pid0));

      const unknown = await runCli(['server', 'stop', 'nope', '--data-dir', dataDir], { env, tty: true, input: 'stop\n' });
      assert.equal(unknown.status, 1);
      assert.match(unknown.stdout, /no server named "nope".*known: fx/);

      const stop = await runCli(['server', 'stop', 'fx', '--data-dir', dataDir], { env, tty: true, input: 'stop\n' });
      assert.equal(stop.status, 0, stop.stdout + stop.stderr);
      assert.match(stop.stdout, /fx: stopped/);
      await waitFor(() => !pidAlive(pid0), 5_000, 'fx child gone');
      const stopped = await statusJson(dataDir);
      assert.equal(stopped.code, 1);
      assert.equal(stopped.body.instances[0]!.servers[0]!.state.kind, 'stopped');
      // The audit log says who stopped it.
      let audited = '';
      await waitFor(async () => {
        audited = (await runCli(['audit', 'query', '--type', 'config.changed', '--data-dir', dataDir])).stdout;
        return audited.includes('operator: stop fx');
      }, 5_000, 'the operator record');
      assert.match(audited, /"reason":"operator: stop fx \(approver credential\)"/);

      const start = await runCli(['server', 'start', 'fx', '--data-dir', dataDir], { env, tty: true, input: 'start\n' });
      assert.equal(start.status, 0, start.stdout);
      await waitFor(async () => (await statusJson(dataDir)).code === 0, 10_000, 'fx running again');
      const pid1 = serverPid((await statusJson(dataDir)).body, 'fx')!;
      assert.notEqual(pid1, pid0);

      const restart = await runCli(['server', 'restart', 'fx', '--data-dir', dataDir], { env, tty: true, input: 'restart\n' });
      assert.equal(restart.status, 0, restart.stdout);
      await waitFor(async () => (await statusJson(dataDir)).code === 0, 10_000, 'fx running after restart');
      assert.ok(!pidAlive(pid1));
      const client = await connect(s.servers['fx']!);
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'back' } })), 'back');
      await client.close();
      assert.match(s.stderr(), /fx: stop requested with the approver credential/);
    } finally {
      await stopServe(s);
    }
  });

  it('reload under load fails no call on unchanged servers; a changed server restarts and ends its call with the stop error; an invalid file changes nothing; SIGHUP reloads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-ops-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    const write = (variant: string, extra: string[] = [], head: string[] = []): void =>
      writeFileSync(config, [...head, 'servers:', '  git: { enabled: false }', fixtureEntry('steady', 'well-behaved'), fixtureEntry('changing', 'well-behaved', `, env: { FIXTURE_VARIANT: "${variant}" }`), ...extra, ''].join('\n'));
    write('a');
    const s = await serve(config, dataDir, dir);
    try {
      const credential = (await runCli(['approver-credential', 'rotate', '--data-dir', dataDir])).stdout.trim();
      const env = { ...process.env, MCPCP_APPROVER_CREDENTIAL: credential };
      const before = (await statusJson(dataDir)).body;
      const steadyPid = serverPid(before, 'steady')!;

      const clients = await Promise.all([0, 1, 2, 3].map((i) => connect(s.servers['steady']!, `load-${i}`)));
      const changing = await connect(s.servers['changing']!);
      const inFlight = changing.callTool({ name: 'slow', arguments: { ms: 20_000, steps: 1 } }, undefined, { timeout: 60_000 }) as Promise<CallToolResult>;
      let running = true;
      const results = { ok: 0, failed: [] as string[] };
      const load = clients.map(async (c, i) => {
        for (let n = 0; running && n < 5_000; n++) {
          try {
            const r = (await c.callTool({ name: 'echo', arguments: { text: `${i}-${n}` } })) as CallToolResult;
            if (r.isError || firstText(r) !== `${i}-${n}`) results.failed.push(firstText(r));
            else results.ok++;
          } catch (err) {
            results.failed.push(String(err));
          }
        }
      });
      await waitFor(() => results.ok >= 20, 10_000, 'load running');

      write('b', [fixtureEntry('added', 'well-behaved')]);
      const reload = await runCli(['reload', '--data-dir', dataDir], { env, tty: true, input: 'reload\n' });
      assert.equal(reload.status, 0, reload.stdout + reload.stderr);
      assert.match(reload.stdout, /started added; restarted changing \(definition changed\); unchanged: steady/);
      const stopped = await inFlight;
      assert.equal(stopped.isError, true);
      assert.match(firstText(stopped), /Server "changing" stopped while handling this call/);
      const okAtReload = results.ok;
      await waitFor(() => results.ok >= okAtReload + 20, 10_000, 'load after the reload');
      running = false;
      await Promise.all(load);
      assert.deepEqual(results.failed, [], 'no call on the unchanged server failed');
      assert.ok(results.ok > 40, `calls made: ${results.ok}`);
      await waitFor(async () => (await statusJson(dataDir)).code === 0, 10_000, 'all running after reload');
      const afterReload = (await statusJson(dataDir)).body;
      assert.equal(serverPid(afterReload, 'steady'), steadyPid, 'the unchanged server kept its child');
      assert.deepEqual(afterReload.instances[0]!.servers.map((x) => x.name).sort(), ['added', 'changing', 'steady']);
      for (const c of [...clients, changing]) await c.close();

      // An invalid file: the running configuration stays, and the refusal says where and why.
      writeFileSync(config, 'servers:\n  steady:\n    comand: node\n');
      const invalid = await runCli(['reload', '--data-dir', dataDir], { env, tty: true, input: 'reload\n' });
      assert.equal(invalid.status, 1);
      assert.match(invalid.stdout, /config\.yaml:3:5: servers\.steady: unknown field "comand"/);
      s.child.kill('SIGHUP');
      await waitFor(() => /reload refused, the running configuration stays: .*unknown field "comand"/.test(s.stderr()), 5_000, 'SIGHUP refusal logged');
      assert.equal(s.child.exitCode, null, 'SIGHUP no longer stops serve');
      const still = await statusJson(dataDir);
      assert.equal(still.code, 0);
      assert.equal(serverPid(still.body, 'steady'), steadyPid);

      // SIGHUP applies a valid file: "added" is gone again; a new gateway port waits for a restart.
      write('b', [], ['gateway: { port: 1 }']);
      s.child.kill('SIGHUP');
      await waitFor(async () => (await statusJson(dataDir)).body.instances[0]!.servers.length === 2, 10_000, 'SIGHUP reload');
      assert.match(s.stderr(), /stopped added \(no longer configured\); unchanged: steady, changing; gateway changed: applies at the next start/);
    } finally {
      await stopServe(s);
    }
  });

  it('a reload never drops workspace policy rules: a rule removed from .mcpcp/config.yaml, and .mcpcp/policy.yaml, stay in force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-ops-'));
    const dataDir = join(dir, 'data');
    mkdirSync(join(dir, '.mcpcp'));
    const config = join(dir, '.mcpcp', 'config.yaml');
    const rule = '    - { server: fx, tool: noop, decision: deny, reason: "no noop here" }';
    writeFileSync(config, ['roots: ["."]', 'policy:', '  rules:', rule, 'servers:', '  git: { enabled: false }', fixtureEntry('fx', 'well-behaved'), ''].join('\n'));
    writeFileSync(join(dir, '.mcpcp', 'policy.yaml'), 'rules:\n  - { server: fx, tool: log, decision: deny, reason: "no logs here" }\n');
    const s = await serve('', dataDir, dir); // found in the current directory: the workspace layer
    try {
      const credential = (await runCli(['approver-credential', 'rotate', '--data-dir', dataDir])).stdout.trim();
      // The workspace's server is a proposal: a human consents to it first (approver credential, terminal).
      const listed = JSON.parse((await runCli(['consent', 'list', '--json', '--data-dir', dataDir])).stdout) as { waiting: Array<{ id: string; name: string }> };
      const id = listed.waiting.find((p) => p.name === 'fx')?.id;
      assert.ok(id, JSON.stringify(listed));
      const granted = await runCli(['consent', 'grant', id, '--data-dir', dataDir], { env: { ...process.env, MCPCP_APPROVER_CREDENTIAL: credential }, tty: true, input: 'grant\n', cwd: dir });
      assert.equal(granted.status, 0, granted.stdout + granted.stderr);
      await waitFor(async () => (await statusJson(dataDir)).body.instances[0]?.servers.some((x) => x.name === 'fx' && x.state.kind === 'running') ?? false, 20_000, 'fx running after consent');
      const client = await connect(s.servers['fx']!);
      const denied = async (tool: string, args: Record<string, unknown> = {}): Promise<string> => {
        const r = (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
        return r.isError ? firstText(r) : 'ran';
      };
      assert.match(await denied('noop'), /no noop here/);
      assert.match(await denied('log', { text: 'x' }), /no logs here/);
      // The repository's config drops its rule and tries to switch to an allow-all.
      writeFileSync(config, ['roots: ["."]', 'policy:', '  rules:', '    - { server: fx, decision: allow }', 'servers:', '  git: { enabled: false }', fixtureEntry('fx', 'well-behaved'), ''].join('\n'));
      const reload = await runCli(['reload', '--data-dir', dataDir], { env: { ...process.env, MCPCP_APPROVER_CREDENTIAL: credential }, tty: true, input: 'reload\n', cwd: dir });
      assert.equal(reload.status, 0, reload.stdout + reload.stderr);
      assert.match(await denied('noop'), /no noop here/);
      assert.match(await denied('log', { text: 'x' }), /no logs here/);
      assert.equal(await denied('echo', { text: 'y' }), 'ran');
      assert.match(s.stderr(), /1 new allow rule of .*config\.yaml takes effect at the next start/);
      await client.close();
    } finally {
      await stopServe(s);
    }
  });
});
