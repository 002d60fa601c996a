import { z } from 'zod';
import { capList, invalidArgument } from '../../kit';
import { backupFiles, backupNote } from '../backup';
import { defineGitTool, plural, short } from '../define';
import { repoField, revisionField } from '../fields';
import { changedFiles, readStatus } from '../status';
import { pin, repoStateText, stateCheck } from '../undo';

export const switchBranch = defineGitTool({
  name: 'switch',
  title: 'Branches: Switch',
  description:
    'Switches the work tree to another branch. A branch that only exists on a remote (origin/feature) is created locally, tracking it. create: true makes a new branch at startPoint (default HEAD) and switches to it; detach: true checks out a commit or tag without a branch. Local changes are carried over when they do not conflict, otherwise git refuses; discardChanges: true throws them away instead (destructive: a backup ref keeps them). dryRun: true lists the local changes and what would happen to them.',
  input: z.object({
    repo: repoField(),
    branch: revisionField('Branch to switch to (with create: the new branch name; with detach: a commit or tag).'),
    create: z.boolean().default(false).describe('Create "branch" first, at startPoint.'),
    startPoint: revisionField('With create: the commit, branch or tag the new branch starts at (default HEAD).').optional(),
    detach: z.boolean().default(false).describe('Check out "branch" as a detached HEAD (for looking at a commit or tag).'),
    discardChanges: z.boolean().default(false).describe('Discard local changes to tracked files instead of carrying them over (a backup ref keeps them).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    if (input.create && input.detach) throw invalidArgument('detach', 'create and detach exclude each other.', 'Use one of them.');
    if (input.startPoint !== undefined && !input.create) throw invalidArgument('startPoint', 'startPoint only applies with create: true.', 'Add create: true, or drop startPoint.');
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    let args: string[];
    let target: string;
    if (input.create) {
      await repo.checkRefName(input.branch, 'branch', 'branch');
      const start = await repo.resolveCommit(input.startPoint ?? 'HEAD', 'startPoint');
      args = [`--create=${input.branch}`, start];
      target = `new branch ${input.branch} at ${short(start)}`;
    } else if (input.detach) {
      const sha = await repo.resolveCommit(input.branch, 'branch');
      args = ['--detach', sha];
      target = `${input.branch} (detached at ${short(sha)})`;
    } else {
      args = ['--end-of-options', input.branch];
      target = `branch ${input.branch}`;
    }
    const status = await readStatus(repo);
    const changed = changedFiles(status);
    const { items, omitted } = capList(changed, 100);
    const listing = items.map((f) => `  ${f}`).join('\n') + (omitted > 0 ? `\n  [truncated: ${omitted} more files]` : '');

    if (ctx.dryRun) {
      const lines = [`Dry run: would switch from ${status.branch ?? 'a detached HEAD'} to ${target}.`];
      if (changed.length === 0) lines.push('No local changes to tracked files: nothing would be lost.');
      else if (input.discardChanges) lines.push(`Local changes in ${plural(changed.length, 'file')} would be DISCARDED (a backup ref would keep them):`, listing);
      else lines.push(`Local changes in ${plural(changed.length, 'file')} would be carried over; git refuses the switch if any of them conflicts with the target:`, listing);
      if (status.untracked.length > 0) lines.push(`${plural(status.untracked.length, 'untracked entry', 'untracked entries')} stay as they are.`);
      lines.push('Nothing was changed.');
      return { text: lines.join('\n') };
    }
    const discarded = input.discardChanges ? changed : [];
    const before = await repoStateText(repo, discarded, false);
    const id = await repo.exclusive(async () => {
      const backup = discarded.length > 0 ? await backupFiles(repo, 'switch', discarded, `local changes discarded by switch to ${target}`) : undefined;
      await repo.write(['switch', ...(input.discardChanges ? ['--discard-changes'] : []), ...args]);
      return pin(repo, backup);
    });
    const head = (await repo.read(['log', '-1', '--format=%h %s', 'HEAD'])).trim();
    const carried = !input.discardChanges && changed.length > 0 ? ` Local changes in ${plural(changed.length, 'file')} were carried over.` : '';
    const dropped = input.discardChanges && changed.length > 0 ? ` Local changes in ${plural(changed.length, 'file')} were discarded.` : '';
    const text = `Switched to ${target}; HEAD is ${head}.${carried}${dropped}${backupNote([id?.id])}`;
    const from = status.branch ?? (status.head === undefined ? 'no commit' : short(status.head));
    // Back to where HEAD was; the discarded changes, when there were any, from their backup.
    if (status.head === undefined) return { text, undo: { undoable: false, reason: 'HEAD had no commit before the switch' } };
    const inverse =
      status.branch === undefined
        ? id === undefined
          ? { tool: 'switch', args: { repo: repo.path, branch: status.head, detach: true } }
          : undefined
        : id === undefined
          ? { tool: 'switch', args: { repo: repo.path, branch: status.branch } }
          : { tool: 'backup_rewind', args: { repo: repo.path, branch: status.branch, files: id } };
    if (inverse === undefined) return { text, undo: { undoable: false, reason: `it left a detached HEAD and discarded changes: switch with detach: true to ${short(status.head)}, then backup_restore ${id!.id}, goes back` } };
    return {
      text,
      undo: {
        undoable: true,
        summary: `switch back to ${from}${id === undefined ? '' : ` with the ${plural(discarded.length, 'discarded file')} from backup ${id.id}`}`,
        inverse,
        check: stateCheck(repo, discarded),
        before,
        ...(input.create ? { irreversible: [`the branch ${input.branch} it created stays (branch_delete removes it)`] } : {}),
      },
    };
  },
});
