import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ServerConfig } from '../config/schema';
import { errorMessage } from '../errors';
import { SecretNamer, secretNameFor, serverNameFrom } from './convert';
import type { JsonPath } from './jsonc';
import { scanGitHistory, type HistoryScan, type HistoryScanOptions } from './git-history';
import { parseMcpConfig, readMcpConfig, type McpConfigKind, type McpConfigLocation, type ParsedMcpConfig, type SourceServer } from './mcp-config';
import { SecretScanner, describeSecret, type SecretHit } from './secret-scan';
import { plural } from '../display/words';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export type Rule =
  | 'plaintext-secret'
  | 'unpinned-package'
  | 'insecure-url'
  | 'bridge-all-interfaces'
  | 'missing-timeout'
  | 'duplicate-tool-name'
  | 'tool-budget'
  | 'untrusted-workspace'
  | 'secret-in-args'
  | 'duplicate-server'
  | 'config-invalid'
  | 'stale-backup'
  | 'secret-in-git-history';

export interface FindingLocation {
  file: string;
  /** 1-based; 0 when the finding is not about one place in a file (tool budget). */
  line: number;
  column: number;
  /** JSON pointer of the value (`/servers/github/env/GITHUB_TOKEN`). */
  pointer: string;
}

/** A proposed fix. Applying it always goes through an approval with the file diff as preview. */
export type Remediation =
  | {
      kind: 'move-secret';
      title: string;
      path: JsonPath;
      /** The secret's span within the string at `path`. */
      start: number;
      end: number;
      secretName: string;
      /** SHA-256 of the secret: applying refuses if the file now holds something else. */
      valueDigest: string;
      /** `secret`: `${secret:name}` (the control plane's files); `input`: `${input:name}` plus an input (VS Code's mcp.json). */
      reference: 'secret' | 'input';
    }
  | { kind: 'adopt-server'; title: string; server: string }
  | {
      kind: 'pin-package';
      title: string;
      path: JsonPath;
      ecosystem: 'npm' | 'pypi';
      package: string;
      /** The argument as written; applying refuses if it changed. */
      arg: string;
      /** Text before the package spec in the argument (`--package=`), kept. */
      prefix: string;
    }
  | { kind: 'add-timeout'; title: string; path: JsonPath; timeoutMs: number }
  | { kind: 'remove-server'; title: string; path: JsonPath; server: string }
  | {
      kind: 'delete-backup';
      title: string;
      /** The backup file. */
      file: string;
      /** SHA-256 of its content: applying refuses if it changed. */
      digest: string;
    };

export interface Finding {
  /** Stable across runs for the same problem at the same place. */
  id: string;
  severity: Severity;
  rule: Rule;
  message: string;
  location: FindingLocation;
  server?: string;
  remediation?: Remediation;
}

export interface AssessedFile {
  path: string;
  kind: McpConfigKind;
  scope: 'workspace' | 'user';
  status: 'ok' | 'missing' | 'unreadable';
  servers: number;
  error?: string;
}

export interface AssessmentReport {
  generatedAt: string;
  files: AssessedFile[];
  findings: Finding[];
  summary: Record<Severity, number>;
  /** Tools over the enabled servers, when known. */
  toolTotal?: number;
  toolLimit: number;
}

export interface AssessOptions {
  /** False: servers from workspace files are reported as coming from an untrusted workspace. */
  workspaceTrusted?: boolean;
  /** Tools of the control plane's enabled servers (names, or only a count), for duplicates and the budget. */
  tools?: ReadonlyArray<{ server: string; tools: readonly string[] | number }>;
  /** VS Code sends at most this many tools per request. Default 128. */
  toolLimit?: number;
  /** The control plane's servers, for entries adopted but still in their source file. */
  ownServers?: Readonly<Record<string, ServerConfig>>;
  /** Names in the secret store (proposed names avoid them). */
  secretNames?: readonly string[];
  /** Timeout the add-timeout remediation proposes. Default 60 s. */
  proposedTimeoutMs?: number;
  /**
   * Scan the git history of the repositories holding workspace files for the plaintext secrets
   * in them (and in old backups beside them): one already committed must be rotated. Off when
   * undefined.
   */
  gitHistory?: HistoryScanOptions;
  now?: () => Date;
}

