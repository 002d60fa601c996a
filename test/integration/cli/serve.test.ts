import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { REPO_ROOT, firstText, fixtureScript, pidAlive, waitFor } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');

function startServe(args: string[], cwd: string, dataDir: string): { child: ChildProcess; firstLine: Promise<string>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--data-dir', dataDir], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, firstLine, stderr: () => err };
}

describe('mcpcp serve / status (headless)', () => {
  it('serves configured servers, prints the client configuration, reports status, stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-cli-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'roots: ["."]',
        'servers:',
        '  git: { enabled: false }',
        '  fx:',
        `    command: ${JSON.stringify(process.execPath)}`,
        `    args: [${JSON.stringify(fixtureScript('well-behaved'))}]`,
        '  slow:',
        `    command: ${JSON.stringify(process.execPath)}`,
        `    args: [${JSON.stringify(fixtureScript('slow-start'))}]`,
        '    env: { FIXTURE_START_DELAY_MS: "300" }',
        '',
      ].join('\n'),
    );
    const { child, firstLine, stderr } = startServe(['--config', config, '--print-client-config'], dir, dataDir);
    try {
      const printed = JSON.parse(await firstLine) as { servers: Record<string, { type: string; url: string; headers: { Authorization: string } }> };
      assert.deepEqual(Object.keys(printed.servers).sort(), ['fx', 'slow']);
      const fx = printed.servers['fx']!;
      assert.equal(fx.type, 'http');
      assert.match(fx.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp\/fx$/);
      assert.match(fx.headers.Authorization, /^Bearer [A-Za-z0-9_-]{43}$/);

      const client = new Client({ name: 'cli-test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'headless' } })), 'headless');
      await client.close();

      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      const instanceFiles = readdirSync(join(dataDir, 'instances'));
      assert.equal(instanceFiles.length, 1);
      assert.equal(statSync(join(dataDir, 'instances', instanceFiles[0]!)).mode & 0o777, 0o600);

      const statusRun = spawnSync(process.execPath, [CLI, 'status', '--json', '--data-dir', dataDir], { encoding: 'utf8' });
      assert.equal(statusRun.status, 0, statusRun.stderr);
      const status = JSON.parse(statusRun.stdout) as { instances: Array<{ pid: number; servers: Array<{ name: string; state: { kind: string; pid: number }; toolCount: number }> }> };
      assert.equal(status.instances.length, 1);
      assert.equal(status.instances[0]!.pid, child.pid);
      const servers = status.instances[0]!.servers;
      assert.deepEqual(servers.map((s) => [s.name, s.state.kind]).sort(), [['fx', 'running'], ['slow', 'running']]);
      const childPids = servers.map((s) => s.state.pid);
      const table = spawnSync(process.execPath, [CLI, 'status', '--data-dir', dataDir], { encoding: 'utf8' });
      assert.match(table.stdout, /SERVER\s+STATE\s+PID\s+RESTARTS\s+TOOLS/);
      assert.match(table.stdout, /fx\s+running · up \d+s\s+\d+\s+0\s+12/);

      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0, stderr());
      for (const pid of childPids) assert.equal(pidAlive(pid), false, `server pid ${pid} left behind`);
      assert.deepEqual(readdirSync(join(dataDir, 'instances')), []);
      assert.match(stderr(), /an approver credential was created; stderr is not a terminal, so it is not shown/);
      assert.ok(!/mcpcp_appr_/.test(stderr()), 'the credential never goes to a non-terminal stderr');

      // The audit trail of that run verifies; an edited record is the first broken link.
      const verify = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
      assert.equal(verify.status, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /^audit OK: \d+ records in 1 file\b/);
      const query = spawnSync(process.execPath, [CLI, 'audit', 'query', '--type', 'call.completed', '--data-dir', dataDir], { encoding: 'utf8' });
      const completed = query.stdout.trim().split('\n').map((l) => JSON.parse(l) as { tool: string; outcome: string; client: { name: string } });
      assert.deepEqual(completed.map((r) => [r.tool, r.outcome, r.client.name]), [['echo', 'ok', 'cli-test']]);
      const csv = spawnSync(process.execPath, [CLI, 'audit', 'export', '--format', 'csv', '--data-dir', dataDir], { encoding: 'utf8' });
      assert.match(csv.stdout.split('\n')[0]!, /^seq,|,type,/);
      const auditDir = join(dataDir, 'audit');
      const file = join(auditDir, readdirSync(auditDir).find((f) => f.endsWith('.jsonl'))!);
      const lines = readFileSync(file, 'utf8').split('\n');
      const edited = lines.findIndex((l, i) => i > 0 && l.includes('"server":"fx"'));
      assert.ok(edited > 0, 'a record of server fx to edit');
      lines[edited] = lines[edited]!.replace('"server":"fx"', '"server":"fy"');
      writeFileSync(file, lines.join('\n'));
      const broken = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
      assert.equal(broken.status, 1, broken.stdout + broken.stderr);
      assert.match(broken.stdout, new RegExp(`audit BROKEN: .*\\.jsonl:${edited + 1}: `));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('SIGINT (Ctrl-C) stops cleanly too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-cli-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `servers:\n  git: { enabled: false }\n  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }\n`);
    const { child, firstLine } = startServe(['--config', config, '--print-client-config'], dir, join(dir, 'data'));
    await firstLine;
    const status = spawnSync(process.execPath, [CLI, 'status', '--json', '--data-dir', join(dir, 'data')], { encoding: 'utf8' });
    const pid = (JSON.parse(status.stdout) as { instances: Array<{ servers: Array<{ state: { pid: number } }> }> }).instances[0]!.servers[0]!.state.pid;
    child.kill('SIGINT');
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
    await waitFor(() => !pidAlive(pid), 1_000, 'child gone');
  });

  it('a bad configuration file is a precise error (file, line, field), not a silent default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-cli-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'gateway:\n  port: 80000\nservers: {}\n');
    const run = spawnSync(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, 'data')], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, new RegExp(`${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: gateway\\.port: .*65535`));
    writeFileSync(config, 'servers:\n  fx:\n    comand: node\n');
    const typo = spawnSync(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, 'data')], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(typo.status, 1);
    assert.match(typo.stderr, /config\.yaml:3:5: servers\.fx: unknown field "comand"/);
    const usage = spawnSync(process.execPath, [CLI, 'serve', '--bogus'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /unknown option --bogus; known: --config <value>/);
  });
});

