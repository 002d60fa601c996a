import { z } from 'zod';
import { notUndoable } from '../undo';
import { repoStatusText } from './add';
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
    if (before.staged.length === 0) return { text: 'Nothing staged there; nothing changed.', undo: notUndoable('nothing was staged there; nothing changed') };
    const stateBefore = await repoStatusText(repo, given, ctx);
    await repo.exclusive(() =>
      before.head === undefined
        ? // Before the first commit there is no HEAD to restore from: drop the entries instead.
          repo.write(['rm', '--cached', '-r', '--', ...paths])
        : repo.write(['restore', '--staged', '--', ...paths]),
    );
    const after = await readStatus(repo);
    const partly = before.staged.filter((e) => before.unstaged.some((u) => u.path === e.path)).map((e) => e.path);
    return {
      text: `Unstaged ${plural(before.staged.length, 'file')}; their changes stay in the work tree. Still staged: ${plural(after.staged.length, 'file')}.`,
      // Staging the files again; partly staged files come back staged whole.
      undo: {
        undoable: true,
        summary: `stage the ${plural(before.staged.length, 'file')} again`,
        inverse: { tool: 'add', args: { repo: repo.path, paths: before.staged.map((e) => e.path) } },
        check: { tool: 'repo_status', args: { repo: repo.path, ...(given.length > 0 ? { paths: given } : {}) } },
        before: stateBefore,
        ...(partly.length > 0 ? { irreversible: [`the partial staging of ${partly.slice(0, 10).join(', ')}: add stages each file whole`] } : {}),
      },
    };
  },
});