/** Reads every location that exists and assesses them together. */
export async function assessLocations(locations: readonly McpConfigLocation[], options: AssessOptions = {}): Promise<AssessmentReport> {
  const parsed: ParsedMcpConfig[] = [];
  const files: AssessedFile[] = [];
  for (const location of locations) {
    try {
      const p = await readMcpConfig(location);
      if (!p) {
        files.push({ path: location.path, kind: location.kind, scope: location.scope, status: 'missing', servers: 0 });
        continue;
      }
      parsed.push(p);
      files.push({ path: location.path, kind: location.kind, scope: location.scope, status: 'ok', servers: p.servers.length });
    } catch (err) {
      files.push({ path: location.path, kind: location.kind, scope: location.scope, status: 'unreadable', servers: 0, error: errorMessage(err) });
    }
  }
  const backups = await oldBackups(locations);
  const extra = backups.map((b) => backupFinding(b));
  if (options.gitHistory) extra.push(...(await historyFindings(parsed, backups, options.gitHistory)));
  return buildReport(parsed, files, options, extra);
}

/** A `<file>.mcpcp-backup-<timestamp>` an earlier version wrote beside a file, and the plaintext secrets in it. */
interface OldBackup {
  path: string;
  of: McpConfigLocation;
  digest: string;
  secrets: Array<{ value: string; detector: string; knownFormat: boolean }>;
}

/**
 * Backups earlier versions wrote next to the files they changed (`<name>.mcpcp-backup-<ts>`):
 * they hold the old text, plaintext secrets included, where a `git add -A` commits them.
 */
async function oldBackups(locations: readonly McpConfigLocation[]): Promise<OldBackup[]> {
  const out: OldBackup[] = [];
  const scanner = new SecretScanner();
  const seen = new Set<string>();
  for (const location of locations) {
    const dir = dirname(location.path);
    const prefix = `${basename(location.path)}.mcpcp-backup-`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => n.startsWith(prefix)).sort()) {
      const path = join(dir, name);
      if (seen.has(path)) continue;
      seen.add(path);
      let text = '';
      try {
        const info = await stat(path);
        if (!info.isFile()) continue;
        text = info.size <= 4 * 1024 * 1024 ? await readFile(path, 'utf8') : '';
      } catch {
        continue;
      }
      out.push({ path, of: location, digest: sha256(text), secrets: plaintextSecretsOf(text, location, scanner) }); // parsed as the file it is a copy of
    }
  }
  return out;
}

function backupFinding(b: OldBackup): Omit<Finding, 'id'> {
  const what = b.secrets.length > 0
    ? `holds ${b.secrets.length === 1 ? 'a plaintext secret' : `${b.secrets.length} plaintext secrets`} (${b.secrets.map((x) => describeSecret(x.value, x.detector)).join('; ')})`
    : 'holds the old text of the file';
  const rotate = b.secrets.length > 0 ? `; if it was ever committed, pushed or shared, rotate ${b.secrets.length === 1 ? 'the secret' : 'the secrets'} where ${b.secrets.length === 1 ? 'it was' : 'they were'} issued` : '';
  return {
    severity: b.secrets.some((x) => x.knownFormat) ? 'critical' : b.secrets.length > 0 ? 'high' : 'low',
    rule: 'stale-backup',
    message: `${basename(b.path)} is a backup an earlier MCP Control Plane left beside ${basename(b.of.path)}: it ${what}, is one \`git add -A\` away from being committed, and nothing needs it (backups now go to the control plane's data folder). Delete it${rotate}`,
    location: { file: b.path, line: 0, column: 0, pointer: '' },
    remediation: { kind: 'delete-backup', title: `Delete ${basename(b.path)} (you approve it with its content in view, secrets masked)`, file: b.path, digest: b.digest },
  };
}

