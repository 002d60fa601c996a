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
import { FileSecretStore, assertSecretName, expandReferences } from '../core/secrets/secret-store';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom, ensureDataDir, writeInstance } from './data-dir';
import { createControlRoute, createStatusRoute, type ReloadResult } from './control';
import { describeReload, reloadCommand, serverCommand, serviceCommand, statusCommand } from './ops-commands';
import { approvalsCommand, approverCredentialCommand, auditCommand } from './oversight-commands';
import { ADOPT_USAGE, adoptCommand, assessCommand } from './adopt-commands';
import { CONSENT_USAGE, consentCommand, policyReloadCommand } from './consent-commands';
import { loadWorkspaceConfigFile } from '../core/config/workspace';
import { findBuiltin } from '../core/builtin-servers';
import type { Proposal } from '../core/consent/store';
import { policyCommand } from './policy-commands';
import { UNDO_USAGE, undoCommand } from './undo-commands';
import { ensureApproverCredential } from '../core/approvals';
import { plural } from '../core/display/words';
import { statePhrase } from '../core/supervisor/state';
import { createWebUiRoute, type WebUiOptions, type WebUiRoute } from '../core/web-ui';
import { UiSignIn } from '../core/team/ui-sign-in';
import { PostgresUiSessionStore } from '../core/team/ui-sessions-postgres';
import { TEAM_USAGE, openPool, teamCommand } from './team-commands';
import { API_KEYS_FILE, openApiKeyStore, teamGatewayOptions, type ApiKeyStore, type TeamAuthenticator } from '../core/team';
import type { GatewayTeamOptions } from '../core/gateway/gateway';
import type { PgPool } from '../core/storage/postgres';

