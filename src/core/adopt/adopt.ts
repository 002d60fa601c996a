import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BUILTIN_SERVERS } from '../builtin-servers';
import type { ServerConfig } from '../config/schema';
import { plural } from '../display/words';
import { ControlPlaneError, errorMessage } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { convertServer, SecretNamer, serverNameFrom, type PlannedSecret } from './convert';
import { applyFileChange, storedValue, writeAtomic, type ActionRecorder, type AppliedChange, type ChangeApprover, type FileChange } from './file-change';
import { isRecord, type McpConfigLocation, type ParsedMcpConfig, type SourceInput } from './mcp-config';
import { SecretScanner } from './secret-scan';
import { scanGitHistory, type HistoryScan, type HistoryScanOptions } from './git-history';
import { findExecutable } from './shell-path';
import { YAML_SYNTAX } from './syntax';
import { maskSecrets, unifiedDiff } from './unified-diff';

/** One server an adoption will add to the control plane's configuration. */
export interface PlannedServer {
  /** The entry's key in the source file. */
  sourceName: string;
  /** Its name in the control plane. */
  name: string;
  transport: 'stdio' | 'http' | 'sse';
  /** The entry as it will be written (secrets as `${secret:…}` references). */
  config: ServerConfig;
  /** The exact command line that will run (stdio), shell-quoted for display. */
  commandLine?: string;
  /** The program `command` resolves to on the (login shell's) PATH; null when not found. */
  resolvedCommand?: string | null;
  secrets: PlannedSecret[];
  warnings: string[];
}

export interface AdoptionPlan {
  source: McpConfigLocation;
  servers: PlannedServer[];
  /** Entries not adopted, and why (already adopted, unsupported variable, invalid). */
  skipped: Array<{ sourceName: string; reason: string }>;
  /** Inputs to ask for, once each, and the secrets their answer is stored as. */
  prompts: Array<{ input: SourceInput; secretNames: string[] }>;
  /** The editor runs this file's servers itself: adopting without moving would run them twice. */
  editorRunsFile: boolean;
  /** Remove the adopted entries from the source file afterwards (backup first). */
  move: boolean;
}

export interface PlanOptions {
  /** The control plane's current `servers`. */
  existing: Readonly<Record<string, ServerConfig>>;
  /** Names the store already holds. */
  secretNames?: readonly string[];
  /** Adopt only these entries (source names). */
  only?: readonly string[];
  /** Default: true for VS Code's own mcp.json files. */
  editorRunsFile?: boolean;
  /** Default true. */
  move?: boolean;
  /** PATH to resolve commands with (the login shell's, merged); default process PATH. */
  pathValue?: string;
  home?: string;
}

/**
 * Plans the adoption of a parsed file's servers without changing anything: names, entries with
 * secrets replaced by references, the command lines that will run, the inputs to ask for, and
 * what is skipped. A server already adopted from the same file and entry, or configured with the
 * same command and arguments (or URL), is skipped: it would run twice.
 */