/** The distinct plaintext secrets of a configuration text, by the scanner's rules. */
export function plaintextSecretsOf(text: string, location: McpConfigLocation, scanner: SecretScanner = new SecretScanner()): Array<{ value: string; detector: string; knownFormat: boolean }> {
  const secrets: Array<{ value: string; detector: string; knownFormat: boolean }> = [];
  for (const server of parseMcpConfig(text, location).servers) {
    for (const hit of plaintextIn(server, scanner)) if (!secrets.some((x) => x.value === hit.value)) secrets.push({ value: hit.value, detector: hit.detector, knownFormat: hit.knownFormat });
  }
  return secrets;
}

/** Plaintext secret values of one server entry (env, headers, args, URL), by the scanner's rules. */
function plaintextIn(server: SourceServer, scanner: SecretScanner): Array<{ value: string; detector: string; knownFormat: boolean; origin: string }> {
  const out: Array<{ value: string; detector: string; knownFormat: boolean; origin: string }> = [];
  const take = (value: string, hits: SecretHit[], origin: string): void => {
    for (const h of hits) out.push({ value: value.slice(h.start, h.end), detector: h.detector, knownFormat: h.knownFormat, origin });
  };
  for (const [k, v] of Object.entries(server.env)) take(v, scanner.scanValue(v, k), `env.${k}`);
  for (const [k, v] of Object.entries(server.headers)) take(v, scanner.scanValue(v, k), `headers.${k}`);
  for (const { index, hit } of scanner.scanArgs(server.args)) take(server.args[index]!, [hit], `args[${index}]`);
  if (server.url !== undefined) take(server.url, scanner.scanUrl(server.url), 'url');
  return out;
}

/**
 * One finding per plaintext secret of a workspace file (or an old backup beside it) that is in
 * its repository's git history; one low finding per repository that could not be fully scanned.
 */
async function historyFindings(parsed: readonly ParsedMcpConfig[], backups: readonly OldBackup[], options: HistoryScanOptions): Promise<Array<Omit<Finding, 'id'>>> {
  const scanner = new SecretScanner();
  type Item = { value: string; location: FindingLocation; server?: string; label: string; workspaceFolder?: string };
  // By workspace folder (one scan per repository), else by the file's folder.
  const byFolder = new Map<string, Item[]>();
  const push = (folder: string, item: Item): void => {
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), item]);
  };
  for (const file of parsed) {
    if (file.location.scope !== 'workspace' && file.location.workspaceFolder === undefined) continue;
    for (const server of file.servers) {
      for (const hit of plaintextIn(server, scanner)) {
        push(file.location.workspaceFolder ?? dirname(file.location.path), { value: hit.value, location: locate(file, [...server.path, ...originPath(hit.origin)]), server: server.name, label: `${hit.origin} of "${server.name}" in ${basename(file.location.path)}`, ...(file.location.workspaceFolder ? { workspaceFolder: file.location.workspaceFolder } : {}) });
      }
    }
  }
  for (const b of backups) {
    if (b.of.scope !== 'workspace' && b.of.workspaceFolder === undefined) continue;
    b.secrets.forEach((x) => push(b.of.workspaceFolder ?? dirname(b.path), { value: x.value, location: { file: b.path, line: 0, column: 0, pointer: '' }, label: `${basename(b.path)}`, ...(b.of.workspaceFolder ? { workspaceFolder: b.of.workspaceFolder } : {}) }));
  }
  const findings: Array<Omit<Finding, 'id'>> = [];
  for (const [folder, items] of byFolder) {
    const unique = new Map<string, Item[]>();
    for (const item of items) unique.set(item.value, [...(unique.get(item.value) ?? []), item]);
    const named = [...unique.entries()].map(([value, list], i) => ({ name: `secret-${i}`, value, list }));
    const roots = [...new Set(items.flatMap((i) => (i.workspaceFolder ? [i.workspaceFolder] : [])))];
    let scan: HistoryScan;
    try {
      scan = await scanGitHistory(folder, named, { ...options, untrustedRoots: [...(options.untrustedRoots ?? []), ...roots] });
    } catch (err) {
      scan = { status: 'failed', found: [], objects: 0, bytes: 0, reason: errorMessage(err) };
    }
    for (const hit of scan.found) {
      const entry = named.find((n) => n.name === hit.name)!;
      const where = hit.locations.length > 0 ? hit.locations.slice(0, 3).map((l) => `${l.path ? `${l.path} in ` : ''}commit ${l.commit.slice(0, 12)}`).join(', ') : "the repository's objects";
      for (const item of entry.list) {
        findings.push({
          ...(item.server !== undefined ? { server: item.server } : {}),
          severity: 'critical',
          rule: 'secret-in-git-history',
          message: `The plaintext secret in ${item.label} is in the git history of ${scan.repository ?? folder} (${where}): anyone with a clone has it, and moving it out of the file does not remove it from history. Rotate it where it was issued, then store the new value in the secret store`,
          location: item.location,
        });
      }
    }
    if (scan.status === 'partial' || scan.status === 'failed') {
      findings.push({ severity: 'low', rule: 'secret-in-git-history', message: `The git history of ${scan.repository ?? folder} was not fully scanned for the plaintext secrets of its MCP files (${scan.reason}): if one was ever committed, rotate it`, location: { file: folder, line: 0, column: 0, pointer: '' } });
    }
  }
  return findings;
}

