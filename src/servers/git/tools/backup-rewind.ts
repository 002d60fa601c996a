import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import type { UndoHandle } from '../../../core/undo/handle';
import { capList, invalidArgument } from '../../kit';
import { backupCommit, backupFiles, backupNote, listBackups, verifiedTarget, type Backup } from '../backup';
import { GitErrorCode } from '../client';
import { defineGitTool, plural, short } from '../define';
import { refNameField, repoField } from '../fields';
import type { Repository } from '../repo';
import { changedFiles, readStatus } from '../status';
import { pin, repoStateText, stateCheck, type BackupPin } from '../undo';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const pinField = (what: string) =>
  z
    .object({
      id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'must be a backup id as listed by backup_list' }).max(200).describe('Backup id as listed by backup_list.'),
      sha: z.string().regex(SHA, { error: 'must be a full commit hash' }).describe('The backup commit the ref must still point at (recorded when the backup was taken); refused when it points elsewhere.'),
    })
    .describe(what);

const MODES = {
  soft: 'moves the branch only',
  mixed: 'moves the branch and resets the index (the work tree keeps its content)',
  keep: 'moves the branch and updates the files that differ between the two commits, keeping local changes (refused when a local change is in such a file)',
  hard: 'moves the branch and resets the index and work tree (current changes to tracked files are backed up first)',
} as const;

/**
 * Finds a backup by id and checks the ref still points at the commit recorded when it was taken:
 * refs are repository content, and anyone who can write to the repository can move one.
 */
async function pinned(repo: Repository, all: readonly Backup[], p: BackupPin, kind: Backup['kind'], field: string): Promise<Backup> {
  const backup = all.find((b) => b.id === p.id);
  if (backup === undefined) throw invalidArgument(field, `no backup "${p.id}" in this repository.`, 'List them with backup_list.');
  if (backup.commit !== p.sha) {
    throw invalidArgument(`${field}.sha`, `the backup ref ${backup.ref} points at ${backup.commit}, not at ${p.sha} as recorded when the backup was taken: it was changed since (it may be forged). Nothing was changed.`, 'Check the repository; do not trust this backup as it is now.');
  }
  if (backup.kind !== kind) throw invalidArgument(field, `backup ${p.id} holds ${backup.kind === 'files' ? 'files' : `a ${backup.kind}`}, not ${kind === 'files' ? 'files' : `a ${kind}`}.`);
  return backup;
}

