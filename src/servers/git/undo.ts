// Undo handles of the git tools (docs/undo.md). Every inverse names its backup by id AND by the
// hash of the backup commit recorded when it was taken (refs are repository content: one moved
// since is refused). The drift check is repo_state: HEAD, the content hash of each file the call
// touched and, for stash calls, the stash entries, one line each.
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { UndoHandle } from '../../core/undo/handle';
import { backupCommitOf } from './backup';
import type { Repository } from './repo';

/** At most this many files in a drift check (the rest are named by count). */
export const MAX_STATE_FILES = 200;
const MAX_STASH_LINES = 20;

/** A backup as an undo names it: its id and the hash of its commit when it was taken. */
export interface BackupPin {
  readonly id: string;
  readonly sha: string;
}

/** The pin of a backup just taken (undefined stays undefined). */
export async function pin(repo: Repository, id: string | undefined): Promise<BackupPin | undefined> {
  return id === undefined ? undefined : { id, sha: await backupCommitOf(repo, id) };
}

/**
 * What repo_state shows: HEAD (branch and full hash), the work-tree content hash of each file
 * (git hash-object, no filters) or "absent", and with `stash` the stash entries.
 */
export async function repoStateText(repo: Repository, paths: readonly string[], stash: boolean): Promise<string> {
  const { sha, branch } = await repo.head();
  const lines = [branch === undefined ? `HEAD: detached at ${sha ?? '(no commit)'}` : `HEAD: branch ${branch} at ${sha ?? '(no commit yet)'}`];
  const shown = paths.slice(0, MAX_STATE_FILES);
  const files: string[] = [];
  const kinds = new Map<string, string>();
  for (const path of shown) {
    const s = await lstat(join(repo.path, path)).catch(() => undefined);
    if (s === undefined) kinds.set(path, 'absent');
    else if (s.isDirectory()) kinds.set(path, 'a folder');
    else files.push(path);
  }
  for (let i = 0; i < files.length; i += 100) {
    const chunk = files.slice(i, i + 100);
    const hashes = (await repo.read(['hash-object', '--no-filters', '--', ...chunk])).split('\n').filter((l) => l.length > 0);
    chunk.forEach((f, j) => kinds.set(f, `content ${hashes[j] ?? '(unreadable)'}`));
  }
  for (const path of shown) lines.push(`file ${path}: ${kinds.get(path) ?? 'absent'}`);
  if (paths.length > shown.length) lines.push(`(${paths.length - shown.length} more files not checked)`);
  if (stash) {
    const entries = (await repo.read(['stash', 'list', '--format=%H %gs'])).split('\n').filter((l) => l.length > 0);
    lines.push(`stash: ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`);
    entries.slice(0, MAX_STASH_LINES).forEach((e, i) => lines.push(`stash@{${i}}: ${e}`));
  }
  return lines.join('\n');
}

/** The drift check of a git undo: repo_state on these files (and the stash). */
export function stateCheck(repo: Repository, paths: readonly string[], stash = false): { tool: string; args: Record<string, unknown> } {
  return { tool: 'repo_state', args: { repo: repo.path, ...(paths.length > 0 ? { paths: paths.slice(0, MAX_STATE_FILES) } : {}), ...(stash ? { stash: true } : {}) } };
}

/** A git call that cannot be undone, and why (said in the result and the audit). */
export function notUndoable(reason: string): UndoHandle {
  return { undoable: false, reason };
}

/**
 * Handle of a call that discarded work-tree files kept in a files backup: backup_restore of it
 * (the backup pinned by its hash) writes them back; repo_state on the files is the drift check.
 */
export function filesUndo(
  repo: Repository,
  backup: BackupPin | undefined,
  files: readonly string[],
  before: string,
  o: { what: string; none: string; irreversible?: readonly string[] },
): UndoHandle {
  if (backup === undefined) return notUndoable(o.none);
  return {
    undoable: true,
    summary: `write back ${o.what} from backup ${backup.id}`,
    inverse: { tool: 'backup_restore', args: { repo: repo.path, id: backup.id, sha: backup.sha } },
    check: stateCheck(repo, files),
    before,
    ...(o.irreversible !== undefined && o.irreversible.length > 0 ? { irreversible: [...o.irreversible] } : {}),
  };
}

/**
 * Handle of a call that moved `branch` forward from `oldHead` (merge, pull): a keep-mode rewind
 * back to it (oldHead stays in the branch's history, so it needs no backup), which updates the
 * files that changed and keeps local changes.
 */
export function moveBackUndo(repo: Repository, branch: string, oldHead: string | undefined, before: string, what: string, irreversible: readonly string[] = []): UndoHandle {
  if (oldHead === undefined) return notUndoable(`${what} made the branch's first commit: there is no commit to go back to`);
  return {
    undoable: true,
    summary: `move ${branch} back to ${oldHead.slice(0, 8)}, before ${what}`,
    inverse: { tool: 'backup_rewind', args: { repo: repo.path, branch, to: oldHead, mode: 'keep' } },
    check: stateCheck(repo, []),
    before,
    ...(irreversible.length > 0 ? { irreversible: [...irreversible] } : {}),
  };
}