/** `env.X` → ['env', 'X'], `args[2]` → ['args', 2], `url` → ['url']. */
function originPath(origin: string): JsonPath {
  const arg = /^args\[(\d+)\]$/.exec(origin);
  if (arg) return ['args', Number(arg[1])];
  const dot = origin.indexOf('.');
  return dot === -1 ? [origin] : [origin.slice(0, dot), origin.slice(dot + 1)];
}

/**
 * Assesses parsed configurations: plaintext secrets (token shapes and sensitive names, in env,
 * headers, args and URLs), unpinned packages (`npx`/`bunx`/`pnpm dlx`, `uvx`, `docker run`),
 * remote URLs without TLS, bridges bound to all interfaces, missing timeouts, servers from an
 * untrusted workspace, servers adopted but still in their source file, invalid files, duplicate
 * tool names and the tool budget. Findings are sorted by severity, then file and line.
 */
export function buildReport(parsed: readonly ParsedMcpConfig[], files: AssessedFile[], options: AssessOptions = {}, extra: ReadonlyArray<Omit<Finding, 'id'>> = []): AssessmentReport {
  const scanner = new SecretScanner();
  const namer = new SecretNamer(options.secretNames ?? []);
  const findings: Finding[] = [];
  const add = (f: Omit<Finding, 'id'>): void => {
    const id = createHash('sha256').update(`${f.rule}\0${f.location.file}\0${f.location.pointer}\0${f.message}`).digest('hex').slice(0, 12);
    if (!findings.some((x) => x.id === id)) findings.push({ id, ...f });
  };
  for (const file of parsed) {
    for (const problem of file.problems) {
      add({ severity: 'high', rule: 'config-invalid', message: `${basename(file.location.path)}: ${problem.message}; clients may ignore the file or part of it`, location: locate(file, problem.path ?? [], problem.position) });
    }
    for (const server of file.servers) checkServer(file, server, { scanner, namer, add, options });
  }
  checkAdoptedStillInSource(parsed, options, add);
  for (const f of extra) add(f);
  const toolLimit = options.toolLimit ?? 128;
  const toolTotal = checkTools(options, toolLimit, add);
  findings.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.location.file.localeCompare(b.location.file) || a.location.line - b.location.line || a.location.column - b.location.column);
  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  return { generatedAt: (options.now?.() ?? new Date()).toISOString(), files, findings, summary, ...(toolTotal !== undefined ? { toolTotal } : {}), toolLimit };
}