export const backupRewind = defineGitTool({
  name: 'backup_rewind',
  title: 'Backups: Rewind',
  description:
    'Puts a repository back the way a backup says it was: the inverse of reset, commit (amend), merge and switch, and what undo runs for them. Optionally switches to "branch" first; moves the current branch to the commit a commit backup saved (or to "to", a commit HEAD already contains) with mode soft, mixed or hard; then writes back the files a files backup saved. Backups are named by id AND the hash recorded when they were taken (a moved ref is refused). What it moves away from and overwrites is backed up first. dryRun: true says what it would do.',
  input: z.object({
    repo: repoField(),
    branch: refNameField('The branch to be on. With commit or to: the branch HEAD must be on (refused otherwise). Alone or with files: switched to first (local changes are carried over; git refuses on a conflict).').optional(),
    commit: pinField('A commit backup: the current branch is moved to the commit it saved.').optional(),
    to: z.string().regex(SHA, { error: 'must be a full commit hash' }).optional().describe('Instead of a commit backup: a commit the current HEAD contains (full hash), to move the branch back to.'),
    files: pinField('A files backup: the files it saved are written back into the work tree.').optional(),
    mode: z.enum(['soft', 'mixed', 'keep', 'hard']).default('mixed').describe(`How the branch moves. soft: ${MODES.soft}. mixed: ${MODES.mixed}. keep: ${MODES.keep}. hard: ${MODES.hard}.`),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    if (input.commit !== undefined && input.to !== undefined) throw invalidArgument('to', 'commit and to exclude each other.', 'Pass one of them.');
    if (input.commit === undefined && input.to === undefined && input.files === undefined && input.branch === undefined) {
      throw invalidArgument('commit', 'nothing to put back.', 'Pass a commit backup (or to), a files backup, or a branch.');
    }
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const all = await listBackups(repo);
    const commitBackup = input.commit === undefined ? undefined : await pinned(repo, all, input.commit, 'commit', 'commit');
    const filesBackup = input.files === undefined ? undefined : await pinned(repo, all, input.files, 'files', 'files');
    const target = commitBackup !== undefined ? await verifiedTarget(repo, commitBackup) : input.to;
    const status = await readStatus(repo);
    if (status.operation !== undefined && input.mode !== 'hard') throw invalidArgument('mode', `a ${status.operation} is in progress.`, 'Finish or abandon it first (reset mode hard).');
    const fromBranch = status.branch;
    const switching = input.branch !== undefined && input.branch !== fromBranch;
    // A branch moves only where HEAD is: a rewind never moves a branch it is not on.
    if (switching && target !== undefined) {
      throw invalidArgument('branch', `HEAD is on ${fromBranch ?? 'no branch (detached)'}, not on ${input.branch}, the branch this puts back.`, `Switch to ${input.branch} first (switch), then call again.`);
    }
    if (switching && (await repo.revParse(`refs/heads/${input.branch}`)) === undefined) throw invalidArgument('branch', `there is no local branch "${input.branch}".`, 'Re-create it first (backup_restore), or leave "branch" out.');
    if (input.to !== undefined) {
      const tip = switching ? await repo.revParse(`refs/heads/${input.branch}`) : status.head;
      if (tip === undefined || !(await repo.isAncestor(input.to, tip))) {
        throw invalidArgument('to', `${short(input.to)} is not a commit ${switching ? input.branch : 'HEAD'} contains, so nothing keeps it; pass the commit backup that saved it instead.`);
      }
    }
    const savedFiles = filesBackup === undefined ? [] : await repo.resolvePaths(filesBackup.files ?? [], 'files');
    const where = switching ? input.branch! : (fromBranch ?? 'detached HEAD');
    if (target === undefined && input.branch === undefined && savedFiles.length === 0) throw invalidArgument('files', 'the files backup names no file.');

    const steps: string[] = [];
    if (switching) steps.push(`switch from ${fromBranch ?? 'a detached HEAD'} to ${input.branch}`);
    if (target !== undefined) steps.push(`${input.mode} reset of ${where} to ${short(target)}${commitBackup ? ` (saved by ${commitBackup.id}: ${commitBackup.summary})` : ''}: ${MODES[input.mode]}`);
    if (filesBackup !== undefined) {
      const { items, omitted } = capList(savedFiles, 100);
      steps.push(`write back ${plural(savedFiles.length, 'file')} from ${filesBackup.id} (${filesBackup.summary}):\n${items.map((f) => `    ${f}`).join('\n')}${omitted > 0 ? `\n    [truncated: ${omitted} more files]` : ''}`);
    }
    if (ctx.dryRun) return { text: `Dry run: would\n${steps.map((s) => `  - ${s}`).join('\n')}\nWhat it moves away from and overwrites would be backed up first.\nNothing was changed.` };

    const touched = [...new Set([...(input.mode === 'hard' && target !== undefined ? changedFiles(status) : []), ...savedFiles])].sort();
    const before = await repoStateText(repo, touched, false);
    const result = await repo.exclusive(async () => {
      const { sha: head } = await repo.head();
      // What this moves away from and overwrites, first: the undo of the undo.
      const tipBackup = target !== undefined && head !== undefined && head !== target ? await backupCommit(repo, 'backup_rewind', head, where, `${where} before rewind to ${short(target)}`) : undefined;
      const overwritten = touched.length > 0 ? await backupFiles(repo, 'backup_rewind', touched, `files replaced by rewinding ${where}`) : undefined;
      if (switching) {
        try {
          await repo.write(['switch', '--end-of-options', input.branch!]);
        } catch (err) {
          throw new ControlPlaneError(GitErrorCode.conflict, `Refused: git would not switch to ${input.branch} (${err instanceof Error ? err.message.split('\n')[0] : String(err)}). Nothing was changed.`, { details: { hint: 'Commit, stash or restore the local changes first.' } });
        }
      }
      if (target !== undefined) await repo.write(['reset', `--${input.mode}`, target]);
      if (filesBackup !== undefined && savedFiles.length > 0) await repo.write(['restore', `--source=${filesBackup.commit}`, '--worktree', '--', ...savedFiles]);
      return { tip: await pin(repo, tipBackup), files: await pin(repo, overwritten), head };
    });
    const text = `Done:\n${steps.map((s) => `  - ${s}`).join('\n')}${backupNote([result.tip?.id, result.files?.id])}`;
    const inverseArgs: Record<string, unknown> = {
      repo: repo.path,
      // Back to the branch it switched from; a reset is undone on the branch it moved.
      ...(switching ? { branch: fromBranch } : fromBranch !== undefined ? { branch: fromBranch } : {}),
      ...(result.tip !== undefined ? { commit: result.tip } : {}),
      ...(result.files !== undefined ? { files: result.files } : {}),
      mode: input.mode,
    };
    const undo: UndoHandle =
      switching && fromBranch === undefined
        ? { undoable: false, reason: 'it switched away from a detached HEAD; switch with detach: true goes back' }
        : result.tip === undefined && result.files === undefined && !switching
          ? { undoable: false, reason: 'it moved no branch and replaced no file (files it created are new: delete them to go back)' }
          : {
              undoable: true,
              summary: `put ${where} back as it was before the rewind`,
              inverse: { tool: 'backup_rewind', args: inverseArgs },
              check: stateCheck(repo, touched),
              before,
            };
    return { text, undo };
  },
});
