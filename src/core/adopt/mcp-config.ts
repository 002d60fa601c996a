import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ControlPlaneError } from '../errors';
import type { JsonPath, TextPosition } from './jsonc';
import { syntaxFor, type ConfigSyntax } from './syntax';

/**
 * Which program's configuration a file is. `vscode-*` are VS Code's `mcp.json` (`servers` and
 * `inputs`); `claude-code` (`.mcp.json`) and `claude-desktop` use `mcpServers`; `mcpcp-yaml` is the
 * control plane's headless `config.yaml` and `mcpcp-settings` a VS Code settings.json holding
 * `mcpControlPlane.servers`.
 */
export type McpConfigKind = 'vscode-workspace' | 'vscode-user' | 'claude-code' | 'claude-desktop' | 'mcpcp-yaml' | 'mcpcp-settings' | 'mcp-servers';

export interface McpConfigLocation {
  path: string;
  kind: McpConfigKind;
  /** A workspace's file (subject to workspace trust) or the user's own. */
  scope: 'workspace' | 'user';
  /** The folder `${workspaceFolder}` means for this file. */
  workspaceFolder?: string;
}

export interface LocationOptions {
  /** Workspace folders (headless: the current directory). */
  workspaceFolders?: readonly string[];
  home?: string;
  platform?: NodeJS.Platform;
  /** For APPDATA (Windows) and XDG_CONFIG_HOME. */
  env?: NodeJS.ProcessEnv;
  /**
   * VS Code's user folder (holding settings.json and mcp.json). The extension knows it exactly
   * (two folders above its global storage); the default guesses the stable edition's.
   */
  vscodeUserDir?: string;
  /** The control plane's own configuration files (config.yaml, settings.json). */
  ownConfigFiles?: readonly string[];
}

/** The folder of VS Code's user settings and mcp.json for a platform. */
export function defaultVsCodeUserDir(options: { home?: string; platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv } = {}): string {
  const home = options.home ?? homedir();
  const env = options.env ?? process.env;
  switch (options.platform ?? process.platform) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'Code', 'User');
    case 'win32':
      return join(env['APPDATA'] ?? join(home, 'AppData', 'Roaming'), 'Code', 'User');
    default:
      return join(env['XDG_CONFIG_HOME'] ?? join(home, '.config'), 'Code', 'User');
  }
}

/** Claude Desktop's configuration file for a platform. */
export function claudeDesktopConfigPath(options: { home?: string; platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv } = {}): string {
  const home = options.home ?? homedir();
  const env = options.env ?? process.env;
  switch (options.platform ?? process.platform) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json');
    case 'win32':
      return join(env['APPDATA'] ?? join(home, 'AppData', 'Roaming'), 'Claude', 'claude_desktop_config.json');
    default:
      return join(env['XDG_CONFIG_HOME'] ?? join(home, '.config'), 'Claude', 'claude_desktop_config.json');
  }
}

/**
 * Every place an MCP configuration may live, whether or not the file exists: per workspace folder
 * `.vscode/mcp.json` and `.mcp.json` (and `.mcpcp/config.yaml`), VS Code's user `mcp.json`, Claude
 * Desktop's file, and the control plane's own files.
 */
export function mcpConfigLocations(options: LocationOptions = {}): McpConfigLocation[] {
  const out: McpConfigLocation[] = [];
  for (const folder of options.workspaceFolders ?? []) {
    out.push({ path: join(folder, '.vscode', 'mcp.json'), kind: 'vscode-workspace', scope: 'workspace', workspaceFolder: folder });
    out.push({ path: join(folder, '.mcp.json'), kind: 'claude-code', scope: 'workspace', workspaceFolder: folder });
    out.push({ path: join(folder, '.mcpcp', 'config.yaml'), kind: 'mcpcp-yaml', scope: 'workspace', workspaceFolder: folder });
  }
  const userDir = options.vscodeUserDir ?? defaultVsCodeUserDir(options);
  out.push({ path: join(userDir, 'mcp.json'), kind: 'vscode-user', scope: 'user' });
  out.push({ path: claudeDesktopConfigPath(options), kind: 'claude-desktop', scope: 'user' });
  for (const file of options.ownConfigFiles ?? []) {
    if (out.some((l) => l.path === file)) continue;
    out.push({ path: file, kind: /\.ya?ml$/i.test(file) ? 'mcpcp-yaml' : 'mcpcp-settings', scope: 'user' });
  }
  return out;
}

/** How the servers of a configuration reach their programs. */
export type Transport = 'stdio' | 'http' | 'sse';

