import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { BUILTIN_SERVERS, findBuiltin } from '../builtin-servers';
import { ControlPlaneError } from '../errors';
import { expandReferences, type SecretStore } from '../secrets/secret-store';
import type { SpawnSpec } from '../supervisor/child-process';
import type { ServerSpec } from '../supervisor/managed-server';
import { DEFAULT_PASS_ENV, type Config, type ServerConfig } from './schema';

/** What the host (VS Code or the CLI) tells spec resolution about itself. */
export interface HostEnvironment {
  /** Folder holding the built-in servers' bundles (dist/servers). */
  serversDir: string;
  /** The Node (or Electron) binary running built-in servers: process.execPath. */
  nodePath: string;
  /** Inside VS Code the binary is Electron: add ELECTRON_RUN_AS_NODE=1. */
  runAsNode: boolean;
  env: NodeJS.ProcessEnv;
  secrets: SecretStore;
  workspaceTrusted: boolean;
  /** Servers whose definition came from the workspace: they do not start in an untrusted one. */
  workspaceDefined?: ReadonlySet<string>;
  /** Working directory for children without one (the first root). */
  defaultCwd: string;
  /** The roots as folders. */
  rootPaths: readonly string[];
  /** The host's state folder (global storage; headless: the data directory). */
  stateDir: string;
  /** Sees every secret value expanded into a child's environment (for redaction). */
  onSecret?: (value: string) => void;
}

/** A configured server that could not be turned into a spec. */
export interface SpecProblem {
  server: string;
  message: string;
}

/**
 * Turns the configuration into the specs the supervisor runs: built-in servers (enabled by their
 * default unless the configuration says otherwise) and stdio servers with a `command`. Disabled
 * servers are left out. Secrets are expanded at each start, not here.
 */
export function resolveServerSpecs(config: Config, host: HostEnvironment): { specs: ServerSpec[]; problems: SpecProblem[] } {
  const specs: ServerSpec[] = [];
  const problems: SpecProblem[] = [];
  for (const builtin of BUILTIN_SERVERS) {
    const entry = config.servers[builtin.name];
    if (entry?.command !== undefined) {
      problems.push({ server: builtin.name, message: `"${builtin.name}" is a built-in server; it takes no command (rename your server)` });
      continue;
    }
    const builtinHost = { env: host.env, rootPaths: host.rootPaths, stateDir: host.stateDir, secrets: host.secrets, ...(host.onSecret ? { onSecret: host.onSecret } : {}) };
    const enabled = entry?.enabled ?? builtin.enabledByDefault(builtinHost);
    if (!enabled) continue;
    const script = join(host.serversDir, builtin.entry);
    const untrusted = builtin.workspaceScoped === true && !host.workspaceTrusted;
    specs.push(makeSpec(builtin.name, true, entry ?? {}, host, [...builtin.passEnv], async () => {
      if (!existsSync(script)) throw new ControlPlaneError('SPAWN_FAILED', `built-in server bundle ${script} is missing; run \`npm run build\``);
      return { command: host.nodePath, args: [script], extraEnv: builtin.env ? await builtin.env(builtinHost) : {} };
    }, untrusted ? `the workspace is not trusted: ${builtin.name} reads its configuration from the workspace` : undefined));
  }
  for (const [name, entry] of Object.entries(config.servers)) {
    if (findBuiltin(name)) continue;
    if (entry.enabled === false) continue;
    if (!entry.command) {
      problems.push({ server: name, message: `server "${name}" is not built in: give it a \`command\` (and \`args\`)` });
      continue;
    }
    const command = entry.command;
    specs.push(makeSpec(name, false, entry, host, [], async () => ({ command, args: entry.args ?? [] })));
  }
  return { specs, problems };
}

function makeSpec(
  name: string,
  builtin: boolean,
  entry: ServerConfig,
  host: HostEnvironment,
  extraPass: string[],
  program: () => Promise<{ command: string; args: string[]; extraEnv?: Record<string, string> }>,
  blockedBy?: string,
): ServerSpec {
  const blocked = blockedBy ?? (!host.workspaceTrusted && host.workspaceDefined?.has(name)
    ? 'the workspace is not trusted: servers configured by the workspace do not start'
    : undefined);
  const fingerprint = JSON.stringify({ name, builtin, entry, trusted: host.workspaceTrusted, blocked: blocked ?? null });
  return {
    name,
    builtin,
    fingerprint,
    ...(blocked ? { blockedReason: blocked } : {}),
    resolveSpawn: async (): Promise<SpawnSpec> => {
      const { command, args, extraEnv } = await program();
      const env: Record<string, string> = {};
      for (const key of [...DEFAULT_PASS_ENV, ...extraPass, ...(entry.passEnv ?? [])]) {
        const value = host.env[key];
        if (value !== undefined) env[key] = value;
      }
      for (const [key, raw] of Object.entries(entry.env ?? {})) {
        env[key] = await expandReferences(raw, { secrets: host.secrets, env: host.env, ...(host.onSecret ? { onSecret: host.onSecret } : {}) });
      }
      Object.assign(env, extraEnv);
      env['MCPCP_WORKSPACE_TRUSTED'] = host.workspaceTrusted ? '1' : '0';
      if (builtin && host.runAsNode) env['ELECTRON_RUN_AS_NODE'] = '1';
      const cwd = entry.cwd === undefined ? host.defaultCwd : isAbsolute(entry.cwd) ? entry.cwd : resolve(host.defaultCwd, entry.cwd);
      return { command, args, cwd, env };
    },
  };
}