type Add = (f: Omit<Finding, 'id'>) => void;

const OWN_KINDS: ReadonlySet<McpConfigKind> = new Set(['mcpcp-yaml', 'mcpcp-settings']);
const VSCODE_KINDS: ReadonlySet<McpConfigKind> = new Set(['vscode-workspace', 'vscode-user']);

function checkServer(file: ParsedMcpConfig, server: SourceServer, ctx: { scanner: SecretScanner; namer: SecretNamer; add: Add; options: AssessOptions }): void {
  const { add, scanner } = ctx;
  const own = OWN_KINDS.has(file.location.kind);
  const where = `"${server.name}" in ${basename(file.location.path)}`;
  const base = { server: server.name };

  // Plaintext secrets.
  const secret = (path: JsonPath, value: string, hit: SecretHit, label: string, key: string): void => {
    const part = value.slice(hit.start, hit.end);
    const name = ctx.namer.allocate(secretNameFor(serverNameFrom(server.name), key));
    let remediation: Remediation;
    if (own || VSCODE_KINDS.has(file.location.kind)) {
      const reference = own ? 'secret' : 'input';
      remediation = {
        kind: 'move-secret',
        title: own ? `Move it into the secret store as "${name}" and reference it as \${secret:${name}}` : `Move it into an input "${name}" (VS Code keeps it in its secret storage) and keep a copy in the control plane's secret store`,
        path,
        start: hit.start,
        end: hit.end,
        secretName: name,
        valueDigest: sha256(part),
        reference,
      };
    } else {
      remediation = { kind: 'adopt-server', title: `Adopt "${server.name}" into the control plane (secret into the secret store) and remove it from ${basename(file.location.path)}`, server: server.name };
    }
    add({ ...base, severity: hit.knownFormat ? 'critical' : 'high', rule: 'plaintext-secret', message: `Plaintext secret in ${label} of ${where} (${describeSecret(part, hit.detector)})`, location: locate(file, path), remediation });
  };
  for (const [k, v] of Object.entries(server.env)) {
    if (typeof server.raw['env'] === 'object' && typeof (server.raw['env'] as Record<string, unknown>)[k] !== 'string') continue;
    for (const hit of scanner.scanValue(v, k)) secret([...server.path, 'env', k], v, hit, `env.${k}`, k);
  }
  for (const [k, v] of Object.entries(server.headers)) for (const hit of scanner.scanValue(v, k)) secret([...server.path, 'headers', k], v, hit, `headers.${k}`, k);
  for (const { index, hit } of scanner.scanArgs(server.args)) {
    const arg = server.args[index]!;
    const flag = /^--?([A-Za-z][\w.-]*)=/.exec(arg) ?? /^--([A-Za-z][\w.-]*)$/.exec(server.args[index - 1] ?? '');
    secret([...server.path, 'args', index], arg, hit, `args[${index}]`, flag?.[1] ?? `arg${index}`);
  }
  if (server.url !== undefined) for (const hit of scanner.scanUrl(server.url)) secret([...server.path, 'url'], server.url, hit, 'url', 'url');
  // Secrets in arguments, by reference or in plain text: every local user reads them in the process list.
  const argHits = new Set(scanner.scanArgs(server.args).map((h) => h.index));
  server.args.forEach((arg, index) => {
    if (!argHits.has(index) && !/\$\{(?:secret|input):[^}]+\}/.test(arg)) return;
    add({
      ...base,
      severity: 'high',
      rule: 'secret-in-args',
      message: `args[${index}] of ${where} carries a secret: every local user can read a process's arguments (ps); pass it in the environment if the server reads it there (adoption does this for servers known to), else it needs an explicit opt-in (allowSecretInArgs)`,
      location: locate(file, [...server.path, 'args', index]),
    });
  });

  // Unpinned packages.
  const pkg = packageArgument(server);
  if (pkg && !pkg.pinned) {
    add({
      ...base,
      severity: 'medium',
      rule: 'unpinned-package',
      message: `${where} runs ${pkg.ecosystem === 'docker' ? 'image' : 'package'} "${pkg.spec}" without a fixed version: whatever is published next runs with your credentials`,
      location: locate(file, [...server.path, 'args', pkg.index]),
      ...(pkg.ecosystem !== 'docker' ? { remediation: { kind: 'pin-package', title: `Pin ${pkg.name} to the version currently resolved`, path: [...server.path, 'args', pkg.index], ecosystem: pkg.ecosystem, package: pkg.name, arg: server.args[pkg.index]!, prefix: pkg.prefix } } : {}),
    });
  }

  // Remote URLs without TLS.
  const urls: Array<{ path: JsonPath; url: string }> = [];
  if (server.url !== undefined) urls.push({ path: [...server.path, 'url'], url: server.url });
  server.args.forEach((a, i) => /^(?:http|ws):\/\//i.test(a) && urls.push({ path: [...server.path, 'args', i], url: a }));
  for (const u of urls) {
    const host = hostOf(u.url);
    if (/^(?:http|ws):/i.test(u.url) && host !== undefined && !isLoopback(host)) {
      add({ ...base, severity: 'high', rule: 'insecure-url', message: `${where} reaches ${host} over ${u.url.split(':')[0]!.toLowerCase()} without TLS: tokens and tool data cross the network in clear`, location: locate(file, u.path) });
    }
  }

  // Bridges listening on every interface.
  const bind = allInterfacesBinding(server);
  if (bind) add({ ...base, severity: 'high', rule: 'bridge-all-interfaces', message: `${where} listens on all interfaces (${bind.text}): anyone on the network can reach it; bind it to 127.0.0.1`, location: locate(file, bind.path) });

  // Timeouts.
  if (server.timeoutMs === undefined) {
    add({
      ...base,
      severity: 'low',
      rule: 'missing-timeout',
      message: own ? `${where} has no timeoutMs: a hung call runs until gateway.callTimeoutMs (10 min by default)` : `${where} has no timeout: a hung call can block its client; adopted into the control plane it gets one`,
      location: locate(file, server.path),
      ...(own ? { remediation: { kind: 'add-timeout', title: `Add timeoutMs: ${ctx.options.proposedTimeoutMs ?? 60_000}`, path: server.path, timeoutMs: ctx.options.proposedTimeoutMs ?? 60_000 } } : {}),
    });
  }

  // Workspace trust.
  if (file.location.scope === 'workspace' && ctx.options.workspaceTrusted === false && !server.disabled) {
    add({ ...base, severity: 'medium', rule: 'untrusted-workspace', message: `${where} comes from a workspace that is not trusted: its command was written by whoever wrote the repository`, location: locate(file, server.path) });
  }
}