/** One server entry as a configuration file writes it, normalised across formats. */
export interface SourceServer {
  /** The entry's key in the file. */
  name: string;
  /** Where the entry is: `['servers', name]`, `['mcpServers', name]`... */
  path: JsonPath;
  transport: Transport;
  command?: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  envFile?: string;
  url?: string;
  headers: Record<string, string>;
  /** Per-call timeout in ms (`timeout`: milliseconds, or seconds when below 1000; ours: `timeoutMs`). */
  timeoutMs?: number;
  retries?: number;
  /** The entry is switched off in its file (`disabled: true`, ours: `enabled: false`). */
  disabled: boolean;
  /** Fields the conversion does not know (kept out of the adopted entry). */
  unknownFields: string[];
  /** The raw entry object. */
  raw: Record<string, unknown>;
}

/** A VS Code `inputs` entry: a value asked of the user when a server starts. */
export interface SourceInput {
  id: string;
  type: string;
  description?: string;
  password: boolean;
  options?: string[];
  default?: string;
}

export interface ParsedMcpConfig {
  location: McpConfigLocation;
  syntax: ConfigSyntax;
  text: string;
  servers: SourceServer[];
  inputs: SourceInput[];
  /** Syntax errors and entries that could not be read, each with its position. */
  problems: { message: string; position?: TextPosition; path?: JsonPath }[];
}

const KNOWN_FIELDS = new Set(['type', 'command', 'args', 'env', 'cwd', 'envFile', 'url', 'headers', 'timeout', 'timeoutMs', 'retries', 'disabled', 'enabled', 'description', 'dev', 'gallery', 'version', 'passEnv', 'tools', 'adoptedFrom']);

/** The JSON key holding the servers, by kind. */
export function serversKey(kind: McpConfigKind): string {
  switch (kind) {
    case 'vscode-workspace':
    case 'vscode-user':
    case 'mcpcp-yaml':
      return 'servers';
    case 'mcpcp-settings':
      return 'mcpControlPlane.servers';
    default:
      return 'mcpServers';
  }
}

/**
 * Guesses a file's kind from its name and content, for files named on a command line: `.yaml` is
 * ours, `mcpControlPlane.servers` a settings file, `mcpServers` Claude's format, `servers` VS Code's.
 */
export function detectKind(path: string, value: unknown): McpConfigKind {
  if (/\.ya?ml$/i.test(path)) return 'mcpcp-yaml';
  const obj = isRecord(value) ? value : {};
  if ('mcpControlPlane.servers' in obj) return 'mcpcp-settings';
  if ('mcpServers' in obj) return basename(path) === 'claude_desktop_config.json' ? 'claude-desktop' : basename(path) === '.mcp.json' ? 'claude-code' : 'mcp-servers';
  if (basename(dirname(path)) === '.vscode') return 'vscode-workspace';
  return 'vscode-user';
}

