// Whether a secret moved out of a workspace file is still in the repository's git history. The
// secret never leaves this process: git streams every object (`cat-file --batch-all-objects
// --batch`) and the search happens here, so no command line or child environment holds it.
// git runs against a repository whose config the workspace's author wrote: with no system or
// global config, and with every program-valued key the repository sets put back to a value that
// runs nothing (the git server's own guard, src/servers/git/config-guard.ts).
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { configEnv, neutralise, parseConfigList } from '../../servers/git/config-guard';
import { errorMessage } from '../errors';

export interface HistoryScanOptions {
  /** Where PATH and HOME come from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Folders whose content the workspace's author controls (the workspace folders): PATH entries inside them, or inside the scanned folder, are dropped. */
  untrustedRoots?: readonly string[];
  /** Wall-clock budget for the whole scan. Default 30 s. */
  timeoutMs?: number;
  /** Object bytes read at most. Default 1 GiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** Where a secret was found: a commit that added or removed it, and the file's path there. */
export interface HistoryLocation {
  commit: string;
  path?: string;
}

export interface HistoryHit {
  /** The secret's store name. */
  name: string;
  /** Commits (and paths) that added or removed it, when cheaply known; empty otherwise. */
  locations: HistoryLocation[];
  /** Objects (blobs, commits…) holding it. */
  objects: number;
}

export interface HistoryScan {
  /** `partial`: stopped at a bound; `found` holds what was seen until then. */
  status: 'not-a-repository' | 'complete' | 'partial' | 'failed';
  /** The repository's top level (or git dir, when bare). */
  repository?: string;
  found: HistoryHit[];
  objects: number;
  bytes: number;
  /** Why the scan is partial or failed. */
  reason?: string;
}

/** Config every git call here gets, before the repository's own config is even read. */
const BASE_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['core.fsmonitor', 'false'],
  ['core.hooksPath', '/dev/null'],
  ['core.pager', 'cat'],
];

/**
 * Searches every object of the git repository holding `folder` for each secret's value. Bounded
 * by `timeoutMs` and `maxBytes` (status `partial` past either). Commits and paths that added or
 * removed a found blob come from `git log --find-object` (object ids only on its command line).
 */
export async function scanGitHistory(folder: string, secrets: ReadonlyArray<{ name: string; value: string }>, options: HistoryScanOptions = {}): Promise<HistoryScan> {
  const wanted = secrets.filter((s) => s.value.length >= 4).map((s) => ({ name: s.name, bytes: Buffer.from(s.value, 'utf8') }));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const maxBytes = options.maxBytes ?? 1024 ** 3;
  const base = await baseEnv([folder, ...(options.untrustedRoots ?? [])], options.env ?? process.env);
  const run = (args: string[], env: Record<string, string>, onStdout?: (chunk: Buffer, stop: (reason: string) => void) => void): Promise<GitRun> =>
    runGit(folder, args, env, { deadline, ...(onStdout ? { onStdout } : {}), ...(options.signal ? { signal: options.signal } : {}) });

  const empty = { found: [], objects: 0, bytes: 0 };
  let env = { ...base, ...configEnv(BASE_CONFIG) };
  const located = await run(['rev-parse', '--absolute-git-dir'], env);
  if (located.code !== 0) {
    return /not a git repository/i.test(located.stderr) ? { status: 'not-a-repository', ...empty } : { status: 'failed', ...empty, reason: located.stopped ?? gitFailure(located) };
  }
  const gitDir = located.stdout.toString('utf8').trim();
  const repository = basename(gitDir) === '.git' ? dirname(gitDir) : gitDir;
  if (wanted.length === 0) return { status: 'complete', repository, ...empty };

  const listed = await run(['config', '--list', '--show-scope', '-z'], env);
  if (listed.code !== 0) return { status: 'failed', repository, ...empty, reason: listed.stopped ?? gitFailure(listed) };
  const { overrides } = neutralise(parseConfigList(listed.stdout.toString('utf8')), '/dev/null');
  env = { ...base, ...configEnv([...BASE_CONFIG, ...overrides]) };

  const scanner = new ObjectScanner(wanted, maxBytes);
  const scan = await run(['cat-file', '--batch-all-objects', '--batch', '--unordered'], env, (chunk, stop) => {
    scanner.push(chunk);
    if (scanner.bytes > maxBytes) stop(`stopped after ${mib(maxBytes)} of objects`);
  });
  const found = new Map<string, { oids: Array<{ oid: string; type: string }> }>();
  for (const m of scanner.matches) {
    const entry = found.get(m.name) ?? { oids: [] };
    entry.oids.push({ oid: m.oid, type: m.type });
    found.set(m.name, entry);
  }
  const counts = { objects: scanner.objects, bytes: scanner.bytes };
  if (scan.code !== 0 && scan.stopped === undefined) return { status: 'failed', repository, found: toHits(found, new Map()), ...counts, reason: gitFailure(scan) };

  // Where: commits that added or removed each found blob (a few per secret), with the path.
  const locations = new Map<string, HistoryLocation[]>();
  for (const [, { oids }] of found) {
    for (const { oid, type } of oids.slice(0, 3)) {
      if (locations.has(oid) || Date.now() > deadline) continue;
      if (type === 'commit') {
        locations.set(oid, [{ commit: oid }]);
        continue;
      }
      if (type !== 'blob') continue;
      const log = await run(['log', '--all', '--no-renames', '--no-show-signature', '--no-textconv', '--no-ext-diff', '--format=commit %H', '--raw', '--no-abbrev', '-n', '5', `--find-object=${oid}`], env);
      if (log.code !== 0) continue;
      locations.set(oid, parseRawLog(log.stdout.toString('utf8'), oid));
    }
  }
  const hits = toHits(found, locations);
  if (scan.stopped !== undefined) return { status: 'partial', repository, found: hits, ...counts, reason: scan.stopped };
  return { status: 'complete', repository, found: hits, ...counts };
}