function checkAdoptedStillInSource(parsed: readonly ParsedMcpConfig[], options: AssessOptions, add: Add): void {
  for (const [name, config] of Object.entries(options.ownServers ?? {})) {
    const from = config.adoptedFrom;
    if (!from || config.enabled === false) continue;
    const file = parsed.find((p) => p.location.path === from.file);
    const entry = file?.servers.find((s) => s.name === from.name);
    if (!file || !entry || entry.disabled) continue;
    add({
      server: entry.name,
      severity: 'medium',
      rule: 'duplicate-server',
      message: `"${entry.name}" in ${basename(file.location.path)} is also adopted as "${name}": it runs twice, and the file still holds its configuration`,
      location: locate(file, entry.path),
      remediation: { kind: 'remove-server', title: `Remove "${entry.name}" from ${basename(file.location.path)} (the control plane runs it)`, path: entry.path, server: entry.name },
    });
  }
}

function checkTools(options: AssessOptions, limit: number, add: Add): number | undefined {
  if (!options.tools) return undefined;
  const owners = new Map<string, string[]>();
  let total = 0;
  for (const s of options.tools) {
    if (typeof s.tools === 'number') {
      total += s.tools;
      continue;
    }
    total += s.tools.length;
    for (const t of s.tools) owners.set(t, [...(owners.get(t) ?? []), s.server]);
  }
  const nowhere = { file: '(running servers)', line: 0, column: 0, pointer: '' };
  for (const [tool, servers] of owners) {
    if (servers.length < 2) continue;
    add({ severity: 'low', rule: 'duplicate-tool-name', message: `Tool "${tool}" is offered by ${servers.map((s) => `"${s}"`).join(' and ')}: a client that does not prefix tool names sees one of them at random; filter one out with \`tools.exclude\``, location: { ...nowhere, pointer: `/tools/${tool}` } });
  }
  if (total > limit) {
    add({ severity: 'high', rule: 'tool-budget', message: `${plural(total, 'tool')} over the enabled servers: VS Code takes at most ${limit} per request and drops the rest; disable servers or filter tools (\`tools.include\`/\`tools.exclude\`)`, location: nowhere });
  } else if (total > Math.floor(limit * 0.8)) {
    add({ severity: 'low', rule: 'tool-budget', message: `${total} of at most ${plural(limit, 'tool')} per request in use: the next server may exceed VS Code's limit`, location: nowhere });
  }
  return total;
}