const USAGE = `Usage: mcpcp <command> [options]

Commands:
  serve [--config FILE] [--port N] [--data-dir DIR] [--print-client-config]
        Run the control plane: supervised MCP servers behind the loopback gateway.
        Configuration: --config, else .mcpcp/config.yaml here, else the embedded default
        (the git server on the current directory). A .mcpcp/config.yaml found here came with
        the project: it may only tighten policy and propose servers, which wait for consent.
  status [--json] [--pid PID] [--watch [--interval SECONDS]] [--data-dir DIR]
        Show the servers of the running instances. Exit code: 0 every enabled server running
        (and the audit log writable), 1 degraded, 2 no running instance. --watch re-renders
        until Ctrl-C and exits with the code of the last state shown.
  server start|stop|restart NAME [--pid PID]
  reload [--pid PID]
        Start, stop or restart one server, or re-read the configuration file (as SIGHUP does),
        of a running instance: needs the approver credential and a confirmation on a terminal.
  service install --config FILE [--data-dir DIR] [--port N] [--name NAME] [--force]
  service uninstall [--name NAME]
        Write (or remove) a systemd user unit running \`mcpcp serve --config FILE\`.
  secrets list | set NAME | delete NAME [--data-dir DIR]
        Manage the secrets file (values are read from stdin, never from arguments).
  approvals list | approve ID | reject ID [--reason TEXT] [--pid PID]
        Decide pending approvals of a running instance (needs the approver credential:
        MCPCP_APPROVER_CREDENTIAL or asked for; approve/reject confirm on a terminal).
  audit verify [--dir D] [--key-file F] [--checkpoint-dir C] [--config F [--postgres]] | rotate-key
  audit query | export [--format jsonl|csv] [--server S] [--tool T] [--type T]
        [--decision D] [--outcome O] [--from ISO] [--to ISO] [--limit N] [--config F]
        Check the hash chain (first broken link), search or export the audit log.
  approver-credential rotate
        Replace the approver credential and print the new one (once).
  policy check FILE [--layer workspace|config|user] [--json]
        Validate a policy file and run its tests: (exit 1 on a problem or a failing case).
  policy test DRAFT [--layer config|user|workspace] [--since 7d | --audit FILE] [--with-LAYER F] [--json]
        What-if: replay recorded calls through DRAFT in place of a layer and report what changes
        (exit 1 when it loosens a recorded call or a test of its own fails, 2 when it cannot run).
${CONSENT_USAGE}${UNDO_USAGE}${TEAM_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'status':
      return statusCommand(rest);
    case 'server':
      return serverCommand(rest);
    case 'reload':
      return reloadCommand(rest);
    case 'service':
      return serviceCommand(rest);
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
    case 'undo':
      return undoCommand(rest);
    case 'team':
      return teamCommand(rest);
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

  // Team mode (docs/team.md): identities on /mcp, roles, the public URL, TLS or trusted proxies.
  const team = config.team ? await startTeamMode(config, dataDir, base) : undefined;

  let webUi: WebUiRoute | undefined;
  let reloading: Promise<ReloadResult> | undefined;
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
    ...(team ? { team: team.gateway } : {}),
    // The approvals and dashboard web UI at /ui: its own sign-in with the approver credential.
    publicRoutes: (p) => {
      webUi = createWebUiRoute({
        backend: () => p.oversight,
        dataDir,
        assetsDir: join(__dirname, 'media'),
        log,
        clientAddress: (req) => p.gateway.requestOrigin(req).clientAddress,
        ...(team ? { team: team.ui } : {}),
      });
      // Start, stop, restart and reload: the approver credential only, never the client token.
      return [webUi.handle, createControlRoute({ plane: () => p, dataDir, reload: () => reload(), log })];
    },
    logSink: (line) => process.stderr.write(`[${line.server}${line.source === 'supervisor' ? '*' : ''}] ${line.text}\n`),
    log,
    authedRoutes: [createStatusRoute(() => ({ pid: process.pid, port: plane.port, servers: plane.supervisor.statuses(), problems: [...plane.problems], waiting: [...plane.waiting], policy: plane.policy.problems(), audit: plane.oversight.auditHealth, readiness: plane.readiness(), leftovers: [...plane.leftovers] }))],
  });
  const approver = await ensureApproverCredential(dataDir);
  if (approver.created) {
    // Shown once, to the person starting the server: never into a log file or a pipe.
    if (process.stderr.isTTY) {
      const use = team
        ? `for \`mcpcp server|reload\` on this machine; in team mode people decide approvals at ${config.team!.publicUrl}/ui`
        : `approvals at http://127.0.0.1:${plane.port}/ui and \`mcpcp approvals\``;
      process.stderr.write(`\nApprover credential (shown once; ${use}):\n  ${approver.credential}\n\n`);
    } else {
      log('an approver credential was created; stderr is not a terminal, so it is not shown: run `mcpcp approver-credential rotate` to get a new one');
    }
  }
  const instanceTls = config.team?.tls ? { certFile: resolve(base, config.team.tls.certFile), servername: new URL(config.team.publicUrl).hostname.replace(/^\[|\]$/g, '') } : undefined;
  const instanceFile = await writeInstance(dataDir, { pid: process.pid, port: plane.port, token: plane.gateway.token, startedAt: new Date().toISOString(), cwd: process.cwd(), ...(instanceTls ? { tls: instanceTls } : {}) });
  if (team) log(`team mode: ${config.team!.publicUrl} (listening on ${config.team!.tls ? 'https' : 'http'}://${config.team!.listenHost}:${plane.port}${config.team!.trustedProxies.length ? `, X-Forwarded-* trusted from ${config.team!.trustedProxies.join(', ')}` : ''}; API keys in ${team.pool ? 'PostgreSQL' : join(dataDir, API_KEYS_FILE)})`);
  log(`gateway on ${team ? config.team!.publicUrl : `http://127.0.0.1:${plane.port}`} (${file ? `config ${file}` : 'embedded default configuration'}; roots: ${roots.join(', ')})`);
  for (const s of plane.supervisor.list()) log(`  ${s.name}: ${plane.gateway.url(s.name)}`);

  plane.supervisor.onDidChangeStatus((s) => {
    if (s.state.kind === 'failed' || s.state.kind === 'crash-looping') log(`${s.name} ${statePhrase(s.state.kind)}: ${s.lastError ?? ''}`);
  });

  if (args.flags.has('print-client-config')) {
    await waitForAllSettled(plane, config.supervisor.startTimeoutMs + 1_000);
    const notRunning = plane.supervisor.statuses().filter((s) => s.state.kind !== 'running');
    for (const s of notRunning) log(`warning: ${s.name} ${statePhrase(s.state.kind)}${s.lastError ? `: ${s.lastError}` : ''}`);
    process.stdout.write(`${JSON.stringify(plane.clientConfiguration())}\n`);
  }

  /**
   * Re-reads the configuration file and applies it: servers whose definition changed restart
   * (their calls end with the stop error), removed ones stop, new ones start, the others keep
   * serving. An invalid file throws and changes nothing. Workspace rules never loosen.
   */
  async function reload(): Promise<ReloadResult> {
    if (reloading) return reloading;
    reloading = (async () => {
      const next = file ? await loadConfigFile(file) : defaultConfig();
      // Team mode and storage are as they started until the next start (see `deferred`).
      const { team: _team, storage: _storage, ...nextRest } = next;
      let merged: Config = {
        ...nextRest,
        gateway: config.gateway,
        roots: config.roots,
        ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
        storage: config.storage,
        ...(config.team !== undefined ? { team: config.team } : {}),
      };
      const current = plane.currentConfig;
      const deferred: string[] = [];
      if (JSON.stringify(next.gateway) !== JSON.stringify(loaded.gateway)) deferred.push('gateway');
      if (JSON.stringify(next.roots) !== JSON.stringify(loaded.roots)) deferred.push('roots');
      if (next.dataDir !== loaded.dataDir) deferred.push('dataDir');
      // Identities, roles, TLS and storage are read at start (the authenticator, key and session stores hold them).
      if (JSON.stringify(next.team) !== JSON.stringify(loaded.team)) deferred.push('team');
      if (JSON.stringify(next.storage) !== JSON.stringify(loaded.storage)) deferred.push('storage');
      if (implicit) {
        // A workspace's .mcpcp/config.yaml can only tighten, over the life of the process too:
        // rules it dropped stay in force, and read-only mode, once on, stays on.
        // A new workspace `allow` could only loosen (it stops later workspace rules, such as those of
        // .mcpcp/policy.yaml, from matching): it waits for a restart, when the operator runs serve.
        const added = next.policy.rules.filter((r) => !current.policy.rules.some((c) => JSON.stringify(c) === JSON.stringify(r)));
        const ignored = added.filter((r) => r.decision === 'allow');
        if (ignored.length > 0) log(`reload: ${plural(ignored.length, 'new allow rule')} of ${file} take${ignored.length === 1 ? 's' : ''} effect at the next start (a workspace configuration only tightens while running)`);
        const rules = [...current.policy.rules, ...added.filter((r) => r.decision !== 'allow')];
        merged = { ...merged, policy: { ...next.policy, rules, readOnlyMode: current.policy.readOnlyMode || next.policy.readOnlyMode } };
      }
      const before = new Map(plane.supervisor.list().map((s) => [s.name, s]));
      await plane.applyConfig(merged);
      const after = new Map(plane.supervisor.list().map((s) => [s.name, s]));
      const result: ReloadResult = {
        file,
        added: [...after.keys()].filter((n) => !before.has(n)),
        restarted: [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n)),
        removed: [...before.keys()].filter((n) => !after.has(n)),
        unchanged: [...after.keys()].filter((n) => before.get(n) === after.get(n)),
        ...(deferred.length ? { deferred: deferred.map((k) => `${k} changed: applies at the next start`) } : {}),
      };
      log(describeReload(result));
      return result;
    })();
    try {
      return await reloading;
    } finally {
      reloading = undefined;
    }
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
        .then(() => team?.close())
        .then(() => rm(instanceFile, { force: true }))
        .finally(() => resolveStop());
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // SIGHUP reloads the configuration (systemctl reload); an invalid file changes nothing.
    process.on('SIGHUP', () => {
      if (stopping) return;
      log('SIGHUP: reloading the configuration');
      plane.oversight.configChanged('operator: reload (SIGHUP)', { action: 'reload' });
      reload().catch((err: unknown) => log(`reload refused, the running configuration stays: ${errorMessage(err)}`));
    });
  });
  return 0;
}

