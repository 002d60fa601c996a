// `mcpcp`: the headless control plane. The composition root for the CLI: it builds the engine
// from src/core with file and environment adapters.
import { existsSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultConfig, loadConfigFile } from '../core/config/load';
import type { Config } from '../core/config/schema';
import { ControlPlane } from '../core/control-plane';
import type { AuditHealth } from '../core/audit';
import type { Readiness } from '../core/gateway/gateway';
import { ControlPlaneError, errorMessage } from '../core/errors';
import { FileSecretStore, assertSecretName } from '../core/secrets/secret-store';
import { describeStatus, type ServerStatus } from '../core/supervisor/state';
import { describeLeftovers, type LeftoverReport } from '../core/supervisor/instance-record';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom, ensureDataDir, readInstances, writeInstance } from './data-dir';
import { approvalsCommand, approverCredentialCommand, auditCommand } from './oversight-commands';
import { ADOPT_USAGE, adoptCommand, assessCommand } from './adopt-commands';
import { CONSENT_USAGE, consentCommand, policyReloadCommand } from './consent-commands';
import { loadWorkspaceConfigFile } from '../core/config/workspace';
import { findBuiltin } from '../core/builtin-servers';
import type { Proposal } from '../core/consent/store';
import { policyCommand } from './policy-commands';
import { ensureApproverCredential } from '../core/approvals';
import { createWebUiRoute, type WebUiRoute } from '../core/web-ui';

const USAGE = `Usage: mcpcp <command> [options]

Commands:
  serve [--config FILE] [--port N] [--data-dir DIR] [--print-client-config]
        Run the control plane: supervised MCP servers behind the loopback gateway.
        Configuration: --config, else .mcpcp/config.yaml here, else the embedded default
        (the git server on the current directory). A .mcpcp/config.yaml found here came with
        the project: it may only tighten policy and propose servers, which wait for consent.
  status [--json] [--data-dir DIR]
        Show the servers of the running instances.
  secrets list | set NAME | delete NAME [--data-dir DIR]
        Manage the secrets file (values are read from stdin, never from arguments).
  approvals list | approve ID | reject ID [--reason TEXT] [--pid PID]
        Decide pending approvals of a running instance (needs the approver credential:
        MCPCP_APPROVER_CREDENTIAL or asked for; approve/reject confirm on a terminal).
  audit verify [--dir D] [--key-file F] [--checkpoint-dir C] | rotate-key
  audit query | export [--format jsonl|csv] [--server S] [--tool T] [--type T]
        [--decision D] [--outcome O] [--from ISO] [--to ISO] [--limit N]
        Check the hash chain (first broken link), search or export the audit log.
  approver-credential rotate
        Replace the approver credential and print the new one (once).
  policy check FILE [--layer workspace|config|user] [--json]
        Validate a policy file and run its tests: (exit 1 on a problem or a failing case).
${CONSENT_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'status':
      return status(rest);
    case 'secrets':
      return secrets(rest);
    case 'approvals':
      return approvalsCommand(rest);
    case 'audit':
      return auditCommand(rest);
    case 'approver-credential':
      return approverCredentialCommand(rest);
    case 'policy':
      return rest[0] === 'reload' ? policyReloadCommand(rest) : policyCommand(rest);
    case 'assess':
      return assessCommand(rest);
    case 'adopt':
      return adoptCommand(rest);
    case 'consent':
      return consentCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}${ADOPT_USAGE}`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** The configuration file to use and the folder its relative paths start from. */
async function loadConfiguration(flag: string | undefined): Promise<{ config: Config; file: string | undefined; base: string; implicit: boolean }> {
  const file = flag ? resolve(flag) : existsSync('.mcpcp/config.yaml') ? resolve('.mcpcp/config.yaml') : undefined;
  if (!file) return { config: defaultConfig(), file: undefined, base: process.cwd(), implicit: false };
  // Relative roots in .mcpcp/config.yaml are relative to the project, the folder above .mcpcp.
  const dir = dirname(file);
  const base = dir.endsWith(`${join('/', '.mcpcp')}`) || dir.endsWith('.mcpcp') ? dirname(dir) : dir;
  // A file found here came with the project: the allowlist applies (tighten policy, propose servers).
  const config = flag === undefined ? await loadWorkspaceConfigFile(file, base) : await loadConfigFile(file);
  return { config, file, base, implicit: flag === undefined };
}

