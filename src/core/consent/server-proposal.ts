import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, delimiter, isAbsolute, relative, resolve, sep } from 'node:path';
import { canonicalJson, sha256Hex } from '../canonical-json';
import type { ServerConfig } from '../config/schema';
import { proposalId, type Proposal } from './store';

const SECRET_REF = /\$\{secret:([^}]+)\}/g;

/** Where a proposed server's relative paths and program lookups start. */
export interface ProposalContext {
  /** Real path of the proposing file, or `vscode-settings:<folder>`. */
  source: string;
  env: NodeJS.ProcessEnv;
  /** The working directory a child without `cwd` gets (the first root). */
  defaultCwd: string;
  /** Folders that belong to the workspace: code under them came with it. */
  rootPaths: readonly string[];
}

/** Interpreters whose first file argument is the code they run. */
const INTERPRETERS = new Set(['node', 'nodejs', 'python', 'python3', 'deno', 'bun', 'ruby', 'perl', 'php', 'sh', 'bash', 'zsh', 'dash', 'tsx', 'ts-node', 'java', 'go', 'uv', 'cargo', 'dotnet', 'pwsh']);
/** Package runners: a local path among their arguments runs workspace code. */
const RUNNERS = new Set(['npx', 'pnpm', 'pnpx', 'bunx', 'yarn', 'uvx', 'pipx', 'deno', 'npm']);

/**
 * What a workspace-proposed server would run, as the consent dialog shows it, and the SHA-256 of
 * the whole resolved spec: the resolved executable's real path, arguments, environment (with its
 * `${secret:}` and `${env:}` references as written), the `envFile`'s content, the working directory,
 * URL, headers and passEnv. Any change gives another hash, hence another proposal id: a grant for
 * the old one does not apply.
 */
export async function serverProposal(name: string, entry: ServerConfig, ctx: ProposalContext): Promise<Proposal> {
  const type = entry.type ?? (entry.url !== undefined ? 'http' : 'stdio');
  const cwd = entry.cwd === undefined ? ctx.defaultCwd : entry.cwd.includes('${') ? entry.cwd : resolve(ctx.defaultCwd, entry.cwd);
  const envFilePath = entry.envFile === undefined ? undefined : isAbsolute(entry.envFile) ? entry.envFile : resolve(ctx.defaultCwd, entry.envFile);
  let envFileContent: string | null = null;
  if (envFilePath !== undefined) {
    try {
      envFileContent = await readFile(envFilePath, 'utf8');
    } catch {
      envFileContent = null;
    }
  }
  const executable = type === 'stdio' && entry.command !== undefined ? resolveExecutable(entry.command, cwd, ctx.env) : undefined;
  // Files of the workspace the command names (a script, a local package): their content too, so an
  // edit to the code after consent asks again.
  const workspaceFiles: Record<string, string | null> = {};
  if (type === 'stdio') {
    for (const candidate of [executable, ...(entry.args ?? []).filter((a) => !a.startsWith('-') && !a.includes('${')).map((a) => resolve(cwd, a.replace(/^file:/, '')))]) {
      if (candidate === undefined || !insideRoots(candidate, ctx.rootPaths)) continue;
      try {
        if (statSync(candidate).isFile()) workspaceFiles[candidate] = sha256Hex(await readFile(candidate));
      } catch {
        // Not a file: nothing to hash.
      }
    }
  }
  const spec = {
    type,
    command: entry.command ?? null,
    executable: executable ?? null,
    args: entry.args ?? [],
    env: entry.env ?? {},
    envFile: envFilePath ?? null,
    envFileContent,
    cwd,
    url: entry.url ?? null,
    headers: entry.headers ?? {},
    passEnv: entry.passEnv ?? [],
    timeoutMs: entry.timeoutMs ?? null,
    retries: entry.retries ?? null,
    workspaceFiles,
  };
  const hash = sha256Hex(canonicalJson(spec));
  const refs = (texts: readonly string[]): string[] => [...new Set(texts.flatMap((t) => [...t.matchAll(SECRET_REF)].map((m) => m[1]!)))].sort();
  const argSecrets = refs(spec.args);
  const secrets = refs([...spec.args, ...Object.values(spec.env), envFileContent ?? '', spec.url ?? '', ...Object.values(spec.headers), cwd]);
  const workspaceCode = type === 'stdio' && entry.command !== undefined ? workspaceCodeOf(entry.command, executable, spec.args, cwd, ctx.rootPaths) : undefined;
  const summary: string[] = [`Server "${name}", proposed by ${ctx.source}`];
  if (type === 'stdio') {
    summary.push(`runs: ${[entry.command ?? '', ...spec.args].map(quote).join(' ')}`);
    summary.push(`program: ${executable ?? `${entry.command} (not found on PATH)`}`);
    summary.push(`in: ${cwd}`);
  } else {
    summary.push(`connects to: ${spec.url} (${type})`);
    for (const [k, v] of Object.entries(spec.headers)) summary.push(`header ${k}: ${v}`);
  }
  if (workspaceCode) summary.push(`This runs code from the workspace itself: ${workspaceCode}. Read it before you consent.`);
  for (const [k, v] of Object.entries(spec.env)) summary.push(`env ${k}=${v}`);
  if (envFilePath) summary.push(`env file: ${envFilePath}${envFileContent === null ? ' (missing)' : ` (${envFileContent.split(/\r?\n/).filter((l) => /^\s*[A-Za-z_]/.test(l)).length} variables)`}`);
  if (spec.passEnv.length > 0) summary.push(`passes host variables: ${spec.passEnv.join(', ')}`);
  if (spec.timeoutMs !== null) summary.push(`calls may run up to ${Math.round(spec.timeoutMs / 1000)} s`);
  if (secrets.length > 0) summary.push(`receives secrets: ${secrets.join(', ')} (bound to this exact spec; any change asks again)`);
  if (argSecrets.length > 0) summary.push(`secret in the arguments, visible to every local user in the process list: ${argSecrets.join(', ')}; consenting also opts in to that`);
  return { kind: 'server', id: proposalId('server', ctx.source, name, hash), source: ctx.source, name, hash, secrets, argSecrets, ...(workspaceCode ? { workspaceCode } : {}), summary };
}

