import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { BUILTIN_SERVERS, findBuiltin } from '../builtin-servers';
import { ControlPlaneError } from '../errors';
import { expandReferences, type SecretStore } from '../secrets/secret-store';
import type { SpawnSpec } from '../supervisor/child-process';
import type { ServerSpec } from '../supervisor/managed-server';
import type { Proposal, ServerGrant } from '../consent/store';
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
  /** Real path of the file that proposed `workspaceDefined` (headless), or `vscode-settings:<folder>`. */
  proposalSource?: string;
  /** How the human grants a proposal, in this host's words. */
  consentHint?: (proposal: Proposal) => string;
  /** A trusted device inventory the user named (VS Code application-scope setting). */
  trustedInventory?: string | undefined;
  /**
   * Consent for the servers in `workspaceDefined`: they are proposals, started only with a grant
   * for their exact spec. Without this, every workspace-defined server waits.
   */
  consent?: ServerConsent;
}

/** What spec resolution needs to know about the consent store, computed before it runs. */
export interface ServerConsent {
  /** Grants matching the current proposal of each workspace-defined server. */
  granted: ReadonlyMap<string, ServerGrant>;
  /** Proposals without a grant. */
  waiting: ReadonlyMap<string, Proposal>;
  /** Per built-in server, a digest of the grants it depends on (devices, git hooks): a change restarts it. */
  builtinDigests?: Readonly<Record<string, string>>;
  /** How to grant, in the host's words (`mcpcp consent grant <id>`, a VS Code command). */
  hint(proposal: Proposal): string;
  /** The proposal as it stands now (envFile content and program re-read), checked again at each start. */
  recheck(name: string, entry: ServerConfig): Promise<Proposal>;
  /** Called when a start finds the spec changed since consent: the host evaluates proposals again. */
  changed?(): void;
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
    const known = new Set<string>();
    const builtinHost = { env: host.env, rootPaths: host.rootPaths, stateDir: host.stateDir, secrets: host.secrets, trustedInventory: host.trustedInventory, onSecret: tracking(host, known) };
    const enabled = entry?.enabled ?? builtin.enabledByDefault(builtinHost);
    if (!enabled) continue;
    const script = join(host.serversDir, builtin.entry);
    const untrusted = builtin.workspaceScoped === true && !host.workspaceTrusted;
    specs.push(makeSpec(builtin.name, true, entry ?? {}, host, known, [...builtin.passEnv], async () => {
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
      const known = new Set<string>();
      const spec = makeSpec(name, false, entry, host, known, [], async () => {
        throw new ControlPlaneError('CONFIG_INVALID', `server "${name}" is an ${type} upstream, not a program`);
      });
      specs.push({
        ...spec,
        resolveRemote: async () => {
          known.clear();
          const secrets = await consentedSecrets(name, entry, host);
          const expand = (v: string): Promise<string> => expandReferences(v, { secrets, env: host.env, onSecret: tracking(host, known) });
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
      specs.push(makeSpec(name, false, entry, host, new Set<string>(), [], async () => {
        throw new ControlPlaneError('CONFIG_INVALID', message);
      }));
      continue;
    }
    const command = entry.command;
    specs.push(makeSpec(name, false, entry, host, new Set(), [], async () => ({ command, args: entry.args ?? [] })));
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
  /** Filled with the secret values handed to the server at each start (for echo filtering). */
  known: Set<string>,
  extraPass: string[],
  program: () => Promise<{ command: string; args: string[]; extraEnv?: Record<string, string> }>,
  blockedBy?: string,
): ServerSpec {
  const proposed = !builtin && host.workspaceDefined?.has(name) === true;
  const grant = proposed ? host.consent?.granted.get(name) : undefined;
  const waiting = proposed ? host.consent?.waiting.get(name) : undefined;
  const blocked = blockedBy ?? (!host.workspaceTrusted && host.workspaceDefined?.has(name)
    ? 'the workspace is not trusted: servers configured by the workspace do not start'
    : proposed && grant === undefined
      ? `waiting for consent: the workspace proposes this server; ${waiting && host.consent ? host.consent.hint(waiting) : 'review it before it runs'}`
      : undefined);
  const fingerprint = JSON.stringify({ name, builtin, entry, trusted: host.workspaceTrusted, blocked: blocked ?? null, consent: builtin ? (host.consent?.builtinDigests?.[name] ?? null) : (grant?.hash ?? null) });
  return {
    name,
    builtin,
    fingerprint,
    ...(entry.timeoutMs !== undefined ? { callTimeoutMs: entry.timeoutMs } : {}),
    ...(entry.retries !== undefined ? { crashLoopThreshold: Math.max(1, entry.retries) } : {}),
    ...(entry.tools ? { toolFilter: entry.tools } : {}),
    ...(blocked ? { blockedReason: blocked } : {}),
    secretValues: () => [...known],
    resolveSpawn: async (): Promise<SpawnSpec> => {
      known.clear();
      const secrets = await consentedSecrets(name, entry, host, builtin);
      const onSecret = tracking(host, known);
      const { command, args: rawArgs, extraEnv } = await program();
      const inArgs = builtin ? [] : rawArgs.flatMap((a, i) => (/\$\{secret:[^}]+\}/.test(a) ? [i] : []));
      const optedIn = entry.allowSecretInArgs === true || (host.workspaceDefined?.has(name) === true && host.consent?.granted.get(name)?.argSecrets === true);
      if (inArgs.length > 0 && !optedIn) {
        throw new ControlPlaneError(
          'CONFIG_INVALID',
          `servers.${name}.args: ${inArgs.map((i) => `args[${i}]`).join(', ')} holds a \${secret:…}, which every local user can read in the process list; pass it in \`env\` if the server reads it there, or opt in with allowSecretInArgs: true`,
        );
      }
      const expand = (v: string): Promise<string> => expandReferences(v, { secrets, env: host.env, onSecret });
      // Built-in servers' arguments are ours; a configured server's may reference secrets and env.
      const args = builtin ? rawArgs : await Promise.all(rawArgs.map(expand));
      const env: Record<string, string> = {};
      for (const key of [...DEFAULT_PASS_ENV, ...extraPass, ...(entry.passEnv ?? [])]) {
        const value = host.env[key];
        if (value !== undefined) env[key] = value;
      }
      const fromFile = entry.envFile ? await readEnvFile(isAbsolute(entry.envFile) ? entry.envFile : resolve(host.defaultCwd, entry.envFile)) : {};
      for (const [key, raw] of Object.entries({ ...fromFile, ...(entry.env ?? {}) })) {
        env[key] = await expand(raw);
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

/** An `onSecret` that records each value in `known` and still tells the host (its redactor). */
function tracking(host: HostEnvironment, known: Set<string>): (value: string) => void {
  return (value) => {
    known.add(value);
    host.onSecret?.(value);
  };
}

/**
 * The secret store a server may read from. A workspace-proposed server must still match its grant
 * at this start (the envFile or the program may have changed since), and reads only the secrets
 * bound to that grant; a secret in its arguments needs the grant's explicit opt-in.
 */
async function consentedSecrets(name: string, entry: ServerConfig, host: HostEnvironment, builtin = false): Promise<SecretStore> {
  if (builtin || host.workspaceDefined?.has(name) !== true) return host.secrets;
  const grant = host.consent?.granted.get(name);
  if (!grant || !host.consent) throw new ControlPlaneError('CONSENT_NEEDED', `server "${name}" was proposed by the workspace and has no consent`);
  const now = await host.consent.recheck(name, entry);
  if (now.hash !== grant.hash) {
    host.consent.changed?.();
    throw new ControlPlaneError('CONSENT_NEEDED', `server "${name}" changed since consent was given (program, arguments, environment, env file, working directory or URL); it waits for consent again: ${host.consent.hint(now)}`);
  }
  if (now.argSecrets.length > 0 && !grant.argSecrets) {
    throw new ControlPlaneError('CONSENT_NEEDED', `server "${name}" has a secret in its arguments (${now.argSecrets.join(', ')}); consent must opt in to that explicitly`);
  }
  const bound = new Set(grant.secrets);
  const inner = host.secrets;
  return {
    get: async (secret) => {
      if (!bound.has(secret)) throw new ControlPlaneError('SECRET_NOT_BOUND', `secret "${secret}" is not bound to server "${name}"; consent to the server's current spec binds the secrets it names`);
      return inner.get(secret);
    },
    set: (k, v) => inner.set(k, v),
    delete: (k) => inner.delete(k),
    list: () => inner.list(),
    onDidChange: inner.onDidChange,
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
