import { homedir } from 'node:os';
import { basename, sep } from 'node:path';
import { serverConfigSchema, type ServerConfig } from '../config/schema';
import { SECRET_NAME } from '../secrets/secret-store';
import type { McpConfigLocation, SourceInput, SourceServer } from './mcp-config';
import type { SecretScanner } from './secret-scan';
import { moveArgSecretsToEnv } from './arg-secrets';

/** A secret an adoption puts in the secret store. */
export interface PlannedSecret {
  /** The store name, referenced as `${secret:name}`. */
  name: string;
  /** Where it was: `env.GITHUB_TOKEN`, `headers.Authorization`, `args[3]`, `url`. */
  origin: string;
  /** `plaintext`: the value was in the file; `input`: VS Code would have prompted for it. */
  kind: 'plaintext' | 'input';
  inputId?: string;
  /** For plaintext: the redactor pattern (or key rule) that recognised it. */
  detector?: string;
  /** The plaintext value moved out of the file. Never displayed, logged or audited. */
  value?: string;
  /** An input whose secret the store already holds: nothing to ask. */
  existing?: boolean;
}

/** Hands out unique secret names (from `secretNameFor`), suffixed `-2`, `-3`… when taken. */
export class SecretNamer {
  private readonly taken: Set<string>;

  constructor(existing: Iterable<string>) {
    this.taken = new Set(existing);
  }

  /** A free name derived from `base`. */
  allocate(base: string): string {
    const clean = secretNameFrom(base);
    let name = clean;
    for (let n = 2; this.taken.has(name); n++) name = `${clean.slice(0, 120)}-${n}`;
    this.taken.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.taken.has(name);
  }
}

/** A valid secret name from any text: lower-case letters, digits, `.` and `-` (`GITHUB_TOKEN` → `github-token`). */
export function secretNameFrom(text: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-._]+|-+$/g, '').slice(0, 128);
  return SECRET_NAME.test(name) ? name : `secret-${name}`.slice(0, 128);
}

/**
 * The store name for a server's secret found under `key`: `<server>-<key>`, without saying the
 * server twice when the key already names it (`memory` + `MEMORY_API_TOKEN` → `memory-api-token`,
 * `my-memory` + `MEMORY_TOKEN` → `my-memory-token`, `github` + `X_GITHUB_TOKEN` → `x-github-token`).
 */
export function secretNameFor(server: string, key: string): string {
  const serverParts = secretNameFrom(server).split('-').filter(Boolean);
  const keyParts = secretNameFrom(key).split('-').filter(Boolean);
  if (serverParts.length === 0) return secretNameFrom(key);
  if (keyParts.length === 0) return secretNameFrom(server);
  // The key holds the server's whole name: it says enough.
  for (let i = 0; i + serverParts.length <= keyParts.length; i++) {
    if (serverParts.every((p, j) => keyParts[i + j] === p)) return secretNameFrom(keyParts.join('-'));
  }
  // The key starts with the end of the server's name: said once.
  for (let k = Math.min(serverParts.length, keyParts.length); k > 0; k--) {
    if (serverParts.slice(-k).every((p, j) => keyParts[j] === p)) return secretNameFrom([...serverParts, ...keyParts.slice(k)].join('-'));
  }
  return secretNameFrom([...serverParts, ...keyParts].join('-'));
}

/** A valid server name (`^[a-z][a-z0-9-]{0,39}$`) from an entry's key. */
export function serverNameFrom(text: string): string {
  let name = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(name)) name = `mcp-${name}`.replace(/-+$/, '');
  return name.slice(0, 40).replace(/-+$/, '') || 'server';
}

export interface ConvertContext {
  /** Our name for the server. */
  name: string;
  location: McpConfigLocation;
  inputs: readonly SourceInput[];
  scanner: SecretScanner;
  namer: SecretNamer;
  /** Secret names the store holds already (an input's value stored before is not asked again). */
  storedSecrets: ReadonlySet<string>;
  home?: string;
}

export type ConvertResult = { ok: true; config: ServerConfig; secrets: PlannedSecret[]; warnings: string[] } | { ok: false; reason: string };

/**
 * Turns one entry of an editor's MCP configuration into a control-plane server entry:
 * - `${workspaceFolder}` (and `${workspaceFolderBasename}`, `${userHome}`, `${pathSeparator}`,
 *   `${/}`) become their values; `${env:X}` stays (the control plane's own syntax); a bare
 *   `${X}` (Claude Code's expansion) becomes `${env:X}`;
 * - `${input:id}` becomes `${secret:<server>-<id>}`, whose value is asked once at adoption;
 * - plaintext secrets in env, headers, args and the URL (by the redactor's token shapes and
 *   sensitive key names) become `${secret:<server>-<key>}` references, their values to be stored;
 * - `timeout` becomes `timeoutMs`; `adoptedFrom` records file and entry.
 * Anything else in `${…}` (`${command:…}`, `${config:…}`) cannot be resolved outside VS Code: the
 * entry is refused with the reason.
 */
