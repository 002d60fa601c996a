import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { capList, invalidArgument } from '../../kit';
import { backupCommit, backupCommitOf, backupNote } from '../backup';
import { log } from './log';
import { GitErrorCode } from '../client';
import { defineGitTool, short } from '../define';
import { refNameField, repoField } from '../fields';

export const branchDelete = defineGitTool({
  name: 'branch_delete',
  title: 'Branches: Delete',
  description:
    'Deletes a local branch (never the current one, never a remote branch). A branch with commits found on no other branch, tag or remote-tracking branch needs force: true; dryRun: true lists those commits. The branch tip is always kept in a backup ref, so backup_restore can recreate it.',
  input: z.object({
    repo: repoField(),
    name: refNameField('Local branch to delete, as listed by branch_list.'),
    force: z.boolean().default(false).describe('Delete even if the branch has commits found nowhere else (they stay in the backup ref).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const tip = await repo.revParse(`refs/heads/${input.name}`);
    if (tip === undefined) throw invalidArgument('name', `there is no local branch "${input.name}".`, 'Check the name with branch_list.');
    const { branch } = await repo.head();
    if (branch === input.name) throw invalidArgument('name', `"${input.name}" is the current branch.`, 'Switch to another branch first.');
    // Commits of this branch reachable from no other branch, tag, remote-tracking branch or HEAD.
    const only = (
      await repo.read(['log', '--format=%h %s', '--max-count=51', tip, '--not', `--exclude=${input.name}`, '--branches', '--tags', '--remotes', 'HEAD', '--'])
    )
      .split('\n')
      .filter((l) => l.length > 0);
    const { items } = capList(only, 50);
    const lost = only.length === 0 ? '' : `\nCommits found only on this branch (${only.length > 50 ? 'more than 50' : only.length}):\n${items.map((l) => `  ${l}`).join('\n')}`;
    if (ctx.dryRun) {
      const verdict = only.length === 0 ? 'All its commits are on other branches, tags or remotes.' : input.force ? 'force: true is set, so it would be deleted anyway (a backup ref keeps the tip).' : 'Without force: true the deletion would be refused.';
      return { text: `Dry run: would delete branch ${input.name} at ${short(tip)}.${lost}\n${verdict}\nNothing was changed.` };
    }
    if (only.length > 0 && !input.force) {
      throw new ControlPlaneError(GitErrorCode.notMerged, `Refused: branch ${input.name} is not fully merged.${lost}`, {
        details: { hint: 'Merge it first, or pass force: true to delete it anyway (its tip is kept in a backup ref).' },
      });
    }
    // The branch as the undo's check (log of the branch) shows it, for the three-way difference.
    const check = { tool: 'log', args: { repo: repo.path, to: input.name, limit: 1, format: 'full' } };
    const before = (await log.handler(log.input.parse(check.args), ctx)).text;
    const { id, sha } = await repo.exclusive(async () => {
      const backup = await backupCommit(repo, 'branch_delete', tip, input.name, `branch ${input.name} at ${short(tip)}`);
      const backupSha = await backupCommitOf(repo, backup);
      await repo.write(['branch', '-D', '--end-of-options', input.name]);
      return { id: backup, sha: backupSha };
    });
    return {
      text: `Deleted branch ${input.name} (was ${short(tip)}).${backupNote([id])}`,
      undo: {
        undoable: true,
        summary: `re-create branch ${input.name} at ${short(tip)} from backup ${id}`,
        // The backup commit's hash as it is now: a ref moved later (forged) is refused.
        inverse: { tool: 'backup_restore', args: { repo: repo.path, id, sha, branch: input.name } },
        check,
        before,
        after: { kind: 'absent', text: `branch ${input.name} deleted` },
      },
    };
  },
});
