#!/usr/bin/env node
// Runs an extension's mocha suite inside a real VS Code: code-server (VS Code's server and
// workbench, from the npm registry) on 127.0.0.1, its workbench opened in headless Debian
// Chromium driven by playwright-core, the extension loaded as under development and the suite
// run by VS Code's own extension-test support (the `extensionTestsPath` contract of
// @vscode/test-electron). See docs/testing-vscode.md.
//
// Usage: node test/vscode/run.mjs [options]
//   --extension <dir>      extension to load (default: the repository root)
//   --tests <file>         run() module (default: test/vscode/suite/index.js)
//   --workspace <dir>      folder to open (default: a fresh git repository made from
//                          test/vscode/workspace-fixture/)
//   --self-test            load the harness's probe extension and suite (test/vscode/self-test/)
//   --grep <pattern>       run only tests whose full title matches
//   --timeout <seconds>    limit for the run, after the one-time install (default 480)
//   --fixtures <list>      test fixtures to start before VS Code, comma-separated, or none:
//                          kubernetes (API emulator; its kubeconfig in the fresh HOME), network
//                          (device simulator; .mcpcp/inventory.yaml in the generated workspace),
//                          team (mcpcp serve in team mode with PostgreSQL and the OIDC issuer).
//                          Default: kubernetes,network,team; kubernetes with --workspace; none with
//                          --self-test. Suites whose fixture is absent skip their tests.
//   --code-server <dir>    an installed code-server (default: scripts/install-code-server.sh,
//                          which installs it once into ~/.cache/mcpcp/)
//   --untrusted            open the workspace untrusted (workspace trust on, no prompt): Restricted
//                          Mode, for the suite's restricted-mode spec (--grep 'Restricted Mode')
//   --results <dir>        where logs, screenshots and results go (default test-results/vscode)
//   --keep                 keep the temporary folder (logs, profile, workspace)
//   --verbose              print the workbench's console and code-server's output as they come
//   --help                 this text
// Exit code 0 only when the suite ran and every test passed. The last line is `N passed, N failed`.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FIXTURE_NAMES, startFixtures } from './lib/fixture-processes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`[test:vscode ${elapsed()}] ${msg}`);

