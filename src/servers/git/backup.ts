// Backups taken before anything that can lose commits or work. Each backup is one ref under a
// private namespace, pointing at a commit the server writes with `commit-tree`: its message
// carries the metadata (JSON), its parent keeps the saved commit reachable, so `git gc` never
// collects what a backup holds. Nothing else in the repository changes.
import { randomBytes } from 'node:crypto';
import { lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ControlPlaneError } from '../../core/errors';
import { GitErrorCode } from './client';
import type { Repository } from './repo';

export const BACKUP_NAMESPACE = 'refs/mcp-control-plane/backup/';

/**
 * commit: a commit that would become unreachable (deleted branch, reset, forced push, amend).
 * files: work-tree files that would be overwritten or removed (hard reset, restore, forced
 *        switch, clean), as a snapshot tree on top of HEAD.
 * stash: a stash entry that is dropped.
 */
export type BackupKind = 'commit' | 'files' | 'stash';

/**
 * Backup metadata is read back from the repository, which anyone who can write to it can forge:
 * every field that reaches git is held to the shape the server writes (a full hash, a ref name,
 * plain relative paths), and the target is checked against the backup commit's own parent.
 */
const SINGLE_LINE = /^[^\u0000-\u001f\u007f]*$/;
const MetaSchema = z.object({
  v: z.literal(1),
  op: z.string().regex(/^[a-z_]{1,40}$/),
  kind: z.enum(['commit', 'files', 'stash']),
  /** The saved commit (commit, stash kinds). */
  target: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/).optional(),
  /** The branch (or remote branch) it belonged to. */
  label: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/).max(250).optional(),
  files: z.array(z.string().min(1).max(4096).regex(SINGLE_LINE).refine((f) => !f.startsWith('-') && !f.startsWith('/'))).optional(),
  summary: z.string().max(500).regex(SINGLE_LINE),
});
type BackupMeta = z.infer<typeof MetaSchema>;

export interface Backup extends BackupMeta {
  readonly id: string;
  readonly ref: string;
  /** The backup commit itself. */
  readonly commit: string;
  readonly created: string;
}

/** Identity of backup commits: never the user's, and never signed. */
const BACKUP_IDENTITY = {
  GIT_AUTHOR_NAME: 'MCP Control Plane',
  GIT_AUTHOR_EMAIL: 'mcp-control-plane@localhost',
  GIT_COMMITTER_NAME: 'MCP Control Plane',
  GIT_COMMITTER_EMAIL: 'mcp-control-plane@localhost',
};

/** Refuse to snapshot more than this: a backup must not fill the disk. */
const MAX_SNAPSHOT_BYTES = 200 * 1024 * 1024;
const ADD_CHUNK = 200;

function newId(op: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
  return `${stamp}-${op}-${randomBytes(3).toString('hex')}`;
}

async function store(repo: Repository, meta: BackupMeta, tree: string, parents: readonly string[]): Promise<string> {
  const id = newId(meta.op);
  const message = `mcp-control-plane backup: ${meta.summary}\n\n${JSON.stringify(meta)}\n`;
  const commit = (
    await repo.write(['commit-tree', '--no-gpg-sign', ...parents.flatMap((p) => ['-p', p]), '-m', message, tree], {
      env: BACKUP_IDENTITY,
    })
  ).trim();
  await repo.write(['update-ref', '-m', `mcp-control-plane backup (${meta.op})`, `${BACKUP_NAMESPACE}${id}`, commit]);
  return id;
}

/** The commit a backup ref points at now (the undo handle records it when the backup is taken). */
export async function backupCommitOf(repo: Repository, id: string): Promise<string> {
  const sha = await repo.revParse(`${BACKUP_NAMESPACE}${id}`);
  if (sha === undefined) throw new ControlPlaneError(GitErrorCode.refused, `backup ${id} vanished right after it was taken`);
  return sha;
}

/** Saves `target` (a commit about to become unreachable from `label`). Returns the backup id. */
export async function backupCommit(repo: Repository, op: string, target: string, label: string, summary: string): Promise<string> {
  return store(repo, { v: 1, op, kind: 'commit', target, label, summary }, `${target}^{tree}`, [target]);
}