export function planAdoption(parsed: ParsedMcpConfig, options: PlanOptions): AdoptionPlan {
  const editorRunsFile = options.editorRunsFile ?? (parsed.location.kind === 'vscode-workspace' || parsed.location.kind === 'vscode-user');
  const move = options.move ?? true;
  const scanner = new SecretScanner();
  const stored = new Set(options.secretNames ?? []);
  const namer = new SecretNamer(stored);
  const taken = new Set([...BUILTIN_SERVERS.map((b) => b.name), ...Object.keys(options.existing)]);
  const plan: AdoptionPlan = { source: parsed.location, servers: [], skipped: [], prompts: [], editorRunsFile, move };
  for (const server of parsed.servers) {
    if (options.only && !options.only.includes(server.name)) continue;
    const adopted = Object.entries(options.existing).find(([, c]) => c.adoptedFrom?.file === parsed.location.path && c.adoptedFrom.name === server.name);
    if (adopted) {
      plan.skipped.push({ sourceName: server.name, reason: `already adopted as "${adopted[0]}"` });
      continue;
    }
    const same = Object.entries(options.existing).find(([, c]) => sameProgram(c, server));
    if (same) {
      plan.skipped.push({ sourceName: server.name, reason: `already configured as "${same[0]}" (same ${server.transport === 'stdio' ? 'command and arguments' : 'URL'})` });
      continue;
    }
    if (server.disabled) {
      plan.skipped.push({ sourceName: server.name, reason: 'disabled in its file' });
      continue;
    }
    let name = serverNameFrom(server.name);
    for (let n = 2; taken.has(name); n++) name = `${serverNameFrom(server.name).slice(0, 36)}-${n}`;
    const converted = convertServer(server, { name, location: parsed.location, inputs: parsed.inputs, scanner, namer, storedSecrets: stored, ...(options.home ? { home: options.home } : {}) });
    if (!converted.ok) {
      plan.skipped.push({ sourceName: server.name, reason: converted.reason });
      continue;
    }
    taken.add(name);
    const warnings = [...converted.warnings];
    const config = { ...converted.config };
    if (editorRunsFile && !move) {
      config.enabled = false;
      warnings.push(`adopted disabled: VS Code runs it from ${parsed.location.path}; enable it here once it is removed there`);
    }
    const planned: PlannedServer = { sourceName: server.name, name, transport: server.transport, config, secrets: converted.secrets, warnings };
    if (config.command !== undefined) {
      planned.commandLine = [config.command, ...(config.args ?? [])].map(shellQuote).join(' ');
      planned.resolvedCommand = findExecutable(config.command, options.pathValue ?? process.env['PATH'] ?? '', { ...(config.cwd ? { cwd: config.cwd } : {}) }) ?? null;
      if (planned.resolvedCommand === null) warnings.push(`"${config.command}" is not on PATH; the server will fail to start until it is installed`);
    }
    plan.servers.push(planned);
    for (const s of converted.secrets) {
      if (s.kind !== 'input' || s.existing) continue;
      const input = parsed.inputs.find((i) => i.id === s.inputId)!;
      const prompt = plan.prompts.find((p) => p.input.id === input.id);
      if (prompt) prompt.secretNames.push(s.name);
      else plan.prompts.push({ input, secretNames: [s.name] });
    }
  }
  return plan;
}

function sameProgram(config: ServerConfig, server: ParsedMcpConfig['servers'][number]): boolean {
  if (server.transport === 'stdio') return config.command !== undefined && config.command === server.command && JSON.stringify(config.args ?? []) === JSON.stringify(server.args);
  return config.url !== undefined && config.url === server.url;
}

/**
 * The plan as text for a consent dialog or a terminal: per server the exact command line (and the
 * program it resolves to) or URL, its working directory, environment and headers with secrets as
 * references, which secrets move to the store, and warnings; then what is skipped and whether the
 * source file is edited. Never holds a secret value.
 */