const { values: opts } = parseArgs({
  options: {
    extension: { type: 'string' },
    tests: { type: 'string' },
    workspace: { type: 'string' },
    'self-test': { type: 'boolean', default: false },
    grep: { type: 'string' },
    fixtures: { type: 'string' },
    timeout: { type: 'string', default: '480' },
    'code-server': { type: 'string' },
    keep: { type: 'boolean', default: false },
    untrusted: { type: 'boolean', default: false },
    results: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (opts.help) {
  // The usage is the comment at the top of this file.
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const from = lines.findIndex((l) => l.startsWith('// Usage:'));
  console.log(lines.slice(from, lines.findIndex((l, i) => i > from && !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}

const selfTest = opts['self-test'];
const extensionPath = resolve(opts.extension ?? (selfTest ? join(here, 'self-test/extension') : repoRoot));
const testsPath = resolve(opts.tests ?? (selfTest ? join(here, 'self-test/suite/index.js') : join(here, 'suite/index.js')));
const timeoutMs = Number(opts.timeout) * 1000;
let runStarted = started;

/** Everything to undo at the end, newest first. */
const cleanups = [];
let finishing = false;

async function finish(code, summary) {
  if (finishing) return;
  finishing = true;
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`[test:vscode] cleanup: ${err?.message ?? err}`);
    }
  }
  console.log(summary);
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    void finish(130, '0 passed, 1 failed');
  });
}

function installCodeServer() {
  if (opts['code-server']) return resolve(opts['code-server']);
  const r = spawnSync('bash', [join(repoRoot, 'scripts/install-code-server.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('CODE_SERVER_HOME='));
  if (r.status !== 0 || !line) throw new Error(`scripts/install-code-server.sh failed (exit ${r.status})`);
  return line.slice('CODE_SERVER_HOME='.length);
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function git(cwd, ...args) {
  const r = spawnSync('git', ['-c', 'user.name=mcpcp test', '-c', 'user.email=test@mcpcp.invalid', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** `--fixtures`: names from FIXTURE_NAMES, or none. */
function parseFixtures(value) {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n && n !== 'none');
  const unknown = names.filter((n) => !FIXTURE_NAMES.includes(n));
  if (unknown.length) throw new Error(`--fixtures: unknown ${unknown.join(', ')} (known: ${FIXTURE_NAMES.join(', ')}, none)`);
  if (names.includes('network') && opts.workspace) throw new Error('--fixtures network writes .mcpcp/inventory.yaml into the generated workspace: not with --workspace');
  return names;
}

/** The fixture folder, copied; `commitWorkspace` makes it a repository once fixtures added their files. */
function copyWorkspace(dir) {
  cpSync(join(here, 'workspace-fixture'), dir, { recursive: true });
}

/** A fresh git repository with one commit of everything in `dir` (the inventory included). */
function commitWorkspace(dir) {
  git(dir, 'init', '--quiet');
  git(dir, 'add', '-A');
  git(dir, 'commit', '--quiet', '-m', 'Initial commit of the test workspace');
}

/** pids of `root` and all its descendants, read from /proc (Linux). */
function processTree(root) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift();
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends code-server and everything below it: its process group, plus descendants that made their
 * own group (the extension may start MCP servers detached). SIGTERM, then SIGKILL after 5 s.
 */
async function killTree(pid) {
  const pids = new Set(processTree(pid));
  const signalAll = (sig) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // group gone
    }
    for (const p of processTree(pid)) pids.add(p);
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // already gone
      }
    }
  };
  signalAll('SIGTERM');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && [...pids].some(alive)) await new Promise((r) => setTimeout(r, 100));
  if ([...pids].some(alive)) signalAll('SIGKILL');
}

function readResults(base) {
  const text = existsSync(`${base}.log`) ? readFileSync(`${base}.log`, 'utf8') : '';
  let json;
  try {
    json = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
  } catch {
    json = undefined;
  }
  return { text, json };
}

async function main() {
  if (!existsSync(join(extensionPath, 'package.json'))) throw new Error(`no extension at ${extensionPath}`);
  const manifest = JSON.parse(readFileSync(join(extensionPath, 'package.json'), 'utf8'));
  if (manifest.main && !existsSync(resolve(extensionPath, manifest.main)) && !existsSync(resolve(extensionPath, `${manifest.main}.js`))) {
    log(`warning: ${manifest.main} does not exist in ${extensionPath}; the extension will fail to activate`);
  }
  if (!existsSync(testsPath)) throw new Error(`no tests module at ${testsPath}`);

  const fixtureNames = parseFixtures(opts.fixtures ?? (selfTest ? 'none' : opts.workspace ? 'kubernetes' : FIXTURE_NAMES.join(',')));
  const codeServerHome = installCodeServer();
  // The time limit covers the run, not the one-time install above.
  runStarted = Date.now();
  const overall = setTimeout(() => {
    log(`timed out after ${opts.timeout}s (harness)`);
    void finish(1, '0 passed, 1 failed');
  }, timeoutMs + 30_000);
  overall.unref();
  const node24 = join(codeServerHome, 'node/bin/node');
  const entry = join(codeServerHome, 'lib/node_modules/code-server/out/node/entry.js');

  const tmp = mkdtempSync(join(tmpdir(), 'mcpcp-vscode-'));
  cleanups.push(() => (opts.keep ? log(`kept ${tmp}`) : rmSync(tmp, { recursive: true, force: true })));
  const dirs = Object.fromEntries(['home', 'config', 'data', 'cache', 'state', 'tmp', 'user-data', 'extensions', 'artifacts'].map((d) => [d, join(tmp, d)]));
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });

  const workspace = opts.workspace ? resolve(opts.workspace) : join(tmp, 'workspace');
  if (!opts.workspace) copyWorkspace(workspace);
  const resultsBase = join(tmp, 'results');
  // Requests from the suite for what only the browser can do: screenshots, text of the workbench's DOM.
  const shotsDir = join(tmp, 'shots');
  mkdirSync(shotsDir, { recursive: true });

  // Fixtures start before code-server: the extension looks for a kubeconfig and an inventory when
  // it activates. Their stops are in `cleanups`, after code-server's (newest first).
  let fixturesFile;
  if (fixtureNames.length) {
    const info = await startFixtures({ names: fixtureNames, repoRoot, home: dirs.home, workspace, logDir: join(dirs.artifacts, 'fixtures'), cleanups, log });
    fixturesFile = join(tmp, 'fixtures.json');
    writeFileSync(fixturesFile, JSON.stringify(info, null, 2), { mode: 0o600 });
  }
  if (!opts.workspace) commitWorkspace(workspace);

  // Settings for a quiet, deterministic workbench; no settings of the extension under test here.
  mkdirSync(join(dirs['user-data'], 'User'), { recursive: true });
  writeFileSync(join(dirs['user-data'], 'User/settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'git.autofetch': false,
    // Trusted, unless --untrusted: then trust is on and this fresh folder is not trusted (Restricted Mode).
    'security.workspace.trust.enabled': opts.untrusted,
    ...(opts.untrusted ? { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false } : {}),
    // Servers come from the extension under test only, not from other config discovered on disk.
    'chat.mcp.discovery.enabled': false,
  }, null, 2));

  const port = await freePort();
  const authority = `127.0.0.1:${port}`;
  // A clean environment: nothing of npm's, nor of a VS Code this may run inside.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|VSCODE_|ELECTRON_|NODE_OPTIONS$|npm_config)/i.test(k)));
  // Nor a cluster, inventory or secret of the machine's: the extension would act on them. The
  // fixtures above are the only targets.
  for (const k of Object.keys(env)) {
    if (/^(KUBECONFIG|KUBERNETES_SERVICE_HOST|KUBERNETES_SERVICE_PORT|MCPCP_NETWORK_INVENTORY|MCPCP_K8S_\w+|MCPCP_SECRET_\w+)$/.test(k)) delete env[k];
  }
  Object.assign(env, {
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    XDG_STATE_HOME: dirs.state,
    TMPDIR: dirs.tmp,
    PATH: `${dirname(node24)}:${process.env.PATH}`,
    // No extension gallery (code-server's default is open-vsx.org): tests reach only 127.0.0.1.
    EXTENSIONS_GALLERY: '{}',
    MCPCP_VSCODE_RESULTS: resultsBase,
    MCPCP_VSCODE_SHOTS: shotsDir,
    ...(fixturesFile ? { MCPCP_VSCODE_FIXTURES: fixturesFile } : {}),
    ...(opts.grep ? { MCPCP_VSCODE_GREP: opts.grep } : {}),
  });
  const args = [
    entry,
    '--bind-addr', authority,
    '--auth', 'none',
    '--config', join(dirs.config, 'code-server.yaml'),
    '--user-data-dir', dirs['user-data'],
    '--extensions-dir', dirs.extensions,
    '--disable-telemetry',
    '--disable-update-check',
    ...(opts.untrusted ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--vscode-option', 'enable-smoke-test-driver',
  ];
  writeFileSync(join(dirs.config, 'code-server.yaml'), 'auth: none\n');
  const serverLog = join(dirs.artifacts, 'code-server.log');
  const serverOut = createWriteStream(serverLog);
  log(`code-server ${authority} (${codeServerHome})`);
  const server = spawn(node24, args, { env, cwd: dirs.home, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => killTree(server.pid));
  let serverExited = false;
  server.on('exit', (code, signal) => {
    serverExited = true;
    if (!finishing) log(`code-server exited (${signal ?? code})`);
  });
  for (const stream of [server.stdout, server.stderr]) {
    stream.on('data', (chunk) => {
      serverOut.write(chunk);
      if (opts.verbose) process.stdout.write(`[code-server] ${chunk}`);
    });
  }

  // Ready when /healthz answers.
  const readyBy = Date.now() + 60_000;
  for (;;) {
    if (serverExited) throw new Error(`code-server exited before it was ready:\n${readFileSync(serverLog, 'utf8')}`);
    try {
      const res = await fetch(`http://${authority}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > readyBy) throw new Error(`code-server not ready after 60s:\n${readFileSync(serverLog, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  log('code-server ready');

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Our own signal handlers end the browser along with code-server.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  cleanups.push(() => Promise.race([browser.close(), new Promise((r) => setTimeout(r, 5000))]));
  // Clipboard permissions: vscode.env.clipboard in the web workbench is the browser's clipboard.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();

  const consoleLog = createWriteStream(join(dirs.artifacts, 'workbench-console.log'));
  // Info-level workbench logging arrives through codeAutomationLog below; keep the rest here.
  page.on('console', (m) => {
    const line = `[${m.type()}] ${m.text()}\n`;
    if (m.type() === 'error' || m.type() === 'warning') consoleLog.write(line);
    if (opts.verbose) process.stdout.write(`[workbench] ${line}`);
  });
  page.on('pageerror', (err) => consoleLog.write(`[pageerror] ${err.stack ?? err}\n`));
  // Tests must not reach beyond this machine: note any request the workbench makes elsewhere.
  const external = new Set();
  context.on('request', (req) => {
    const u = new URL(req.url());
    // Webview resources are addressed as *.vscode-resource.vscode-cdn.net and answered inside the
    // workbench by its service worker: they never leave the machine.
    const webviewResource = u.hostname.endsWith('.vscode-resource.vscode-cdn.net');
    if (/^(https?|wss?):$/.test(u.protocol) && !webviewResource && !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) external.add(u.origin);
  });
  cleanups.push(() => {
    if (external.size) log(`warning: the workbench made requests beyond 127.0.0.1: ${[...external].join(' ')}`);
  });

  // VS Code calls window.codeAutomationExit(code, logs) when the extension-tests run() settles;
  // it checks for the function only then, but exposing it first also covers reloads.
  let exitCode;
  const exited = new Promise((ok) => {
    page.exposeFunction('codeAutomationExit', (code, logs) => {
      exitCode = code;
      if (Array.isArray(logs)) {
        for (const f of logs) {
          const out = join(dirs.artifacts, 'vscode-logs', String(f.relativePath).replace(/\.\.+/g, '_'));
          mkdirSync(dirname(out), { recursive: true });
          writeFileSync(out, f.contents ?? '');
        }
      }
      ok(code);
    });
  });
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    consoleLog.write(`[automation ${type}] ${Array.isArray(args) ? args.join(' ') : args}\n`);
  });

  const payload = [
    ['extensionDevelopmentPath', `vscode-remote://${authority}${extensionPath}`],
    ['extensionTestsPath', `vscode-remote://${authority}${testsPath}`],
  ];
  const url = `http://${authority}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  log(`opening workbench: extension ${extensionPath}, tests ${testsPath}`);
  await page.goto(url);

  serveWorkbenchRequests(page, shotsDir, join(dirs.artifacts, 'screenshots'));

  // Stream the suite's report while it runs.
  let printed = 0;
  const tail = () => {
    if (!existsSync(`${resultsBase}.log`)) return;
    const text = readFileSync(`${resultsBase}.log`, 'utf8');
    if (text.length > printed) {
      process.stdout.write(text.slice(printed));
      printed = text.length;
    }
  };
  const ticker = setInterval(tail, 500);
  cleanups.push(() => clearInterval(ticker));

  const timedOut = new Promise((ok) => setTimeout(() => ok('timeout'), Math.max(0, timeoutMs - (Date.now() - runStarted))).unref());
  const serverDied = new Promise((ok) => server.on('exit', () => ok('server-exit')));
  const pageCrashed = new Promise((ok) => page.on('crash', () => ok('page-crash')));
  const outcome = await Promise.race([exited.then(() => 'exit'), timedOut, serverDied, pageCrashed]);
  if (finishing) return; // a signal is already tearing everything down
  tail();

  const { json } = readResults(resultsBase);
  if (outcome !== 'exit' || exitCode !== 0) {
    await page.screenshot({ path: join(dirs.artifacts, 'workbench.png') }).catch(() => {});
  }
  await consoleClosed(consoleLog);
  if (existsSync(join(dirs['user-data'], 'logs'))) cpSync(join(dirs['user-data'], 'logs'), join(dirs.artifacts, 'server-logs'), { recursive: true });
  await saveArtifacts(dirs.artifacts, resultsBase);
  if (!json) printErrors(join(dirs.artifacts, 'workbench-console.log'));

  const reason =
    outcome === 'timeout' ? `timed out after ${opts.timeout}s` :
    outcome === 'server-exit' ? 'code-server exited during the run' :
    outcome === 'page-crash' ? 'the workbench page crashed' :
    !json ? `the extension host exited with code ${exitCode} before the suite reported (extension failed to load, or run() threw before mocha ran: see test-results/vscode/)` :
    undefined;
  if (reason) {
    log(reason);
    const passed = json?.passed ?? 0;
    return finish(1, `${passed} passed, ${(json?.failed ?? 0) + 1} failed`);
  }
  log(`extension host exited with code ${exitCode}`);
  const ok = exitCode === 0 && json.failed === 0 && json.passed > 0;
  // A non-zero exit with no failed test (run() threw after mocha) still counts as one failure.
  const failed = json.failed || (ok ? 0 : 1);
  return finish(ok ? 0 : 1, `${json.passed} passed, ${failed} failed${json.pending ? `, ${json.pending} skipped` : ''}`);
}

/**
 * Answers the suite's requests (test/vscode/lib/workbench.js): `<id>.request.json` holding
 * `{ viewport?: {width, height}, hover?: selector, screenshot?: name, selector?, text?: selector }` gets `<id>.done.json` with `{ file?, text?,
 * error? }`: a PNG of the page (or of the element `selector`) under test-results/, or the
 * innerText of the element `text`. One at a time, in the order they came.
 */
function serveWorkbenchRequests(page, dir, screenshots) {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || finishing) return;
    busy = true;
    try {
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.request.json')).sort()) {
        const id = f.slice(0, -'.request.json'.length);
        const request = JSON.parse(readFileSync(join(dir, f), 'utf8'));
        rmSync(join(dir, f));
        const answer = {};
        try {
          if (request.viewport) {
            await page.setViewportSize(request.viewport);
            await new Promise((r) => setTimeout(r, 700)); // the workbench and its webviews lay out again
          }
          if (request.screenshot) {
            mkdirSync(screenshots, { recursive: true });
            const file = join(screenshots, `${String(request.screenshot).replace(/[^\w.-]/g, '_')}.png`);
            const target = request.selector ? page.locator(request.selector).first() : page;
            await target.screenshot({ path: file, timeout: 10_000 });
            answer.file = file;
          }
          if (request.hover) {
            await page.mouse.move(0, 0); // a fresh mouse-over, even if the pointer was already there
            await page.locator(request.hover).first().hover({ timeout: 10_000 });
            await new Promise((r) => setTimeout(r, 1_500)); // the workbench's hover delay
          }
          if (request.text) answer.text = await page.locator(request.text).first().innerText({ timeout: 10_000 });
        } catch (err) {
          answer.error = String(err?.message ?? err).split('\n')[0];
        }
        writeFileSync(join(dir, `${id}.done.tmp`), JSON.stringify(answer));
        renameSync(join(dir, `${id}.done.tmp`), join(dir, `${id}.done.json`));
      }
    } catch (err) {
      log(`workbench request failed: ${err?.message ?? err}`);
    } finally {
      busy = false;
    }
  }, 200);
  cleanups.push(() => clearInterval(timer));
}

function consoleClosed(stream) {
  return new Promise((ok) => stream.end(ok));
}

/** When the suite never reported: the workbench's errors usually say why (run() threw, activation failed). */
function printErrors(file) {
  if (!existsSync(file)) return;
  const errors = readFileSync(file, 'utf8').split(/\n(?=\[)/).filter((e) => /^\[(automation )?error\]/.test(e));
  const unique = [...new Set(errors.map((e) => e.replace(/^\[[^\]]+\]\s*(%c\s+ERR\s+color:\s*#\w+\s*)?/, '')))];
  if (unique.length === 0) return;
  log(`errors in the workbench (all in test-results/vscode/workbench-console.log):`);
  for (const e of unique.slice(0, 10)) console.log(e.split('\n').slice(0, 8).join('\n'));
}

/** Copies logs, screenshot and results to test-results/vscode/ for CI to keep. */
async function saveArtifacts(artifacts, resultsBase) {
  const dest = resolve(repoRoot, opts.results ?? 'test-results/vscode');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(artifacts, dest, { recursive: true });
  for (const ext of ['log', 'json']) {
    if (existsSync(`${resultsBase}.${ext}`)) cpSync(`${resultsBase}.${ext}`, join(dest, `results.${ext}`));
  }
}

main().catch((err) => {
  console.error(`[test:vscode ${elapsed()}] ${err?.stack ?? err}`);
  void finish(1, '0 passed, 1 failed');
});