async function serve(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['config', 'port', 'data-dir'], ['print-client-config']);
  const { config: loaded, file, base, implicit } = await loadConfiguration(stringFlag(args, 'config'));
  const portFlag = stringFlag(args, 'port');
  let config = loaded;
  if (portFlag !== undefined) {
    const port = Number(portFlag);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be a number from 0 to 65535, not "${portFlag}"`);
    config = { ...config, gateway: { ...config.gateway, port } };
  }
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), config.dataDir ? resolve(base, config.dataDir) : undefined);
  await ensureDataDir(dataDir);

  const roots = config.roots.map((r) => {
    const abs = resolve(base, r);
    if (!existsSync(abs)) throw new ControlPlaneError('CONFIG_INVALID', `${file ?? 'default configuration'}: roots: "${r}" does not exist (${abs})`);
    return realpathSync(abs);
  });
  const hostRoots = roots.map((r) => ({ uri: pathToFileURL(r).href, name: r.split(/[\\/]/).pop() || r }));
  const secrets = new FileSecretStore(dataDir);
  const log = (message: string): void => void process.stderr.write(`mcpcp: ${message}\n`);

  let webUi: WebUiRoute | undefined;
  const plane = await ControlPlane.start({
    config,
    host: {
      serversDir: join(__dirname, 'servers'),
      nodePath: process.execPath,
      runAsNode: false,
      env: process.env,
      secrets,
      workspaceTrusted: true,
      defaultCwd: roots[0] ?? process.cwd(),
      rootPaths: roots,
      stateDir: dataDir,
      // Servers in a configuration found here are proposals: each waits for `mcpcp consent grant`.
      ...(implicit && file
        ? { workspaceDefined: new Set(Object.keys(config.servers).filter((n) => !findBuiltin(n))), proposalSource: realpathSync(file) }
        : {}),
      trustedInventory: config.network.trustedInventory ? resolve(base, config.network.trustedInventory) : undefined,
      consentHint: (p: Proposal) => `grant it with \`mcpcp consent grant ${p.id}${p.argSecrets.length ? ' --allow-secret-in-args' : ''}\` (see \`mcpcp consent list\`)`,
    },
    roots: () => hostRoots,
    stateDir: dataDir,
    instancePrefix: 'cli',
    // A .mcpcp/config.yaml found in the current directory came with the project: like
    // .mcpcp/policy.yaml, its rules can only tighten. A file named with --config is the operator's.
    policyLayer: implicit ? 'workspace' : 'config',
    ...(process.env['MCPCP_CLIENT_TOKEN'] ? { token: process.env['MCPCP_CLIENT_TOKEN'] } : {}),
    // The approvals and dashboard web UI at /ui: its own sign-in with the approver credential.
    publicRoutes: (p) => {
      webUi = createWebUiRoute({ backend: () => p.oversight, dataDir, assetsDir: join(__dirname, 'media'), log });
      return [webUi.handle];
    },
    logSink: (line) => process.stderr.write(`[${line.server}${line.source === 'supervisor' ? '*' : ''}] ${line.text}\n`),
    log,
    authedRoutes: [
      (req, res, url) => {
        if (url.pathname !== '/status' || req.method !== 'GET') return false;
        const body = JSON.stringify({ pid: process.pid, port: plane.port, servers: plane.supervisor.statuses(), waiting: plane.waiting, policy: plane.policy.problems(), audit: plane.oversight.auditHealth, readiness: plane.readiness(), leftovers: plane.leftovers });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
        return true;
      },
    ],
  });
  const approver = await ensureApproverCredential(dataDir);
  if (approver.created) {
    // Shown once, to the person starting the server: never into a log file or a pipe.
    if (process.stderr.isTTY) {
      process.stderr.write(`\nApprover credential (shown once; approvals at http://127.0.0.1:${plane.port}/ui and \`mcpcp approvals\`):\n  ${approver.credential}\n\n`);
    } else {
      log('an approver credential was created; stderr is not a terminal, so it is not shown: run `mcpcp approver-credential rotate` to get a new one');
    }
  }
  const instanceFile = await writeInstance(dataDir, { pid: process.pid, port: plane.port, token: plane.gateway.token, startedAt: new Date().toISOString(), cwd: process.cwd() });
  log(`gateway on http://127.0.0.1:${plane.port} (${file ? `config ${file}` : 'embedded default configuration'}; roots: ${roots.join(', ')})`);
  for (const s of plane.supervisor.list()) log(`  ${s.name}: ${plane.gateway.url(s.name)}`);

  plane.supervisor.onDidChangeStatus((s) => {
    if (s.state.kind === 'failed' || s.state.kind === 'crash-looping') log(`${s.name} is ${s.state.kind}: ${s.lastError ?? ''}`);
  });

  if (args.flags.has('print-client-config')) {
    await waitForAllSettled(plane, config.supervisor.startTimeoutMs + 1_000);
    const notRunning = plane.supervisor.statuses().filter((s) => s.state.kind !== 'running');
    for (const s of notRunning) log(`warning: ${s.name} is ${s.state.kind}${s.lastError ? `: ${s.lastError}` : ''}`);
    process.stdout.write(`${JSON.stringify(plane.clientConfiguration())}\n`);
  }

  let stopping = false;
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping`);
      webUi?.dispose();
      void plane
        .stop(signal)
        .then(() => rm(instanceFile, { force: true }))
        .finally(() => resolveStop());
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => stop('SIGHUP'));
  });
  return 0;
}

/** Resolves when no server is starting or restarting any more, or after `timeoutMs`. */
async function waitForAllSettled(plane: ControlPlane, timeoutMs: number): Promise<void> {
  const settled = (): boolean => plane.supervisor.statuses().every((s) => s.state.kind !== 'starting' && s.state.kind !== 'restarting');
  if (settled()) return;
  await new Promise<void>((resolveWait) => {
    const timer = setTimeout(done, timeoutMs);
    const sub = plane.supervisor.onDidChangeStatus(() => settled() && done());
    function done(): void {
      clearTimeout(timer);
      sub.dispose();
      resolveWait();
    }
  });
}

async function status(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir'], ['json']);
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  const instances = await readInstances(dataDir);
  const results: Array<{ pid: number; port: number; servers: ServerStatus[]; waiting?: Proposal[]; policy?: string[]; audit?: AuditHealth; readiness?: Readiness; leftovers: LeftoverReport[] } | { pid: number; port: number; error: string }> = [];
  for (const instance of instances) {
    try {
      const res = await fetch(`http://127.0.0.1:${instance.port}/status`, { headers: { authorization: `Bearer ${instance.token}` }, signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { servers: ServerStatus[]; waiting?: Proposal[]; policy?: string[]; audit?: AuditHealth; readiness?: Readiness; leftovers?: LeftoverReport[] };
      results.push({ pid: instance.pid, port: instance.port, servers: body.servers, waiting: body.waiting ?? [], policy: body.policy ?? [], ...(body.audit ? { audit: body.audit } : {}), ...(body.readiness ? { readiness: body.readiness } : {}), leftovers: body.leftovers ?? [] });
    } catch (err) {
      results.push({ pid: instance.pid, port: instance.port, error: errorMessage(err) });
    }
  }
  if (args.flags.has('json')) {
    process.stdout.write(`${JSON.stringify({ instances: results })}\n`);
    return 0;
  }
  if (results.length === 0) {
    process.stdout.write(`no running instance (data directory ${dataDir})\n`);
    return 1;
  }
  for (const r of results) {
    process.stdout.write(`instance pid ${r.pid}, gateway http://127.0.0.1:${r.port}\n`);
    if ('error' in r) {
      process.stdout.write(`  not answering: ${r.error}\n`);
      continue;
    }
    if (r.readiness) process.stdout.write(`  ready: ${r.readiness.ready ? 'yes' : `NO (${r.readiness.reasons.join('; ')})`}\n`);
    if (r.audit?.state === 'failing') {
      const a = r.audit;
      process.stdout.write(
        `  audit: FAILING since ${new Date(a.since).toISOString()}: ${a.lastError}; ${a.refusedCount} calls refused, ${a.lostRecords} records not written so far; calls resume by themselves once it can be written\n`,
      );
    } else if (r.audit) {
      process.stdout.write('  audit: ok\n');
    }
    const rows = r.servers.map((s) => [s.name, describeStatus(s), 'pid' in s.state ? String(s.state.pid ?? '-') : '-', String(s.restarts), String(s.toolCount)]);
    const header = ['SERVER', 'STATE', 'PID', 'RESTARTS', 'TOOLS'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    for (const row of [header, ...rows]) process.stdout.write(`  ${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
    for (const s of r.servers.filter((x) => x.lastError)) process.stdout.write(`  ${s.name}: last error: ${s.lastError}\n`);
    for (const s of r.servers) if (s.state.kind === 'stopped' && s.state.reason) process.stdout.write(`  ${s.name}: ${s.state.reason}\n`);
    for (const p of r.waiting ?? []) {
      if (p.kind === 'device') process.stdout.write(`  device ${p.name} (${p.destination ?? ''}): waiting for consent: mcpcp consent grant ${p.id}\n`);
    }
    for (const line of r.policy ?? []) process.stdout.write(`  policy: ${line}\n`);
    for (const l of r.leftovers) process.stdout.write(`  at start: ${describeLeftovers(l)}\n`);
  }
  return 0;
}

async function secrets(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir'], []);
  const [action, name] = args.positionals;
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  await ensureDataDir(dataDir);
  const store = new FileSecretStore(dataDir);
  switch (action) {
    case 'list':
      for (const n of await store.list()) process.stdout.write(`${n}\n`);
      return 0;
    case 'set': {
      if (!name) throw new UsageError('mcpcp secrets set NAME (the value is read from stdin)');
      assertSecretName(name);
      if (process.stdin.isTTY) process.stderr.write(`value for ${name} (input hidden, end with Enter): `);
      const value = await readSecretFromStdin();
      if (!value) throw new UsageError('empty value: nothing stored');
      await store.set(name, value);
      process.stderr.write(`secret ${name} stored in ${join(dataDir, 'secrets.json')}\n`);
      return 0;
    }
    case 'delete':
      if (!name) throw new UsageError('mcpcp secrets delete NAME');
      await store.delete(name);
      return 0;
    default:
      throw new UsageError('mcpcp secrets list | set NAME | delete NAME');
  }
}

async function readSecretFromStdin(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  const chunks: Buffer[] = [];
  return await new Promise<string>((resolveRead) => {
    const finish = (): void => {
      if (stdin.isTTY) {
        stdin.setRawMode(false);
        process.stderr.write('\n');
      }
      stdin.pause();
      resolveRead(Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, ''));
    };
    stdin.on('data', (chunk: Buffer) => {
      if (stdin.isTTY && (chunk.includes(13) || chunk.includes(10))) {
        chunks.push(chunk.subarray(0, Math.max(0, chunk.indexOf(chunk.includes(13) ? 13 : 10))));
        finish();
        return;
      }
      if (stdin.isTTY && chunk[0] === 3) process.exit(130);
      chunks.push(chunk);
    });
    stdin.on('end', finish);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`mcpcp: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`mcpcp: ${err instanceof ControlPlaneError ? err.message : errorMessage(err)}\n`);
    process.exit(1);
  },
);