/** The real path of the program `command` names, found as a shell would (PATH), or undefined. */
export function resolveExecutable(command: string, cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = command.includes('/') || command.includes('\\') ? [resolve(cwd, command)] : (env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => resolve(d, command));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return realpathSync(c);
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** In words, which workspace code the command runs; undefined when none is recognised. */
export function workspaceCodeOf(command: string, executable: string | undefined, args: readonly string[], cwd: string, roots: readonly string[]): string | undefined {
  const inRoots = (p: string): boolean => roots.some((r) => p === r || p.startsWith(r.endsWith(sep) ? r : `${r}${sep}`));
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  if (executable !== undefined && inRoots(executable)) return `the program ${command} is a file of the workspace (${executable})`;
  const program = basename(command).replace(/\.(exe|cmd)$/i, '').replace(/[0-9.]+$/, (m) => (m.startsWith('.') ? '' : m));
  const looksLocal = (a: string): boolean => a.startsWith('./') || a.startsWith('../') || a.startsWith('/') || a.startsWith('file:') || a.startsWith('.\\');
  const localFile = (a: string): string | undefined => {
    if (a.startsWith('-') || a.includes('${')) return undefined;
    const path = resolve(cwd, a.replace(/^file:/, ''));
    if ((looksLocal(a) || existsSync(path)) && inRoots(real(path))) return a;
    return undefined;
  };
  const base = program.replace(/[0-9]+$/, '');
  if (INTERPRETERS.has(program) || INTERPRETERS.has(base)) {
    const file = args.map(localFile).find((a) => a !== undefined);
    if (file) return `${program} runs ${file}, a file of the workspace`;
  }
  if (RUNNERS.has(program)) {
    const local = args.find((a) => !a.startsWith('-') && looksLocal(a) && inRoots(real(resolve(cwd, a.replace(/^file:/, '')))));
    if (local) return `${program} runs the local package ${local}, which is part of the workspace`;
    const local2 = args.find((a) => !a.startsWith('-') && looksLocal(a));
    if (local2) return `${program} runs the local path ${local2}`;
  }
  if (inRoots(real(cwd)) && (INTERPRETERS.has(program) || RUNNERS.has(program)) && args.some((a) => localFile(a) !== undefined)) {
    return `${program} runs files from ${relative(roots[0] ?? cwd, cwd) || 'the workspace'}`;
  }
  return undefined;
}

function insideRoots(path: string, roots: readonly string[]): boolean {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  return roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : `${r}${sep}`));
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : JSON.stringify(s);
}
