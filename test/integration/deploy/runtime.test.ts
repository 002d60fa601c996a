/**
 * `npm run build:runtime` makes a folder the service runs from with nothing else: built into a
 * temporary directory (no repository, no node_modules above it), started with Node as `nobody`,
 * it answers /healthz and /readyz and serves MCP (initialize, tools/list, a tool call) on loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../helpers/fixture-plane';
import { startEmulator, writeKubeconfig, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';

const asRoot = process.getuid?.() === 0;
const skip = asRoot && spawnSync('runuser', ['--help']).error ? 'running as root without runuser' : false;
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p)) ?? 'runuser';
const TOKEN = 'runtime-test-client-token-0123456789abcdef';

describe('the runtime folder (npm run build:runtime)', { skip }, () => {
  let dir: string;
  let runtime: string;
  let emulator: ApiServerEmulator;
  let child: ChildProcess;
  let port = 0;
  let stderr = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcpcp-runtime-'));
    runtime = join(dir, 'app');
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-runtime.mjs'), '--out', runtime], { cwd: REPO_ROOT, stdio: 'pipe' });
    emulator = await startEmulator();
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(writeKubeconfig([{ name: 'emulator', emulator, namespace: 'shop' }])));
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(
      join(dir, 'config.yaml'),
      stringify({ gateway: { port: 0 }, servers: { git: { enabled: false }, network: { enabled: false }, kubernetes: { enabled: true } } }),
    );
    // The image brings its own Node: copy this one next to the folder, so the run needs nothing
    // from the checkout (whose path may not be readable by another user, e.g. a 0700 temp clone).
    const node = join(dir, 'bin', 'node');
    mkdirSync(dirname(node));
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
    if (asRoot) execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
    const argv = [join(runtime, 'cli.js'), 'serve', '--config', join(dir, 'config.yaml'), '--data-dir', data];
    // A minimal environment, as a container has: no repository path anywhere in it.
    const env = { PATH: `${dirname(node)}:/usr/bin:/bin`, HOME: data, TMPDIR: dir, KUBECONFIG: kubeconfig, MCPCP_CLIENT_TOKEN: TOKEN };
    child = asRoot ? spawn(RUNUSER, ['-u', 'nobody', '--', node, ...argv], { cwd: dir, env }) : spawn(node, argv, { cwd: dir, env });
    child.stderr!.on('data', (c: Buffer) => void (stderr += c.toString('utf8')));
    child.on('error', (err) => void (stderr += `spawn failed: ${err.message}`));
    const deadline = Date.now() + 30_000;
    while (port === 0 && Date.now() < deadline) {
      const m = /gateway on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(port > 0, `the service did not start: ${stderr}`);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds only the bundles, the UI assets and a package.json without dependencies', () => {
    const files = (readdirSync(runtime, { recursive: true }) as string[]).sort();
    assert.deepEqual(files, ['LICENSE', 'cli.js', 'media', 'media/main.css', 'media/main.js', 'package.json', 'servers', 'servers/git.js', 'servers/kubernetes.js', 'servers/network.js']);
    const pkg = JSON.parse(readFileSync(join(runtime, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(pkg['dependencies'], undefined);
    assert.equal(pkg['devDependencies'], undefined);
    // Nothing above the folder to resolve modules from.
    assert.ok(!existsSync(join(dir, 'node_modules')) && !existsSync(join(dirname(dir), 'node_modules')));
  });

  it('runs as a non-root user', async () => {
    const instances = readdirSync(join(dir, 'data', 'instances')).filter((f) => f.endsWith('.json'));
    assert.equal(instances.length, 1);
    const { pid } = JSON.parse(readFileSync(join(dir, 'data', 'instances', instances[0]!), 'utf8')) as { pid: number };
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    if (asRoot) assert.equal(uid, 65534, 'nobody');
    else assert.notEqual(uid, 0);
    // Its children (the Kubernetes server) too.
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    assert.ok(children.length >= 1, 'the kubernetes server runs');
    for (const c of children) assert.equal(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${c}/status`, 'utf8'))![1]), uid);
  });

  it('answers /healthz and /readyz without a token', async () => {
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await fetch(`${base}/readyz`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200, stderr);
  });

  it('serves MCP on loopback: initialize, tools/list, and a call that reaches the cluster', async () => {
    const client = new Client({ name: 'runtime-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp/kubernetes`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of ['resources_list', 'resource_get', 'resource_apply', 'contexts_list']) assert.ok(names.includes(name), names.join(', '));
      const result = await client.callTool({ name: 'resources_list', arguments: { resource: 'deployments', namespace: 'shop' } });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      const text = (result.content as { type: string; text: string }[])[0]!.text;
      assert.match(text, /\bweb\b/);
      assert.match(text, /\bapi\b/);
    } finally {
      await client.close();
    }
  });
});