export function renderPlan(plan: AdoptionPlan, options: { storeLabel?: string } = {}): string {
  const store = options.storeLabel ?? 'the secret store';
  const lines: string[] = [`From ${plan.source.path}:`];
  if (plan.servers.length === 0) lines.push('  nothing to adopt');
  for (const s of plan.servers) {
    lines.push('');
    lines.push(`${s.name}${s.name !== s.sourceName ? ` (entry "${s.sourceName}")` : ''}: ${s.transport}${s.config.enabled === false ? ' (adopted disabled)' : ''}`);
    if (s.commandLine !== undefined) {
      lines.push(`  runs: ${s.commandLine}`);
      if (s.resolvedCommand) lines.push(`        (${s.config.command} = ${s.resolvedCommand})`);
      lines.push(`  in:   ${s.config.cwd ?? '(the first workspace folder)'}`);
    }
    if (s.config.url !== undefined) lines.push(`  connects to: ${s.config.url}`);
    if (s.config.envFile !== undefined) lines.push(`  env file: ${s.config.envFile}`);
    for (const [k, v] of Object.entries(s.config.env ?? {})) lines.push(`  env ${k}=${v}`);
    for (const [k, v] of Object.entries(s.config.headers ?? {})) lines.push(`  header ${k}: ${v}`);
    if (s.config.timeoutMs !== undefined) lines.push(`  timeout: ${s.config.timeoutMs} ms`);
    for (const secret of s.secrets) {
      // Worded without "name: value" pairs, which a redactor would take for a secret and hide.
      lines.push(secret.kind === 'plaintext'
        ? `  moves ${secret.origin} (plain text, ${secret.detector}) into ${store} as ${secret.name}`
        : secret.existing ? `  input "${secret.inputId}" is already in ${store} as ${secret.name}` : `  input "${secret.inputId}" is asked once now and kept in ${store} as ${secret.name}`);
    }
    for (const w of s.warnings) lines.push(`  ! ${w}`);
  }
  if (plan.skipped.length > 0) {
    lines.push('');
    for (const k of plan.skipped) lines.push(`not adopted: "${k.sourceName}": ${k.reason}`);
  }
  if (plan.servers.length > 0) {
    lines.push('');
    if (plan.move) lines.push(`The adopted entries are then removed from ${plan.source.path} (a backup, with each moved secret as its reference, is kept in the control plane's data folder).`);
    else if (plan.editorRunsFile) lines.push(`VS Code keeps running them from ${plan.source.path}: they are adopted disabled.`);
    else lines.push(`${plan.source.path} is left as it is${plan.servers.some((s) => s.secrets.some((x) => x.kind === 'plaintext')) ? ' (its plaintext secrets stay in it)' : ''}.`);
  }
  return lines.join('\n');
}

/** Quotes an argument for display as a POSIX shell would need it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./${}-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The control plane's own `servers`, wherever the host keeps them: VS Code's
 * `mcpControlPlane.servers` user setting, or the headless config.yaml.
 */
export interface OwnServers {
  /** For messages: "user settings (mcpControlPlane.servers)", a file path. */
  readonly label: string;
  read(): Promise<Record<string, ServerConfig>>;
  /** Sets the named entries (undefined removes one) and leaves every other entry as it is. */
  update(entries: Record<string, ServerConfig | undefined>): Promise<void>;
}

/**
 * `servers` of a headless config.yaml, edited in place (comments kept); the file and its folder are
 * created when missing.
 */
export function yamlOwnServers(file: string): OwnServers {
  const readText = async (): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  };
  return {
    label: file,
    async read() {
      const parsed = YAML_SYNTAX.parse(await readText());
      if (parsed.errors.length > 0) throw new ControlPlaneError('CONFIG_INVALID', `${file}:${parsed.errors[0]!.position.line}:${parsed.errors[0]!.position.column}: ${parsed.errors[0]!.message}`);
      const servers = isRecord(parsed.value) ? parsed.value['servers'] : undefined;
      return isRecord(servers) ? (servers as Record<string, ServerConfig>) : {};
    },
    async update(entries) {
      let text = await readText();
      if (text.trim() === '') text = '';
      for (const [name, value] of Object.entries(entries)) text = YAML_SYNTAX.edit(text, ['servers', name], value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
      await mkdir(dirname(file), { recursive: true });
      await writeAtomic(file, text);
    },
  };
}

export interface AdoptDeps {
  secrets: SecretStore;
  /** Asks for an input's value (hidden when `password`); undefined cancels the adoption. */
  promptInput: (input: SourceInput, secretNames: string[]) => Promise<string | undefined>;
  servers: OwnServers;
  /** Where the source file's backup goes (`backupRoot(dataDir)`), outside the workspace. */
  backupDir: string;
  /** For the move: the approvals UI. Without one, the caller's consent covers it. */
  approver?: ChangeApprover;
  recorder?: ActionRecorder;
  signal?: AbortSignal;
  now?: () => Date;
  /** The adoption stands only with the move: a refused or failed move undoes it and throws. */
  requireMove?: boolean;
  /**
   * Scan the git history of the source file's repository for the plaintext secrets moved out of
   * it (`AdoptResult.history`): a secret already committed must be rotated. Off when undefined.
   */
  gitHistory?: HistoryScanOptions;
}

