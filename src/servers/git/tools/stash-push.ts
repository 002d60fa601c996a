import { z } from 'zod';
import { notUndoable, repoStateText, stateCheck } from '../undo';
import { readStatus } from '../status';
import { defineGitTool, plural, short } from '../define';
import { pathsField, repoField, textField } from '../fields';

export const stashPush = defineGitTool({
  name: 'stash_push',
  title: 'Stash: Push',
  description:
    'Saves local changes (staged and unstaged, optionally untracked files) on the stash and cleans them from the work tree, e.g. to switch branches. Bring them back with stash_pop. Limit to some files with "paths".',
  input: z.object({
    repo: repoField(),
    message: textField(500, 'Description of the stash entry (shown by stash_list).').optional(),
    includeUntracked: z.boolean().default(false).describe('Also stash untracked files (not ignored ones).'),
    keepIndex: z.boolean().default(false).describe('Leave staged changes in place (they are stashed too).'),
    paths: pathsField('Only stash changes to these files or folders.').optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = await repo.resolvePaths(input.paths, 'paths');
    const before = await repo.revParse('refs/stash');
    const stateBefore = await repoStateText(repo, [], true);
    const staged = (await readStatus(repo, paths)).staged.length;
    await repo.exclusive(() =>
      repo.write(
        [
          'stash',
          'push',
          ...(input.includeUntracked ? ['--include-untracked'] : []),
          ...(input.keepIndex ? ['--keep-index'] : []),
          ...(input.message === undefined ? [] : [`--message=${input.message}`]),
          ...(paths.length > 0 ? ['--', ...paths] : []),
        ],
        // Without paths, stash cleans untracked files with its own ':/' pathspec, which literal
        // pathspecs (our default) turn into a no-op: the files would stay and also be stashed.
        paths.length > 0 ? {} : { env: { GIT_LITERAL_PATHSPECS: '0' } },
      ),
    );
    const after = await repo.revParse('refs/stash');
    if (after === before) return { text: 'No local changes to stash; nothing changed.', undo: notUndoable('there was nothing to stash; nothing changed') };
    const entry = (await repo.read(['stash', 'list', '--max-count=1', '--format=%gd %h %gs'])).trim();
    return {
      text: `Stashed: ${entry}. The work tree is clean of those changes; stash_pop (index 0) brings them back.`,
      undo: {
        undoable: true,
        summary: `pop the new stash entry ${short(after ?? '')} back into the work tree`,
        inverse: { tool: 'stash_pop', args: { repo: repo.path, index: 0 } },
        check: stateCheck(repo, [], true),
        before: stateBefore,
        ...(staged > 0 ? { irreversible: [`which changes were staged (${plural(staged, 'file')}): the pop brings them back unstaged`] } : {}),
      },
    };
  },
});
