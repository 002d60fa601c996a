import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { capList, invalidArgument } from '../../kit';
import { GitErrorCode } from '../client';
import { moveBackUndo, notUndoable, repoStateText } from '../undo';
import { defineGitTool, plural, short } from '../define';
import { messageField, repoField, revisionField } from '../fields';
import { readStatus } from '../status';

export const merge = defineGitTool({
  name: 'merge',
  title: 'Repo: Merge',
  description:
    'Merges a branch, tag or commit into the current branch. Default mode ff-only: only fast-forwards (no merge commit), failing if the branches diverged. mode ff: fast-forward when possible, else a merge commit. no-ff: always a merge commit. On conflicts the merge stops, the conflicted files are listed, and the repository stays "merging" until they are resolved (edit, add, commit) or the merge is abandoned (reset mode "hard"). Local changes that the merge would overwrite make git refuse; nothing is lost.',
  input: z.object({
    repo: repoField(),
    branch: revisionField('Branch, tag or commit to merge into the current branch (e.g. origin/main after a fetch).'),
    mode: z.enum(['ff-only', 'ff', 'no-ff']).default('ff-only').describe('ff-only (default), ff (merge commit only when needed) or no-ff (always a merge commit).'),
    message: messageField('Message of the merge commit (default: git\'s "Merge branch ..." message).').optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const before = await readStatus(repo);
    if (before.operation !== undefined) throw invalidArgument('repo', `a ${before.operation} is already in progress.`, 'Finish it (resolve, add, commit) or abandon it with reset mode "hard".');
    if (before.branch === undefined) throw invalidArgument('repo', 'HEAD is detached; merge needs a current branch.', 'Switch to a branch first.');
    const theirs = await repo.resolveCommit(input.branch, 'branch');
    const stateBefore = await repoStateText(repo, [], false);
    let conflict = false;
    await repo.exclusive(async () => {
      try {
        await repo.write([
          'merge',
          `--${input.mode}`,
          ...(input.message === undefined ? ['--no-edit'] : [`--message=${input.message}`]),
          '--end-of-options',
          input.branch,
        ]);
      } catch (err) {
        if (err instanceof ControlPlaneError && err.code === GitErrorCode.conflict) conflict = true;
        else throw err;
      }
    });
    const after = await readStatus(repo);
    if (conflict || after.conflicts.length > 0) {
      return {
        undo: notUndoable('the merge stopped on conflicts and is in progress: reset mode "hard" abandons it'),
        text: `Merging ${input.branch} into ${before.branch} stopped with conflicts in ${plural(after.conflicts.length, 'file')}:\n${after.conflicts.map((f) => `  ${f}`).join('\n')}\nThe repository is now merging. Resolve each file (edit it, then add it) and commit; or abandon the merge with reset mode "hard".`,
      };
    }
    if (after.head === before.head) return { text: `${before.branch} already contains ${input.branch} (${short(theirs)}); nothing to merge.`, undo: notUndoable('nothing was merged') };
    const commits = (await repo.read(['log', '--format=%h %s', '--max-count=51', after.head ?? 'HEAD', ...(before.head === undefined ? [] : ['--not', before.head]), '--']))
      .split('\n')
      .filter((l) => l.length > 0);
    const { items } = capList(commits, 50);
    const how = after.head === theirs ? 'fast-forwarded' : 'merged with a merge commit';
    return {
      text: `${before.branch} ${how} to ${short(after.head ?? '')} (${input.branch}); ${commits.length > 50 ? 'more than 50' : plural(commits.length, 'commit')} added:\n${items.map((c) => `  ${c}`).join('\n')}`,
      undo: moveBackUndo(repo, before.branch, before.head, stateBefore, `the merge of ${input.branch}`),
    };
  },
});