/**
 * What to tell the user about a scan, one line each, naming secrets and never their values:
 * found → rotate (with where); partial → not fully scanned; failed → could not be scanned.
 */
export function describeHistoryScan(scan: HistoryScan, how: { setSecret: (name: string) => string }): string[] {
  const lines: string[] = [];
  for (const hit of scan.found) {
    const where = hit.locations.length > 0
      ? hit.locations.slice(0, 3).map((l) => `${l.path ? `${l.path} in ` : ''}commit ${l.commit.slice(0, 12)}`).join(', ')
      : "the repository's objects";
    lines.push(`The secret "${hit.name}" is in the git history of ${scan.repository ?? 'this repository'} (${where}): anyone with a clone has it, and removing it from the file does not remove it from history. Rotate it where it was issued, then store the new value (${how.setSecret(hit.name)}).`);
  }
  if (scan.status === 'partial') lines.push(`The git history of ${scan.repository ?? 'this repository'} was not fully scanned for the moved secrets (${scan.reason}); if the file was ever committed, rotate them.`);
  if (scan.status === 'failed') lines.push(`The git history could not be scanned for the moved secrets (${scan.reason}); if the file was ever committed, rotate them.`);
  return lines;
}

function toHits(found: Map<string, { oids: Array<{ oid: string }> }>, locations: Map<string, HistoryLocation[]>): HistoryHit[] {
  return [...found].map(([name, { oids }]) => {
    const seen = new Set<string>();
    const list: HistoryLocation[] = [];
    for (const { oid } of oids) {
      for (const l of locations.get(oid) ?? []) {
        const key = `${l.commit}\0${l.path ?? ''}`;
        if (!seen.has(key)) (seen.add(key), list.push(l));
      }
    }
    return { name, locations: list, objects: oids.length };
  });
}

/** `commit <sha>` lines followed by `--raw` lines; keeps the paths whose old or new side is `oid`. */
function parseRawLog(text: string, oid: string): HistoryLocation[] {
  const out: HistoryLocation[] = [];
  let commit = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('commit ')) {
      commit = line.slice(7).trim();
      continue;
    }
    const m = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) \w+\t(.*)$/.exec(line);
    if (m && commit && (m[1] === oid || m[2] === oid)) out.push({ commit, path: m[3]! });
  }
  return out;
}

/**
 * Parses `git cat-file --batch` output (`<oid> <type> <size>\n<content>\n` per object) as it
 * streams, searching each object's content for every wanted value, across chunk boundaries.
 */
export class ObjectScanner {
  readonly matches: Array<{ name: string; oid: string; type: string }> = [];
  objects = 0;
  bytes = 0;
  private header = Buffer.alloc(0);
  private current: { oid: string; type: string; left: number; carry: Buffer; hit: Set<string> } | undefined;
  /** Bytes of the newline after an object's content still to skip. */
  private skip = 0;
  private readonly overlap: number;

