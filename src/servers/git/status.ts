import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Repository } from './repo';

export interface StatusEntry {
  /** Repository-relative path (the new path for a rename). */
  readonly path: string;
  /** For renames and copies: where it came from. */
  readonly from?: string;
  /** One letter as git prints it: M modified, A added, D deleted, R renamed, C copied, T type changed. */
  readonly change: string;
}

export type OperationState = 'merging' | 'rebasing' | 'cherry-picking' | 'reverting' | 'bisecting' | undefined;

export interface StatusSummary {
  /** Current branch; undefined when HEAD is detached. */
  readonly branch: string | undefined;
  /** HEAD's commit; undefined before the first commit. */
  readonly head: string | undefined;
  readonly upstream: string | undefined;
  readonly ahead: number | undefined;
  readonly behind: number | undefined;
  readonly operation: OperationState;
  readonly staged: readonly StatusEntry[];
  readonly unstaged: readonly StatusEntry[];
  readonly untracked: readonly string[];
  readonly conflicts: readonly string[];
}

/** The arguments of the status command, shared with the benchmark baseline. */
export function statusArgs(paths: readonly string[]): string[] {
  return [
    'status',
    '--porcelain=v2',
    '--branch',
    '-z',
    '--ignore-submodules=dirty',
    '--untracked-files=normal',
    ...(paths.length > 0 ? ['--', ...paths] : []),
  ];
}

/**
 * `git status` as data. Submodules are compared by commit only (`--ignore-submodules=dirty`), so
 * git never runs inside a submodule whose configuration was not checked.
 */
export async function readStatus(repo: Repository, paths: readonly string[] = []): Promise<StatusSummary> {
  const [out, operation] = await Promise.all([repo.read(statusArgs(paths)), readOperation(repo.loc.gitDir)]);
  return { ...parseStatus(out), operation };
}

export function parseStatus(out: string): Omit<StatusSummary, 'operation'> {
  let branch: string | undefined;
  let head: string | undefined;
  let upstream: string | undefined;
  let ahead: number | undefined;
  let behind: number | undefined;
  const staged: StatusEntry[] = [];
  const unstaged: StatusEntry[] = [];
  const untracked: string[] = [];
  const conflicts: string[] = [];
  const fields = out.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const line = fields[i] ?? '';
    if (line.startsWith('# ')) {
      const [, key, ...rest] = line.split(' ');
      const value = rest.join(' ');
      if (key === 'branch.oid') head = value === '(initial)' ? undefined : value;
      else if (key === 'branch.head') branch = value === '(detached)' ? undefined : value;
      else if (key === 'branch.upstream') upstream = value;
      else if (key === 'branch.ab') {
        const m = /^\+(\d+) -(\d+)$/.exec(value);
        if (m) {
          ahead = Number(m[1]);
          behind = Number(m[2]);
        }
      }
    } else if (line.startsWith('1 ') || line.startsWith('2 ')) {
      const renamed = line.startsWith('2 ');
      const parts = line.split(' ');
      const xy = parts[1] ?? '..';
      const path = parts.slice(renamed ? 9 : 8).join(' ');
      const from = renamed ? (fields[++i] ?? '') : undefined;
      const x = xy[0] ?? '.';
      const y = xy[1] ?? '.';
      if (x !== '.') staged.push(from === undefined ? { path, change: x } : { path, from, change: x });
      if (y !== '.') unstaged.push({ path, change: y });
    } else if (line.startsWith('u ')) {
      conflicts.push(line.split(' ').slice(10).join(' '));
    } else if (line.startsWith('? ')) {
      untracked.push(line.slice(2));
    }
  }
  return { branch, head, upstream, ahead, behind, staged, unstaged, untracked, conflicts };
}

async function readOperation(gitDir: string): Promise<OperationState> {
  const exists = (name: string) =>
    access(join(gitDir, name)).then(
      () => true,
      () => false,
    );
  const [merge, rebaseMerge, rebaseApply, pick, revert, bisect] = await Promise.all(
    ['MERGE_HEAD', 'rebase-merge', 'rebase-apply', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'BISECT_LOG'].map(exists),
  );
  if (merge) return 'merging';
  if (rebaseMerge || rebaseApply) return 'rebasing';
  if (pick) return 'cherry-picking';
  if (revert) return 'reverting';
  if (bisect) return 'bisecting';
  return undefined;
}

/** Files whose local content differs from HEAD: what a hard reset or a forced switch would lose. */
export function changedFiles(status: StatusSummary): string[] {
  const files = new Set<string>();
  for (const e of [...status.staged, ...status.unstaged]) if (e.change !== 'D') files.add(e.path);
  for (const c of status.conflicts) files.add(c);
  return [...files].sort();
}

export function isClean(status: StatusSummary): boolean {
  return status.staged.length === 0 && status.unstaged.length === 0 && status.conflicts.length === 0;
}

/** "M  src/a.ts" or "R  new.ts <- old.ts": one line per entry. */
export function entryLine(e: StatusEntry): string {
  return e.from === undefined ? `${e.change}  ${e.path}` : `${e.change}  ${e.path} <- ${e.from}`;
}
