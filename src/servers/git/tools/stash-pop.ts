import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { capList, invalidArgument } from '../../kit';
import { backupNote, backupStash } from '../backup';
import { GitErrorCode } from '../client';
import { defineGitTool, plural, short } from '../define';
import { repoField } from '../fields';
import { readStatus } from '../status';
import { notUndoable, pin, repoStateText, stateCheck } from '../undo';

/** What an undo of a pop does not do (said before approval and kept in the handle). */
const POP_IRREVERSIBLE = 'the changes the pop applies stay in the work tree: an undo puts the entry back on the stash (as stash@{0}), it does not take them out of the files';

export const stashPop = defineGitTool({
  name: 'stash_pop',
  title: 'Stash: Pop',
  description:
    'Applies a stash entry (default the newest, index 0) to the work tree and drops it from the stash; keep: true applies it and keeps the entry. On conflicts the entry is kept and the conflicted files are listed. Destructive (the entry is dropped, though a backup ref keeps it): dryRun: true shows the files it would change.',
  input: z.object({
    repo: repoField(),
    index: z.number().int().min(0).max(10_000).default(0).describe('Stash index as listed by stash_list (0 = newest).'),
    keep: z.boolean().default(false).describe('Apply without dropping the entry (git stash apply).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const selector = `stash@{${input.index}}`;
    const sha = await repo.revParse(selector);
    if (sha === undefined) throw invalidArgument('index', `there is no stash entry ${input.index}.`, 'List entries with stash_list.');
    const message = (await repo.read(['log', '-1', '--format=%gs', '-g', '--end-of-options', selector, '--'])).trim();
    const files = (await repo.read(['stash', 'show', '--name-only', '--no-ext-diff', sha])).split('\n').filter((f) => f.length > 0);
    const { items, omitted } = capList(files, 100);
    const listing = items.map((f) => `  ${f}`).join('\n') + (omitted > 0 ? `\n  [truncated: ${omitted} more files]` : '');
    if (ctx.dryRun) {
      return {
        text: `Dry run: would apply ${selector} (${message}, ${short(sha)}) changing ${plural(files.length, 'tracked file')}:\n${listing}\n${input.keep ? 'The entry would stay on the stash.' : 'The entry would then be dropped (a backup ref would keep it).'}\nNothing was changed.`,
        ...(input.keep ? {} : { irreversible: [POP_IRREVERSIBLE] }),
      };
    }
    let conflict: ControlPlaneError | undefined;
    const before = await repoStateText(repo, [], true);
    const id = await repo.exclusive(async () => {
      const backup = input.keep ? undefined : await backupStash(repo, 'stash_pop', sha, `stash entry "${message}"`);
      try {
        await repo.write(['stash', input.keep ? 'apply' : 'pop', selector]);
      } catch (err) {
        if (err instanceof ControlPlaneError && err.code === GitErrorCode.conflict) conflict = err;
        else throw err;
      }
      return pin(repo, backup);
    });
    if (conflict !== undefined) {
      const status = await readStatus(repo);
      return {
        text: `Applied ${selector} with conflicts in ${plural(status.conflicts.length, 'file')}: ${status.conflicts.join(', ')}.\nThe stash entry was kept. Resolve each file (edit it, then add it), or discard with reset mode "hard".`,
        undo: notUndoable('the stash entry was kept (the apply stopped on conflicts); reset mode "hard" discards the half-applied changes'),
      };
    }
    const text = `${input.keep ? 'Applied' : 'Popped'} ${selector} (${message}): ${plural(files.length, 'file')} changed.${backupNote([id?.id])}`;
    if (id === undefined) return { text, undo: notUndoable('the entry stayed on the stash (keep: true); the applied changes are in the work tree, where restore discards them') };
    return {
      text,
      undo: {
        undoable: true,
        summary: `put stash entry "${message}" (${short(sha)}) back on the stash from backup ${id.id}`,
        inverse: { tool: 'backup_restore', args: { repo: repo.path, id: id.id, sha: id.sha } },
        check: stateCheck(repo, [], true),
        before,
        irreversible: [POP_IRREVERSIBLE],
      },
    };
  },
});