  constructor(
    private readonly wanted: ReadonlyArray<{ name: string; bytes: Buffer }>,
    private readonly maxBytes: number,
  ) {
    this.overlap = Math.max(0, ...wanted.map((w) => w.bytes.length - 1));
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.bytes <= this.maxBytes) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      if (this.current) {
        const n = Math.min(this.current.left, chunk.length - at);
        this.search(chunk.subarray(at, at + n));
        this.current.left -= n;
        this.bytes += n;
        at += n;
        if (this.current.left === 0) {
          this.current = undefined;
          this.skip = 1;
        }
        continue;
      }
      const nl = chunk.indexOf(0x0a, at);
      if (nl === -1) {
        this.header = Buffer.concat([this.header, chunk.subarray(at)]);
        return;
      }
      const line = Buffer.concat([this.header, chunk.subarray(at, nl)]).toString('latin1');
      this.header = Buffer.alloc(0);
      at = nl + 1;
      const m = /^([0-9a-f]+) (\w+) (\d+)$/.exec(line);
      if (!m) continue; // "<oid> missing" and the like: no content follows
      this.objects++;
      const size = Number(m[3]);
      if (size === 0) {
        this.skip = 1;
        continue;
      }
      this.current = { oid: m[1]!, type: m[2]!, left: size, carry: Buffer.alloc(0), hit: new Set() };
    }
  }

  private search(part: Buffer): void {
    const cur = this.current!;
    const window = cur.carry.length > 0 ? Buffer.concat([cur.carry, part]) : part;
    for (const w of this.wanted) {
      if (cur.hit.has(w.name)) continue;
      if (window.indexOf(w.bytes) !== -1) {
        cur.hit.add(w.name);
        this.matches.push({ name: w.name, oid: cur.oid, type: cur.type });
      }
    }
    cur.carry = this.overlap > 0 ? Buffer.from(window.subarray(Math.max(0, window.length - this.overlap))) : Buffer.alloc(0);
  }
}

interface GitRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** Why it was stopped early (time, bytes, cancelled). */
  stopped?: string;
}

/**
 * Runs one git with a fixed environment, no stdin, no shell. Output is kept (bounded) unless
 * `onStdout` consumes it; `stop` kills git and marks the run as stopped.
 */
function runGit(cwd: string, args: string[], env: Record<string, string>, opts: { deadline: number; onStdout?: (chunk: Buffer, stop: (reason: string) => void) => void; signal?: AbortSignal }): Promise<GitRun> {
  return new Promise((resolveRun) => {
    let stopped: string | undefined;
    const out: Buffer[] = [];
    let outLength = 0;
    let stderr = '';
    let settled = false;
    const child = spawn('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], shell: false, windowsHide: true });
    const stop = (reason: string): void => {
      if (stopped !== undefined) return;
      stopped = reason;
      child.kill('SIGKILL');
    };
    const left = opts.deadline - Date.now();
    const timer = setTimeout(() => stop('stopped at the time limit'), Math.max(0, left));
    timer.unref();
    const onAbort = (): void => stop('cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (stopped !== undefined) return;
      if (opts.onStdout) return opts.onStdout(chunk, stop);
      if (outLength < 8 * 1024 * 1024) (out.push(chunk), (outLength += chunk.length));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 16_384) stderr += chunk.toString('utf8');
    });
    const finish = (code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolveRun({ code, stdout: Buffer.concat(out), stderr, ...(stopped !== undefined ? { stopped } : {}) });
    };
    child.on('error', (err) => {
      stderr += errorMessage(err);
      finish(-1);
    });
    child.on('close', (code) => finish(code));
  });
}

/**
 * The environment git runs with: PATH without relative entries or entries inside the untrusted
 * folders (a repository cannot ship its own `git`), no system or global config, no prompts, no
 * optional locks.
 */
async function baseEnv(untrusted: readonly string[], from: Readonly<Record<string, string | undefined>>): Promise<Record<string, string>> {
  const roots: string[] = [];
  for (const r of untrusted) roots.push(resolve(r), await realpath(r).catch(() => resolve(r)));
  const kept: string[] = [];
  for (const entry of (from['PATH'] ?? '').split(delimiter)) {
    if (entry === '' || !isAbsolute(entry)) continue;
    const real = await realpath(entry).catch(() => resolve(entry));
    if (roots.some((root) => inside(real, root) || inside(resolve(entry), root))) continue;
    kept.push(entry);
  }
  return {
    PATH: kept.join(delimiter),
    ...(from['HOME'] !== undefined ? { HOME: from['HOME'] } : {}),
    LC_ALL: 'C',
    LANGUAGE: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_LAZY_FETCH: '1',
    GIT_PAGER: 'cat',
  };
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`));
}

function gitFailure(run: GitRun): string {
  if (run.code === -1 && /\bENOENT\b/.test(run.stderr)) return 'git was not found on PATH';
  const first = run.stderr.trim().split('\n').find((l) => l.trim() !== '') ?? `git exited with code ${run.code}`;
  return first.replace(/^(?:fatal|error): /, '');
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}