/** Team mode's parts: the API key store (file or PostgreSQL), the gateway's identity options, and the pool to end at stop. */
async function startTeamMode(
  config: Config,
  dataDir: string,
  base: string,
): Promise<{ gateway: GatewayTeamOptions; authenticator: TeamAuthenticator; keys: ApiKeyStore; pool: PgPool | undefined; ui: NonNullable<WebUiOptions['team']>; close(): Promise<void> }> {
  const team = config.team!;
  const pool = await openPool(config, dataDir);
  try {
    const keys = await openApiKeyStore(dataDir, pool);
    const { options, authenticator } = await teamGatewayOptions(team, keys, (p) => resolve(base, p));
    // People sign in to /ui with OIDC when a client id is configured (without one /ui says so; the
    // approver credential is never accepted in team mode); sessions in PostgreSQL when there is one.
    const clientSecret = team.oidc?.clientId && team.oidc.clientSecret ? await expandReferences(team.oidc.clientSecret, { secrets: new FileSecretStore(dataDir), env: {} }) : undefined;
    const ui: NonNullable<WebUiOptions['team']> = {
      ...(team.oidc?.clientId ? { signIn: new UiSignIn(team, clientSecret) } : {}),
      secureCookies: team.publicUrl.startsWith('https:'),
      ...(pool ? { sessions: await PostgresUiSessionStore.open(pool) } : {}),
    };
    return {
      gateway: options,
      authenticator,
      keys,
      pool,
      ui,
      close: async () => {
        await keys.close();
        await pool?.end();
      },
    };
  } catch (err) {
    await pool?.end();
    throw err;
  }
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

// \`mcpcp audit export | head\` and the like: a reader that went away ends the command quietly.
// \`serve\` keeps serving (its terminal may have closed): it stops only on SIGINT or SIGTERM.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
    if (process.argv[2] !== 'serve') process.exit(stream === process.stdout ? 0 : 1);
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