/** Saves a stash entry's commit before it is dropped. */
export async function backupStash(repo: Repository, op: string, stash: string, summary: string): Promise<string> {
  return store(repo, { v: 1, op, kind: 'stash', target: stash, summary }, `${stash}^{tree}`, [stash]);
}

/**
 * Saves the current content of `files` (repository-relative; those that no longer exist are
 * skipped) as a tree on top of HEAD, through a temporary index so the real index is untouched.
 * Returns undefined when there is nothing to save.
 */
export async function backupFiles(repo: Repository, op: string, files: readonly string[], summary: string): Promise<string | undefined> {
  const present: string[] = [];
  let bytes = 0;
  for (const file of files) {
    const s = await lstat(join(repo.path, file)).catch(() => undefined);
    if (s === undefined || s.isDirectory()) continue;
    present.push(file);
    bytes += s.size;
  }
  if (present.length === 0) return undefined;
  if (bytes > MAX_SNAPSHOT_BYTES) {
    throw new ControlPlaneError(
      GitErrorCode.refused,
      `Refused: the ${present.length} files this would discard hold ${Math.round(bytes / 1e6)} MB, more than the 200 MB the server backs up.`,
      { details: { hint: 'Narrow the paths so the backup stays small, or ask the user to do this outside the agent.' } },
    );
  }
  const head = (await repo.head()).sha;
  const index = join(repo.loc.gitDir, `mcp-control-plane-${randomBytes(6).toString('hex')}.index`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await repo.write(head === undefined ? ['read-tree', '--empty'] : ['read-tree', head], { env });
    for (let i = 0; i < present.length; i += ADD_CHUNK) {
      await repo.write(['add', '--force', '--verbose', '--', ...present.slice(i, i + ADD_CHUNK)], { env });
    }
    const tree = (await repo.write(['write-tree'], { env })).trim();
    return await store(repo, { v: 1, op, kind: 'files', files: present, summary }, tree, head === undefined ? [] : [head]);
  } finally {
    await rm(index, { force: true });
  }
}

export async function listBackups(repo: Repository): Promise<Backup[]> {
  const out = await repo.read([
    'for-each-ref',
    '--sort=-creatordate',
    '--format=%(refname)%1f%(objectname)%1f%(creatordate:iso-strict)%1f%(contents:body)%1e',
    BACKUP_NAMESPACE,
  ]);
  const backups: Backup[] = [];
  for (const record of out.split('\x1e')) {
    const [ref, commit, created, body] = record.replace(/^\n/, '').split('\x1f');
    if (ref === undefined || commit === undefined || created === undefined || body === undefined) continue;
    const json = body.split('\n').find((line) => line.startsWith('{'));
    const parsed = json === undefined ? undefined : MetaSchema.safeParse(safeJson(json));
    if (parsed === undefined || !parsed.success || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) continue;
    const id = ref.slice(BACKUP_NAMESPACE.length);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) continue;
    backups.push({ ...parsed.data, id, ref, commit, created });
  }
  return backups;
}

/**
 * The commit a commit or stash backup saved, checked against what the server recorded when it
 * made the backup: the backup commit's first parent. Forged metadata naming anything else is
 * refused.
 */
export async function verifiedTarget(repo: Repository, backup: Backup): Promise<string> {
  const parent = await repo.revParse(`${backup.commit}^1`);
  if (parent === undefined || (backup.target !== undefined && backup.target !== parent)) {
    throw new ControlPlaneError(GitErrorCode.refused, `Refused: backup ${backup.id} names ${backup.target ?? 'no commit'}, but the commit it saved is ${parent ?? 'missing'}; its metadata was changed after it was made.`, {
      details: { field: 'id', hint: 'Do not restore this backup; ask the user to inspect it (git log ' + backup.ref + ').' },
    });
  }
  return parent;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** "backup 20260101-120000Z-reset-1a2b3c (restore with backup_restore)": how tools mention one. */
export function backupNote(ids: readonly (string | undefined)[]): string {
  const kept = ids.filter((id): id is string => id !== undefined);
  if (kept.length === 0) return '';
  return `\nBackup kept: ${kept.join(', ')} (backup_list shows it; backup_restore brings it back).`;
}