/** Reads and parses a configuration file; `undefined` when it does not exist. */
export async function readMcpConfig(location: McpConfigLocation): Promise<ParsedMcpConfig | undefined> {
  let text: string;
  try {
    text = await readFile(location.path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ControlPlaneError('MCP_CONFIG_UNREADABLE', `cannot read ${location.path}: ${code ?? String(err)}`, { cause: err, details: { file: location.path } });
  }
  return parseMcpConfig(text, location);
}

/** A location for a file named explicitly (command line, file picker). */
export function locationForFile(path: string, text: string, workspaceFolder?: string): McpConfigLocation {
  const syntax = syntaxFor(path);
  const kind = detectKind(path, syntax.parse(text).value);
  const folder = workspaceFolder ?? (kind === 'vscode-workspace' ? dirname(dirname(path)) : kind === 'claude-code' ? dirname(path) : kind === 'mcpcp-yaml' && basename(dirname(path)) === '.mcpcp' ? dirname(dirname(path)) : undefined);
  return { path, kind, scope: kind === 'vscode-workspace' || kind === 'claude-code' ? 'workspace' : 'user', ...(folder ? { workspaceFolder: folder } : {}) };
}

/**
 * Parses a configuration text of any supported kind. Never throws for bad content: syntax errors
 * and unreadable entries become `problems` with positions, and what can be read is returned.
 */
export function parseMcpConfig(text: string, location: McpConfigLocation): ParsedMcpConfig {
  const syntax = syntaxFor(location.path);
  const parsed = syntax.parse(text);
  const problems: ParsedMcpConfig['problems'] = parsed.errors.map((e) => ({ message: e.message, position: e.position }));
  const result: ParsedMcpConfig = { location, syntax, text, servers: [], inputs: [], problems };
  const root = parsed.value;
  if (root === undefined || root === null) return result;
  if (!isRecord(root)) {
    problems.push({ message: 'the file is not a JSON object', position: { line: 1, column: 1, offset: 0 } });
    return result;
  }
  const key = serversKey(location.kind);
  const servers = root[key];
  if (servers !== undefined && !isRecord(servers)) {
    problems.push({ message: `"${key}" is not an object`, path: [key], ...pos(syntax, text, [key]) });
  }
  const own = location.kind === 'mcpcp-yaml' || location.kind === 'mcpcp-settings';
  for (const [name, entry] of Object.entries(isRecord(servers) ? servers : {})) {
    const path = [key, name];
    if (!isRecord(entry)) {
      problems.push({ message: `server "${name}" is not an object`, path, ...pos(syntax, text, path) });
      continue;
    }
    // In our own files an entry without command or url configures a built-in server.
    if (own && entry['command'] === undefined && entry['url'] === undefined) continue;
    const server = readServer(name, path, entry, own);
    if (typeof server === 'string') problems.push({ message: `server "${name}": ${server}`, path, ...pos(syntax, text, path) });
    else result.servers.push(server);
  }
  if (location.kind === 'vscode-workspace' || location.kind === 'vscode-user') {
    const inputs = root['inputs'];
    if (Array.isArray(inputs)) {
      for (const input of inputs) {
        if (!isRecord(input) || typeof input['id'] !== 'string') continue;
        result.inputs.push({
          id: input['id'],
          type: typeof input['type'] === 'string' ? input['type'] : 'promptString',
          ...(typeof input['description'] === 'string' ? { description: input['description'] } : {}),
          password: input['password'] === true,
          ...(Array.isArray(input['options']) ? { options: input['options'].filter((o): o is string => typeof o === 'string') } : {}),
          ...(typeof input['default'] === 'string' ? { default: input['default'] } : {}),
        });
      }
    }
  }
  return result;
}

function readServer(name: string, path: JsonPath, entry: Record<string, unknown>, own: boolean): SourceServer | string {
  const str = (k: string): string | undefined => (typeof entry[k] === 'string' ? (entry[k] as string) : undefined);
  const strings = (k: string): Record<string, string> => {
    const v = entry[k];
    if (!isRecord(v)) return {};
    // Numbers and booleans in env are common in hand-written files; they arrive as strings.
    return Object.fromEntries(Object.entries(v).filter(([, x]) => ['string', 'number', 'boolean'].includes(typeof x)).map(([k2, x]) => [k2, String(x)]));
  };
  const command = str('command');
  const url = str('url');
  const declared = str('type');
  let transport: Transport;
  if (declared === 'stdio' || declared === 'http' || declared === 'sse') transport = declared;
  else if (declared === 'streamable-http' || declared === 'streamableHttp') transport = 'http';
  else if (declared !== undefined) return `unknown type "${declared}"`;
  else transport = url !== undefined && command === undefined ? 'http' : 'stdio';
  if (transport === 'stdio' && command === undefined) return 'a stdio server needs "command"';
  if (transport !== 'stdio' && url === undefined) return `an ${transport} server needs "url"`;
  const rawTimeout = own ? entry['timeoutMs'] : (entry['timeout'] ?? entry['timeoutMs']);
  const timeoutMs = typeof rawTimeout === 'number' && rawTimeout > 0 ? (own || rawTimeout >= 1000 || entry['timeoutMs'] !== undefined ? rawTimeout : rawTimeout * 1000) : undefined;
  const args = Array.isArray(entry['args']) ? entry['args'].filter((a) => ['string', 'number', 'boolean'].includes(typeof a)).map(String) : [];
  return {
    name,
    path,
    transport,
    ...(command !== undefined ? { command } : {}),
    args,
    env: strings('env'),
    ...(str('cwd') !== undefined ? { cwd: str('cwd')! } : {}),
    ...(str('envFile') !== undefined ? { envFile: str('envFile')! } : {}),
    ...(url !== undefined ? { url } : {}),
    headers: strings('headers'),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(typeof entry['retries'] === 'number' ? { retries: entry['retries'] } : {}),
    disabled: entry['disabled'] === true || entry['enabled'] === false,
    unknownFields: Object.keys(entry).filter((k) => !KNOWN_FIELDS.has(k)),
    raw: entry,
  };
}

function pos(syntax: ConfigSyntax, text: string, path: JsonPath): { position?: TextPosition } {
  const p = syntax.locate(text, path);
  return p ? { position: p } : {};
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