export function convertServer(server: SourceServer, ctx: ConvertContext): ConvertResult {
  const secrets: PlannedSecret[] = [];
  const warnings: string[] = [];
  const inputSecret = new Map<string, string>();
  let failure: string | undefined;

  const resolve = (value: string, origin: string): string =>
    value.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      const folder = ctx.location.workspaceFolder;
      if (inner === 'workspaceFolder' || inner === 'workspaceRoot' || inner === 'workspaceFolderBasename') {
        if (folder === undefined) {
          failure ??= `${origin} uses \${${inner}}, but the file belongs to no workspace folder`;
          return whole;
        }
        return inner === 'workspaceFolderBasename' ? basename(folder) : folder;
      }
      if (inner === 'userHome') return ctx.home ?? homedir();
      if (inner === 'pathSeparator' || inner === '/') return sep;
      if (/^(?:env|secret):[^}]+$/.test(inner)) return whole;
      const input = /^input:(.+)$/.exec(inner);
      if (input) {
        const id = input[1]!;
        const def = ctx.inputs.find((i) => i.id === id);
        if (!def) {
          failure ??= `${origin} uses \${input:${id}}, but the file declares no input "${id}"`;
          return whole;
        }
        let name = inputSecret.get(id);
        if (name === undefined) {
          const preferred = secretNameFor(ctx.name, id);
          const existing = ctx.storedSecrets.has(preferred);
          name = existing ? preferred : ctx.namer.allocate(preferred);
          inputSecret.set(id, name);
          secrets.push({ name, origin, kind: 'input', inputId: id, ...(existing ? { existing: true } : {}) });
        }
        return `\${secret:${name}}`;
      }
      const bare = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/.exec(inner);
      if (bare) {
        if (bare[2] !== undefined) warnings.push(`${origin}: the default of \${${inner}} is dropped; set ${bare[1]} in the environment`);
        return `\${env:${bare[1]}}`;
      }
      failure ??= `${origin} uses \${${inner}}, which only VS Code can resolve`;
      return whole;
    });

  const extract = (value: string, origin: string, keyForName: string, hits: ReturnType<SecretScanner['scanValue']>): string => {
    if (hits.length === 0) return value;
    let out = '';
    let last = 0;
    hits.forEach((hit, n) => {
      const name = ctx.namer.allocate(`${secretNameFor(ctx.name, keyForName)}${hits.length > 1 ? `-${n + 1}` : ''}`);
      secrets.push({ name, origin, kind: 'plaintext', detector: hit.detector, value: value.slice(hit.start, hit.end) });
      out += `${value.slice(last, hit.start)}\${secret:${name}}`;
      last = hit.end;
    });
    return out + value.slice(last);
  };

  const config: ServerConfig = {};
  if (server.transport !== 'stdio') config.type = server.transport;
  if (server.command !== undefined) config.command = resolve(server.command, 'command');
  if (server.args.length > 0) {
    const args = server.args.map((a, i) => resolve(a, `args[${i}]`));
    const hits = ctx.scanner.scanArgs(args);
    config.args = args.map((a, i) => {
      const mine = hits.filter((h) => h.index === i).map((h) => h.hit);
      const flag = /^--?([A-Za-z][\w.-]*)=/.exec(a) ?? /^--([A-Za-z][\w.-]*)$/.exec(args[i - 1] ?? '');
      return extract(a, `args[${i}]`, flag?.[1] ?? `arg${i}`, mine);
    });
  }
  if (Object.keys(server.env).length > 0) {
    config.env = {};
    for (const [k, v] of Object.entries(server.env)) {
      const resolved = resolve(v, `env.${k}`);
      config.env[k] = extract(resolved, `env.${k}`, k, ctx.scanner.scanValue(resolved, k));
    }
  }
  if (server.cwd !== undefined) config.cwd = resolve(server.cwd, 'cwd');
  if (server.envFile !== undefined) config.envFile = resolve(server.envFile, 'envFile');
  if (server.url !== undefined) {
    const url = resolve(server.url, 'url');
    config.url = extract(url, 'url', 'url', ctx.scanner.scanUrl(url));
  }
  if (Object.keys(server.headers).length > 0) {
    config.headers = {};
    for (const [k, v] of Object.entries(server.headers)) {
      const resolved = resolve(v, `headers.${k}`);
      config.headers[k] = extract(resolved, `headers.${k}`, k, ctx.scanner.scanValue(resolved, k));
    }
  }
  if (server.timeoutMs !== undefined) config.timeoutMs = Math.max(1_000, Math.round(server.timeoutMs));
  if (server.retries !== undefined) config.retries = Math.min(100, Math.max(0, Math.round(server.retries)));
  config.adoptedFrom = { file: ctx.location.path, name: server.name };
  if (failure) return { ok: false, reason: failure };
  // A secret in the arguments is readable by every local user (the process list): into the
  // environment where the server reads it there; otherwise it waits for a human's opt-in.
  const { config: moved, moved: movedNotes, left } = moveArgSecretsToEnv(config);
  Object.assign(config, moved);
  if (moved.args === undefined) delete config.args;
  for (const note of movedNotes) warnings.push(`secret moved out of the arguments: ${note}`);
  if (left.length > 0) warnings.push(`${left.map((i) => `args[${i}]`).join(', ')} holds a secret, visible in the process list; the server does not read it from the environment, so it starts only after you opt in with allowSecretInArgs: true`);
  for (const f of server.unknownFields) warnings.push(`field "${f}" is not carried over`);
  const checked = serverConfigSchema.safeParse(config);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join('.') || 'entry'}: ${issue.message}` };
  }
  return { ok: true, config: checked.data, secrets, warnings };
}