function locate(file: ParsedMcpConfig, path: JsonPath, position?: { line: number; column: number }): FindingLocation {
  const p = position ?? file.syntax.locate(file.text, path) ?? { line: 1, column: 1 };
  return { file: file.location.path, line: p.line, column: p.column, pointer: toPointer(path) };
}

/** RFC 6901 JSON pointer of a path. */
export function toPointer(path: JsonPath): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The package a launcher runs, and whether its version is fixed. */
export interface PackageArgument {
  ecosystem: 'npm' | 'pypi' | 'docker';
  index: number;
  /** The package spec (`@scope/pkg@1.2.3`, `mcp-server-x==0.4`, `image:tag`). */
  spec: string;
  /** Text before the spec in the same argument (`--package=`), usually empty. */
  prefix: string;
  name: string;
  pinned: boolean;
}

const EXACT_VERSION = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;

/** Finds the package argument of `npx`, `bunx`, `pnpm dlx`, `yarn dlx`, `uvx`, `uv tool run`, `pipx run` or `docker run`. */
export function packageArgument(server: Pick<SourceServer, 'command' | 'args'>): PackageArgument | undefined {
  if (!server.command) return undefined;
  const cmd = basename(server.command).toLowerCase().replace(/\.(?:cmd|exe|bat|ps1)$/, '');
  const args = server.args;
  let start = 0;
  let ecosystem: PackageArgument['ecosystem'];
  if (cmd === 'npx' || cmd === 'bunx' || cmd === 'pnpx') ecosystem = 'npm';
  else if ((cmd === 'pnpm' || cmd === 'yarn' || cmd === 'bun') && (args[0] === 'dlx' || args[0] === 'x')) [ecosystem, start] = ['npm', 1];
  else if (cmd === 'npm' && args[0] === 'exec') [ecosystem, start] = ['npm', 1];
  else if (cmd === 'uvx') ecosystem = 'pypi';
  else if (cmd === 'uv' && args[0] === 'tool' && args[1] === 'run') [ecosystem, start] = ['pypi', 2];
  else if (cmd === 'pipx' && args[0] === 'run') [ecosystem, start] = ['pypi', 1];
  else if ((cmd === 'docker' || cmd === 'podman') && args[0] === 'run') [ecosystem, start] = ['docker', 1];
  else return undefined;

  const valued = ecosystem === 'npm' ? ['-p', '--package', '-c', '--call', '--cache', '--registry', '--userconfig'] : ecosystem === 'pypi' ? ['--from', '--with', '--python', '-p', '--index-url', '--spec'] : ['-e', '--env', '-v', '--volume', '-p', '--publish', '-w', '--workdir', '-u', '--user', '--name', '--network', '--mount', '--entrypoint', '--env-file', '-l', '--label', '--platform', '--pull', '-h', '--hostname', '--add-host', '--cpus', '-m', '--memory'];
  const explicit = ecosystem === 'npm' ? ['-p', '--package'] : ecosystem === 'pypi' ? ['--from', '--spec'] : [];
  for (let i = start; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      if (ecosystem === 'docker') continue;
      break;
    }
    const eq = /^(--?[\w-]+)=(.*)$/.exec(a);
    if (eq && explicit.includes(eq[1]!)) return classify(ecosystem, i, eq[2]!, a.slice(0, eq[1]!.length + 1));
    if (explicit.includes(a) && args[i + 1] !== undefined) return classify(ecosystem, i + 1, args[i + 1]!);
    if (a.startsWith('-')) {
      if (valued.includes(a)) i++;
      continue;
    }
    return classify(ecosystem, i, a);
  }
  return undefined;
}

