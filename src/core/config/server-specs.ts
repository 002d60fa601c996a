import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
    const type = entry.type ?? (entry.url !== undefined ? 'http' : 'stdio');
    if (type !== 'stdio') {
      const url = entry.url!;
      const spec = makeSpec(name, false, entry, host, [], async () => {
        throw new ControlPlaneError('CONFIG_INVALID', `server "${name}" is an ${type} upstream, not a program`);
      });
      specs.push({
        ...spec,
        resolveRemote: async () => {
          const expand = (v: string): Promise<string> => expandReferences(v, { secrets: host.secrets, env: host.env, ...(host.onSecret ? { onSecret: host.onSecret } : {}) });
          const headers: Record<string, string> = {};
          for (const [key, value] of Object.entries(entry.headers ?? {})) headers[key] = await expand(value);
          return { type, url: await expand(url), headers };
        },
      });
      continue;
    }
    if (!entry.command) {
      // Listed as a failed server (status, tree) as well as reported: a mistyped built-in name
      // must not just vanish.
      const near = BUILTIN_SERVERS.find((b) => editDistance(b.name, name) <= 2);
      const message = `server "${name}" is not built in${near ? ` (did you mean "${near.name}"?)` : ''}: give it a \`command\` (and \`args\`), or a \`url\`; built-in servers: ${BUILTIN_SERVERS.map((b) => b.name).join(', ')}`;
      problems.push({ server: name, message });
      specs.push(makeSpec(name, false, entry, host, [], async () => {
        throw new ControlPlaneError('CONFIG_INVALID', message);
      }));
      continue;
    }
    const command = entry.command;
    specs.push(makeSpec(name, false, entry, host, [], async () => ({ command, args: entry.args ?? [] })));
  }
  return { specs, problems };
}

/**
 * Reads a dotenv file: `KEY=value` lines, `export KEY=value`, single or double quotes (double
 * quotes understand \n), `#` comments. Values may reference `${secret:name}` like `env`.
 */
export async function readEnvFile(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ControlPlaneError('CONFIG_INVALID', `envFile ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new ControlPlaneError('CONFIG_INVALID', `${file}:${index + 1}: expected KEY=value`);
    let value = m[2]!;
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"');
    else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    out[m[1]!] = value;
  });
  return out;
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
    ...(entry.timeoutMs !== undefined ? { callTimeoutMs: entry.timeoutMs } : {}),
    ...(entry.retries !== undefined ? { crashLoopThreshold: Math.max(1, entry.retries) } : {}),
    ...(entry.tools ? { toolFilter: entry.tools } : {}),
    ...(blocked ? { blockedReason: blocked } : {}),
    resolveSpawn: async (): Promise<SpawnSpec> => {
      const { command, args: rawArgs, extraEnv } = await program();
      const expand = (v: string): Promise<string> => expandReferences(v, { secrets: host.secrets, env: host.env, ...(host.onSecret ? { onSecret: host.onSecret } : {}) });
      // Built-in servers' arguments are ours; a configured server's may reference secrets and env.
      const args = builtin ? rawArgs : await Promise.all(rawArgs.map(expand));
      const env: Record<string, string> = {};
      for (const key of [...DEFAULT_PASS_ENV, ...extraPass, ...(entry.passEnv ?? [])]) {
        const value = host.env[key];
        if (value !== undefined) env[key] = value;
      }
      const fromFile = entry.envFile ? await readEnvFile(isAbsolute(entry.envFile) ? entry.envFile : resolve(host.defaultCwd, entry.envFile)) : {};
      for (const [key, raw] of Object.entries({ ...fromFile, ...(entry.env ?? {}) })) {
        env[key] = await expandReferences(raw, { secrets: host.secrets, env: host.env, ...(host.onSecret ? { onSecret: host.onSecret } : {}) });
      }
      Object.assign(env, extraEnv);
      env['MCPCP_WORKSPACE_TRUSTED'] = host.workspaceTrusted ? '1' : '0';
      if (builtin && host.runAsNode) env['ELECTRON_RUN_AS_NODE'] = '1';
      const rawCwd = entry.cwd === undefined ? undefined : await expand(entry.cwd);
      const cwd = rawCwd === undefined ? host.defaultCwd : isAbsolute(rawCwd) ? rawCwd : resolve(host.defaultCwd, rawCwd);
      return { command, args, cwd, env };
    },
  };
}

/** Levenshtein distance, for "did you mean" on short names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