export interface AdoptResult {
  /** Adopted servers by name, as written. */
  servers: Record<string, ServerConfig>;
  secretNames: string[];
  /** The source file's edit, when the entries were moved. */
  moved?: AppliedChange;
  /** Why the move did not happen (rejected, failed and rolled back). */
  moveError?: string;
  /** Left disabled because VS Code still runs them from the source file. */
  disabled: string[];
  /** Whether the moved plaintext secrets are in the source file's git history (`gitHistory` set and secrets moved). */
  history?: HistoryScan;
}

/**
 * Carries out a plan the user consented to:
 * 1. asks each input once (cancel → nothing changed);
 * 2. stores the secrets (plaintext values moved out of the file, input answers);
 * 3. adds the servers to the control plane's configuration; when the editor runs the source file,
 *    they are written disabled first, so nothing runs twice;
 * 4. if `move`: removes the adopted entries from the source file through `applyFileChange` (approval
 *    with the diff, backup, atomic write, verification that no moved secret is left, rollback);
 *    then enables them. If the move is refused or fails while the editor runs the file, they stay
 *    disabled (`disabled` says which).
 * A failure in 2–3 removes the secrets stored and the entries written. Audited as `adopt_servers`
 * and `adopt_move_servers`.
 */
export async function adoptServers(plan: AdoptionPlan, parsed: ParsedMcpConfig, deps: AdoptDeps): Promise<AdoptResult> {
  if (plan.servers.length === 0) return { servers: {}, secretNames: [], disabled: [] };
  const values = new Map<string, string>();
  for (const s of plan.servers) for (const secret of s.secrets) if (secret.kind === 'plaintext' && secret.value !== undefined) values.set(secret.name, secret.value);
  for (const prompt of plan.prompts) {
    const answer = await deps.promptInput(prompt.input, prompt.secretNames);
    if (answer === undefined) throw new ControlPlaneError('ADOPT_CANCELLED', `no value for input "${prompt.input.id}": nothing adopted`);
    for (const name of prompt.secretNames) values.set(name, answer);
  }
  const holdBack = plan.editorRunsFile && plan.move;
  const entries: Record<string, ServerConfig> = {};
  for (const s of plan.servers) entries[s.name] = holdBack ? { ...s.config, enabled: false } : s.config;

  const current = await deps.servers.read();
  const clash = Object.keys(entries).filter((n) => n in current);
  if (clash.length > 0) throw new ControlPlaneError('ADOPT_CONFLICT', `${deps.servers.label} already has ${clash.map((c) => `"${c}"`).join(', ')}; plan again`);
  const previous = new Map<string, string | undefined>();
  const undo = async (): Promise<void> => {
    for (const [name, value] of previous) await (value === undefined ? deps.secrets.delete(name) : deps.secrets.set(name, value)).catch(() => undefined);
    await deps.servers.update(Object.fromEntries(Object.keys(entries).map((n) => [n, undefined]))).catch(() => undefined);
  };
  try {
    for (const [name, value] of values) {
      previous.set(name, await storedValue(deps.secrets, name));
      await deps.secrets.set(name, value);
    }
    await deps.servers.update(entries);
  } catch (err) {
    await undo();
    await deps.recorder?.recordAction({ action: 'adopt_servers', outcome: 'error', error: errorMessage(err), detail: { file: plan.source.path, servers: Object.keys(entries) } }).catch(() => undefined);
    throw err;
  }
  const secretNames = [...values.keys()];
  await deps.recorder?.recordAction({ action: 'adopt_servers', outcome: 'ok', detail: { file: plan.source.path, servers: Object.keys(entries), secrets: secretNames, commands: Object.fromEntries(plan.servers.map((s) => [s.name, s.commandLine ?? s.config.url ?? ''])) } });

  const result: AdoptResult = { servers: entries, secretNames, disabled: [] };
  if (plan.move) {
    try {
      const change = removalChange(parsed, plan.servers.map((s) => s.sourceName), plaintextSecrets(plan));
      result.moved = await applyFileChange(change, {
        action: 'adopt_move_servers',
        reason: `Move ${plural(plan.servers.length, 'adopted server')} out of ${plan.source.path}: the control plane runs them now`,
        args: { file: plan.source.path, servers: plan.servers.map((s) => s.sourceName) },
        backupDir: deps.backupDir,
        ...(deps.approver ? { approver: deps.approver } : {}),
        ...(deps.recorder ? { recorder: deps.recorder } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(deps.now ? { now: deps.now } : {}),
      });
    } catch (err) {
      if (deps.requireMove) {
        await undo();
        await deps.recorder?.recordAction({ action: 'adopt_servers', outcome: 'error', error: `undone: the move failed: ${errorMessage(err)}`, detail: { file: plan.source.path, servers: Object.keys(entries) } }).catch(() => undefined);
        throw err;
      }
      result.moveError = errorMessage(err);
    }
  }
  const moved = plaintextSecrets(plan);
  if (deps.gitHistory && moved.length > 0) result.history = await movedSecretsHistory(plan.source, moved, deps.gitHistory);
  if (holdBack) {
    if (result.moved) {
      const enabled = Object.fromEntries(plan.servers.map((s) => [s.name, s.config]));
      await deps.servers.update(enabled);
      result.servers = enabled;
    } else {
      result.disabled = Object.keys(entries);
    }
  }
  return result;
}

/**
 * The edit that removes entries from a source file (keeping everything else, comments included),
 * as a `FileChange` whose verification checks the entries are gone and `secrets` with them; the
 * backup holds `secrets` as references.
 */
export function removalChange(parsed: ParsedMcpConfig, sourceNames: readonly string[], secrets: ReadonlyArray<{ name: string; value: string }> = []): FileChange {
  let after = parsed.text;
  const expect: FileChange['expect'] = [];
  for (const name of sourceNames) {
    const server = parsed.servers.find((s) => s.name === name);
    if (!server) continue;
    after = parsed.syntax.edit(after, server.path, undefined);
    expect.push({ path: server.path, value: undefined });
  }
  // A plaintext secret another entry still uses stays in the file: only forbid what leaves with the moved ones.
  const gone = secrets.filter((s) => !after.includes(s.value));
  return { file: parsed.location.path, before: parsed.text, after, diff: maskSecrets(unifiedDiff(displayName(parsed.location.path), parsed.text, after), secrets), secrets: [], expect, forbid: gone.map((s) => s.value), moved: [...secrets] };
}

/**
 * Scans the git history of the repository holding a source file for secrets moved out of it. The
 * workspace folder is untrusted (no PATH entry inside it is used). Never throws: a scan that
 * cannot run says so in its status.
 */
export async function movedSecretsHistory(source: McpConfigLocation, secrets: ReadonlyArray<{ name: string; value: string }>, options: HistoryScanOptions): Promise<HistoryScan> {
  try {
    return await scanGitHistory(dirname(source.path), secrets, { ...options, untrustedRoots: [...(options.untrustedRoots ?? []), ...(source.workspaceFolder !== undefined ? [source.workspaceFolder] : [])] });
  } catch (err) {
    return { status: 'failed', found: [], objects: 0, bytes: 0, reason: errorMessage(err) };
  }
}

/** The plaintext secrets a plan moves out of its file, by store name. */
export function plaintextSecrets(plan: AdoptionPlan): Array<{ name: string; value: string }> {
  return plan.servers.flatMap((s) => s.secrets.filter((x) => x.kind === 'plaintext' && x.value !== undefined).map((x) => ({ name: x.name, value: x.value! })));
}

function displayName(file: string): string {
  return file.replace(/^\/+/, '');
}