function classify(ecosystem: PackageArgument['ecosystem'], index: number, spec: string, prefix = ''): PackageArgument | undefined {
  // Local paths, URLs and git specs are not registry packages.
  if (/^(?:[./~]|[A-Za-z]:\\|file:|https?:|git[+:]|github:)/.test(spec)) return undefined;
  if (ecosystem === 'npm') {
    const m = /^(@[^/@]+\/[^@]+|[^@]+)(?:@(.+))?$/.exec(spec);
    if (!m) return undefined;
    return { ecosystem, index, spec, prefix, name: m[1]!, pinned: m[2] !== undefined && EXACT_VERSION.test(m[2]) };
  }
  if (ecosystem === 'pypi') {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?:(==|@|>=|~=|<=|>|<|!=)\s*(.+))?$/.exec(spec);
    if (!m) return undefined;
    return { ecosystem, index, spec, prefix, name: m[1]!, pinned: (m[2] === '==' || m[2] === '@') && m[3] !== undefined && /^\d[\w.+-]*$/.test(m[3]) };
  }
  const digest = spec.includes('@sha256:');
  const tag = /:([^/:]+)$/.exec(spec)?.[1];
  return { ecosystem, index, spec, prefix, name: spec.replace(/@sha256:.*$/, '').replace(/:[^/:]+$/, ''), pinned: digest || (tag !== undefined && tag !== 'latest') };
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

const BIND_FLAGS = /^--?(?:host|bind|listen|address|addr|ip|interface|server-host|sse-host|http-host)$/i;
const BIND_ENV = /(?:^|_)(?:HOST|BIND|LISTEN|ADDR|ADDRESS|INTERFACE)(?:_|$)/i;
const ALL_INTERFACES = /^(?:0\.0\.0\.0|::|\[::\]|\*)(?::\d+)?$/;

function allInterfacesBinding(server: SourceServer): { path: JsonPath; text: string } | undefined {
  for (let i = 0; i < server.args.length; i++) {
    const a = server.args[i]!;
    const eq = /^(--?[\w-]+)=(.*)$/.exec(a);
    if (eq && BIND_FLAGS.test(eq[1]!) && ALL_INTERFACES.test(eq[2]!)) return { path: [...server.path, 'args', i], text: a };
    if (BIND_FLAGS.test(a) && ALL_INTERFACES.test(server.args[i + 1] ?? '')) return { path: [...server.path, 'args', i + 1], text: `${a} ${server.args[i + 1]}` };
    if (/^(?:0\.0\.0\.0|\[::\]):\d+$/.test(a)) return { path: [...server.path, 'args', i], text: a };
  }
  for (const [k, v] of Object.entries(server.env)) {
    if (BIND_ENV.test(k) && ALL_INTERFACES.test(v.trim())) return { path: [...server.path, 'env', k], text: `${k}=${v}` };
  }
  return undefined;
}
