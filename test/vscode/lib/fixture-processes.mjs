// Harness side (test/vscode/run.mjs, not the extension host): the test fixtures the Kubernetes
// and network suites run against, each in its own process started before code-server, so that
// the kubeconfig and the workspace inventory exist when the extension activates.
//
// A fixture process prints one JSON line on stdout once it listens and exits when its stdin
// closes: if the harness dies, even by SIGKILL, the pipe closes and the fixture goes with it.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The fixtures `--fixtures` may name, in the order they start. */
export const FIXTURE_NAMES = ['kubernetes', 'network', 'team'];

/** Test-only values of the secrets the inventory references (long enough for the server's scrubber). */
const NETWORK_SECRETS = { 'lab-pass': 'vsc-lab-pass-3141', 'lab-enable': 'vsc-lab-enable-2718' };
/** The simulated devices: one IOS router that asks for the enable secret. */
const NETWORK_DEVICES = [{ name: 'r1', platform: 'cisco_ios', username: 'admin', password: NETWORK_SECRETS['lab-pass'], enableSecret: NETWORK_SECRETS['lab-enable'] }];

/**
 * Starts `node --import tsx <script> ...args` in `repoRoot` and resolves with the JSON of its first
 * stdout line. Registers its stop in `cleanups` at once, so a failed start is cleaned up too.
 * stderr goes to `logFile`.
 */
async function startProcess({ name, repoRoot, script, args = [], logFile, cleanups, log, readyTimeoutMs = 30_000 }) {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } });
  let exited = child.exitCode !== null;
  const exit = new Promise((ok) => child.once('exit', (code, signal) => {
    exited = true;
    out.write(`[harness] ${name} exited (${signal ?? code})\n`);
    ok();
  }));
  child.stderr.pipe(out, { end: false });
  cleanups.push(async () => {
    if (exited) return;
    // Closing stdin is the fixture's stop signal; SIGTERM, then SIGKILL if it does not go.
    child.stdin.end();
    const gone = (ms) => Promise.race([exit.then(() => true), new Promise((ok) => setTimeout(() => ok(false), ms).unref())]);
    if (await gone(3_000)) return;
    log(`fixture ${name} (pid ${child.pid}) ignored stdin close: SIGTERM`);
    child.kill('SIGTERM');
    if (await gone(2_000)) return;
    child.kill('SIGKILL');
    await gone(2_000);
  });
  let stderrTail = '';
  child.stderr.on('data', (c) => (stderrTail = (stderrTail + c).slice(-2000)));
  const line = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`fixture ${name} did not report within ${readyTimeoutMs / 1000}s: ${stderrTail}`)), readyTimeoutMs);
    createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(timer);
      ok(l);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`fixture ${name} exited (${signal ?? code}) before it was ready: ${stderrTail}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(new Error(`fixture ${name} could not start: ${err.message}`));
    });
  });
  // Keep draining stdout so a chatty fixture never blocks on a full pipe.
  child.stdout.on('data', (c) => out.write(c));
  try {
    return { pid: child.pid, info: JSON.parse(line) };
  } catch {
    throw new Error(`fixture ${name} printed no JSON: ${line.slice(0, 300)}`);
  }
}

/** The inventory as docs/network.md describes it: credentials only as `${secret:name}` references. */
function inventoryYaml(devices) {
  return [
    'version: 1',
    'credentials:',
    '  lab:',
    '    username: admin',
    '    password: ${secret:lab-pass}',
    '    enable: ${secret:lab-enable}',
    'devices:',
    ...devices.flatMap((d) => [`  - name: ${d.name}`, '    host: 127.0.0.1', `    port: ${d.port}`, `    platform: ${d.platform}`, '    credential: lab']),
    '',
  ].join('\n');
}

/**
 * Starts the fixtures in `names` (in parallel) and prepares what the extension finds at
 * activation: the Kubernetes emulator's kubeconfig at `<home>/.kube/config` (the default place,
 * no KUBECONFIG), and the device simulator's inventory at `<workspace>/.mcpcp/inventory.yaml`.
 * Resolves with what the suites need to know (`MCPCP_VSCODE_FIXTURES` points them at it); the
 * secret values are there because the suites store them through the extension's test hook, which
 * is itself part of what they test.
 * @returns {Promise<Record<string, unknown>>}
 */
export async function startFixtures({ names, repoRoot, home, workspace, logDir, cleanups, log }) {
  const info = {};
  const starts = [];
  if (names.includes('kubernetes')) {
    starts.push((async () => {
      const { pid, info: k8s } = await startProcess({ name: 'kubernetes', repoRoot, script: 'test/vscode/fixtures-launch/k8s-emulator.ts', args: ['emu'], logFile: join(logDir, 'k8s-emulator.log'), cleanups, log });
      const kubeconfigPath = join(home, '.kube', 'config');
      mkdirSync(dirname(kubeconfigPath), { recursive: true, mode: 0o700 });
      writeFileSync(kubeconfigPath, k8s.kubeconfig, { mode: 0o600 });
      info.kubernetes = { pid, context: k8s.context, namespace: k8s.namespace, url: k8s.url, token: k8s.token, ca: k8s.ca, kubeconfigPath };
      log(`fixture kubernetes: API emulator ${k8s.url} (pid ${pid}), kubeconfig ${kubeconfigPath}`);
    })());
  }
  if (names.includes('network')) {
    starts.push((async () => {
      const { pid, info: sim } = await startProcess({ name: 'network', repoRoot, script: 'test/fixtures/network-sim/main.ts', args: [JSON.stringify(NETWORK_DEVICES)], logFile: join(logDir, 'network-sim.log'), cleanups, log });
      const devices = sim.devices.map((d) => ({ name: d.name, port: d.port, platform: NETWORK_DEVICES.find((s) => s.name === d.name)?.platform }));
      const inventoryPath = join(workspace, '.mcpcp', 'inventory.yaml');
      mkdirSync(dirname(inventoryPath), { recursive: true });
      writeFileSync(inventoryPath, inventoryYaml(devices));
      info.network = { pid, inventoryPath, devices, secrets: NETWORK_SECRETS };
      log(`fixture network: ${devices.map((d) => `${d.name} (${d.platform}) on 127.0.0.1:${d.port}`).join(', ')} (pid ${pid}), inventory ${inventoryPath}`);
    })());
  }
  if (names.includes('team')) {
    starts.push((async () => {
      // PostgreSQL, the OIDC issuer and the built CLI's `mcpcp serve` in team mode: slower to start.
      const { pid, info: team } = await startProcess({ name: 'team', repoRoot, script: 'test/vscode/fixtures-launch/team-service.ts', logFile: join(logDir, 'team-service.log'), cleanups, log, readyTimeoutMs: 120_000 });
      info.team = { pid, ...team };
      log(`fixture team: mcpcp serve (team mode, PostgreSQL) ${team.url}, issuer ${team.issuer} (pid ${pid})`);
    })());
  }
  // Every start settles before the first failure is reported (each has registered its stop).
  const results = await Promise.allSettled(starts);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return info;
}
