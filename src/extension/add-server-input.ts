// What "Add Server…" turns the human's typing into: a command line split into program and
// arguments (quotes and backslashes as a POSIX shell reads them, but nothing expanded and no shell
// run), `NAME=value` / `Name: value` pairs, and an in-memory MCP configuration that the adoption
// engine (src/core/adopt) plans and adopts like any other, so secrets and consent go the same way.
// No 'vscode' import: unit tests load this.
import type { ParsedMcpConfig, SourceServer } from '../core/adopt';
import { JSONC_SYNTAX } from '../core/adopt';
import { serverNameSchema } from '../core/config/schema';

/** Where a server typed into "Add Server…" comes from, as the consent dialog names it. */
export const ADD_SERVER_SOURCE = 'Add Server… (typed in VS Code)';

/**
 * Splits a command line into words: blanks separate; '…' keeps everything literally; "…" keeps
 * everything but `\"`, `\\`, `\$` and `` \` ``; a backslash outside quotes keeps the next character.
 * `$VAR`, `~`, globs, `;`, `|` and `&&` stay plain text: the program is run directly, not by a shell.
 * Throws on an unterminated quote or a trailing backslash.
 */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) throw new Error('a single quote is not closed');
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) j++;
        word += text[j];
      }
      if (j >= text.length) throw new Error('a double quote is not closed');
      inWord = true;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new Error('the line ends with a backslash');
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Why a typed server name cannot be used, or undefined. */
export function serverNameProblem(name: string, taken: Iterable<string>): string | undefined {
  const parsed = serverNameSchema.safeParse(name);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? 'invalid name';
  if (new Set(taken).has(name)) return `a server named "${name}" exists already`;
  return undefined;
}

/** A server name proposed from a command line or URL: the package or host, lower case. */
export function proposedName(words: readonly string[] | undefined, url: string | undefined): string {
  let base = '';
  if (url !== undefined) {
    try {
      base = new URL(url).hostname.split('.').filter((p) => p !== 'www' && p !== 'mcp' && p !== 'api')[0] ?? '';
    } catch {
      base = '';
    }
  } else if (words && words.length > 0) {
    // `npx -y @scope/server-memory@1.2` → server-memory; `node /x/y/fixture.js` → fixture.
    const candidates = words.filter((w) => !w.startsWith('-'));
    const last = candidates.length > 1 ? candidates[candidates.length - 1]! : candidates[0] ?? '';
    base = last.replace(/@[^/@]*$/, '').split(/[\\/]/).pop()!.replace(/\.(m?js|cjs|ts|py|exe)$/i, '');
  }
  const name = base.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').replace(/^[^a-z]+/, '').slice(0, 40).replace(/-+$/, '');
  return name || 'server';
}

/** `NAME=value` (environment) or `Name: value` (header); undefined when it is not one. */
export function parsePair(text: string, kind: 'env' | 'header'): { key: string; value: string } | undefined {
  const m = kind === 'env' ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(text.trim()) : /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*)$/s.exec(text.trim());
  return m ? { key: m[1]!, value: m[2]! } : undefined;
}

export interface TypedServer {
  name: string;
  /** The command line's words (stdio), or undefined for a URL. */
  words?: string[];
  url?: string;
  env?: Record<string, string>;
  headers?: Record<string, string>;
}

/**
 * The typed server as a one-entry MCP configuration for `planAdoption`: plaintext secrets in env
 * values and headers (and the URL) are then found by the same scanner as adoption and moved to the
 * secret store as `${secret:<name>-<key>}`.
 */
export function typedServerConfig(typed: TypedServer): ParsedMcpConfig {
  const server: SourceServer = {
    name: typed.name,
    path: ['servers', typed.name],
    transport: typed.url !== undefined ? 'http' : 'stdio',
    ...(typed.words ? { command: typed.words[0]! } : {}),
    args: typed.words ? typed.words.slice(1) : [],
    env: typed.env ?? {},
    ...(typed.url !== undefined ? { url: typed.url } : {}),
    headers: typed.headers ?? {},
    disabled: false,
    unknownFields: [],
    raw: {},
  };
  return {
    location: { path: ADD_SERVER_SOURCE, kind: 'mcp-servers', scope: 'user' },
    syntax: JSONC_SYNTAX,
    text: '',
    servers: [server],
    inputs: [],
    problems: [],
  };
}