describe('mcpcp approvals (headless human approval)', () => {
  it('lists pending approvals with the approver credential; approving needs a terminal confirmation; the call then runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-cli-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `servers:\n  git: { enabled: false }\n  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }\n`);
    const { child, firstLine } = startServe(['--config', config, '--print-client-config'], dir, dataDir);
    try {
      const fx = (JSON.parse(await firstLine) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['fx']!;
      const rotate = spawnSync(process.execPath, [CLI, 'approver-credential', 'rotate', '--data-dir', dataDir], { encoding: 'utf8' });
      const credential = rotate.stdout.trim();
      assert.match(credential, /^mcpcp_appr_/);

      const client = new Client({ name: 'agent', version: '2' });
      await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
      const call = client.callTool({ name: 'delete_thing', arguments: { name: 'staging' } });
      call.catch(() => undefined); // awaited below; a failure before that must not go unhandled

      const env = { ...process.env, MCPCP_APPROVER_CREDENTIAL: credential };
      let listed = '';
      await waitFor(() => {
        listed = spawnSync(process.execPath, [CLI, 'approvals', 'list', '--data-dir', dataDir], { encoding: 'utf8', env }).stdout;
        return listed.includes('delete_thing on fx');
      }, 10_000, 'the pending approval');
      const id = /^(\S+)\s+delete_thing on fx/m.exec(listed)![1]!;
      assert.match(listed, /arguments \(flags first\):\n {4}name: "staging"\n/);
      assert.match(listed, /why: Tool "delete_thing" of server "fx" may change or delete things/);
      assert.match(listed, /preview: "fx" is a third-party server: its preview is not run or trusted/);

      // The client token is not an approver credential.
      const withClientToken = spawnSync(process.execPath, [CLI, 'approvals', 'list', '--data-dir', dataDir], { encoding: 'utf8', env: { ...env, MCPCP_APPROVER_CREDENTIAL: fx.headers['Authorization']!.slice(7) } });
      assert.equal(withClientToken.status, 1);

      // Piped input is no human: refused, nothing decided.
      const piped = spawnSync(process.execPath, [CLI, 'approvals', 'approve', id, '--data-dir', dataDir], { encoding: 'utf8', env, input: 'approve\n' });
      assert.equal(piped.status, 1);
      assert.match(piped.stderr, /needs an interactive confirmation on a terminal/);

      // On a terminal (script(1) gives it a pty), typing "approve" decides.
      const command = [process.execPath, CLI, 'approvals', 'approve', id, '--data-dir', dataDir].map((a) => `'${a}'`).join(' ');
      const tty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env, input: 'approve\n', timeout: 20_000 });
      assert.equal(tty.status, 0, tty.stdout + tty.stderr);
      assert.match(tty.stdout, new RegExp(`${id}: approved`));
      const result = await call;
      assert.equal(firstText(result), 'deleted staging; deleted so far: staging');
      await client.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
