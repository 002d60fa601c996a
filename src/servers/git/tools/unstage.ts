import { z } from 'zod';
import { defineGitTool, plural } from '../define';
import { pathsField, repoField } from '../fields';
import { readStatus } from '../status';

export const unstage = defineGitTool({
  name: 'unstage',
  title: 'Repo: Unstage',
  description:
    'Removes files from the staging area (the index goes back to HEAD for them) while keeping their changes in the work tree: the undo of add. Without paths, unstages everything. Never touches work-tree files; to discard work-tree changes use restore.',
  input: z.object({
    repo: repoField(),
    paths: pathsField('Files or folders to unstage, relative to the repository root (default: all staged files).').optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const given = await repo.resolvePaths(input.paths, 'paths');
    const paths = given.length === 0 ? ['.'] : given;
    const before = await readStatus(repo, given);
    if (before.staged.length === 0) return { text: 'Nothing staged there; nothing changed.' };
    await repo.exclusive(() =>
      before.head === undefined
        ? // Before the first commit there is no HEAD to restore from: drop the entries instead.
          repo.write(['rm', '--cached', '-r', '--', ...paths])
        : repo.write(['restore', '--staged', '--', ...paths]),
    );
    const after = await readStatus(repo);
    return {
      text: `Unstaged ${plural(before.staged.length, 'file')}; their changes stay in the work tree. Still staged: ${plural(after.staged.length, 'file')}.`,
    };
  },
});
