import { z } from 'zod';
import { capList } from '../../kit';
import type { UndoHandle } from '../../../core/undo/handle';
import { backupCommit, backupFiles, backupNote } from '../backup';
import { defineGitTool, plural, short } from '../define';
import { repoField, revisionField } from '../fields';
import { changedFiles, readStatus } from '../status';
import { pin, repoStateText, stateCheck } from '../undo';

const MODES = {
  soft: 'moves the branch only; the index and work tree keep their content (the undone commits become staged changes)',
  mixed: 'moves the branch and resets the index; work-tree files keep their content (changes become unstaged)',
  hard: 'moves the branch and resets the index AND the work tree: uncommitted changes to tracked files are discarded',
} as const;

export const reset = defineGitTool({
  name: 'reset',
  title: 'Repo: Reset',
  description:
    'Moves the current branch to another commit (default HEAD, i.e. only resets the index/work tree). mode soft keeps everything staged, mixed (default) keeps changes in the work tree, hard discards uncommitted changes to tracked files. Also the way to abandon a conflicted merge (mode hard). Destructive: dryRun: true lists the commits that would leave the branch and the files whose changes would be lost; both are kept in backup refs.',
  input: z.object({
    repo: repoField(),
    mode: z.enum(['soft', 'mixed', 'hard']).default('mixed').describe(`soft: ${MODES.soft}. mixed: ${MODES.mixed}. hard: ${MODES.hard}.`),
    target: revisionField('Commit, branch or tag to move to, e.g. HEAD~1 (default HEAD).').optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const status = await readStatus(repo);
    const oldHead = status.head;
    const target = await repo.resolveCommit(input.target ?? 'HEAD', 'target');
    const leaving =
      oldHead === undefined
        ? []
        : (await repo.read(['log', '--format=%h %s', '--max-count=51', oldHead, '--not', target, '--'])).split('\n').filter((l) => l.length > 0);
    const lost = input.mode === 'hard' ? changedFiles(status) : [];
    const where = status.branch ?? 'detached HEAD';
    const lines = [`${input.mode} reset of ${where} from ${oldHead === undefined ? '(no commit)' : short(oldHead)} to ${short(target)}${input.target === undefined ? '' : ` (${input.target})`}: ${MODES[input.mode]}.`];
    if (leaving.length > 0) {
      lines.push(`Commits leaving the branch (${leaving.length > 50 ? 'more than 50' : leaving.length}):`, ...leaving.slice(0, 50).map((l) => `  ${l}`));
    }
    if (lost.length > 0) {
      const { items, omitted } = capList(lost, 100);
      lines.push(`Uncommitted changes discarded in ${plural(lost.length, 'file')}:`, ...items.map((f) => `  ${f}`), ...(omitted > 0 ? [`  [truncated: ${omitted} more files]`] : []));
    }
    if (status.operation === 'merging' && input.mode === 'hard') lines.push('The merge in progress is abandoned.');
    // What an undo of this reset cannot bring back: said on the approval card (dry run) and kept in the handle.
    const irreversible: string[] = [];
    if (input.mode !== 'soft' && status.staged.length > 0) irreversible.push(`which changes were staged (${plural(status.staged.length, 'file')}): the index is not kept, so they come back as unstaged changes`);
    const deleted = input.mode === 'hard' ? [...new Set([...status.staged, ...status.unstaged].filter((e) => e.change === 'D').map((e) => e.path))] : [];
    if (deleted.length > 0) irreversible.push(`the deletion of ${deleted.slice(0, 10).join(', ')}${deleted.length > 10 ? ` and ${deleted.length - 10} more` : ''} (those files come back as committed)`);
    if (status.operation === 'merging' && input.mode === 'hard') irreversible.push('the abandoned merge (its resolved files are among the files put back, the merge state is not)');
    if (ctx.dryRun) return { text: `Dry run: ${lines.join('\n')}\nNothing was changed.`, ...(irreversible.length > 0 ? { irreversible } : {}) };

    const before = await repoStateText(repo, lost, false);
    const ids = await repo.exclusive(async () => {
      const commitBackup = leaving.length > 0 && oldHead !== undefined ? await backupCommit(repo, 'reset', oldHead, where, `${where} before reset to ${short(target)}`) : undefined;
      const filesBackup = lost.length > 0 ? await backupFiles(repo, 'reset', lost, `changes discarded by hard reset of ${where}`) : undefined;
      // git reset (2.39) rejects --end-of-options here; target is a full hash from resolveCommit.
      await repo.write(['reset', `--${input.mode}`, target]);
      return { commit: await pin(repo, commitBackup), files: await pin(repo, filesBackup) };
    });
    return { text: `Done: ${lines.join('\n')}${backupNote([ids.commit?.id, ids.files?.id])}`, undo: resetUndo() };

    /** Back to the old tip (a backup when commits left the branch, else a commit HEAD still contains) and the discarded files. */
    function resetUndo(): UndoHandle {
      const moved = oldHead !== undefined && oldHead !== target;
      if (!moved && ids.files === undefined) {
        return {
          undoable: false,
          reason: lost.length > 0 ? 'the discarded changes were deletions only, which no backup holds' : `the ${input.mode} reset left the branch where it was and discarded no work-tree change (what was staged is not kept: add stages it again)`,
        };
      }
      return {
        undoable: true,
        summary: `put ${where} back at ${short(oldHead ?? target)}${ids.files !== undefined ? ` with the ${plural(lost.length, 'discarded file')}` : ''}`,
        inverse: {
          tool: 'backup_rewind',
          args: {
            repo: repo.path,
            ...(status.branch !== undefined ? { branch: status.branch } : {}),
            ...(moved ? (ids.commit !== undefined ? { commit: ids.commit } : { to: oldHead }) : {}),
            ...(ids.files !== undefined ? { files: ids.files } : {}),
            mode: input.mode,
          },
        },
        check: stateCheck(repo, lost),
        before,
        ...(irreversible.length > 0 ? { irreversible } : {}),
      };
    }
  },
});
