import { z } from 'zod';
import type { UndoHandle } from '../../../core/undo/handle';
import { capList, invalidArgument, type ToolContext } from '../../kit';
import { defineGitTool, plural, type GitServices } from '../define';
import type { Repository } from '../repo';
import { notUndoable } from '../undo';
import { repoStatus } from './repo-status';
import { pathsField, repoField } from '../fields';
import { entryLine, readStatus } from '../status';

export const add = defineGitTool({
  name: 'add',
  title: 'Repo: Add',
  description:
    'Stages files for the next commit: new, modified and deleted files under the given paths (relative to the repository root), or everything with all: true. Ignored files are never staged. Returns what is staged afterwards. Paths outside the repository are refused.',
  input: z.object({
    repo: repoField(),
    paths: pathsField('Files or folders to stage, relative to the repository root.').optional(),
    all: z.boolean().default(false).describe('Stage every change in the repository (new, modified, deleted) instead of listing paths.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, ctx) {
    const given = input.paths ?? [];
    if (given.length === 0 && !input.all) throw invalidArgument('paths', 'no path given.', 'List the files to stage, or pass all: true to stage every change.');
    if (given.length > 0 && input.all) throw invalidArgument('all', 'all: true cannot be combined with paths.', 'Drop one of them.');
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = input.all ? ['.'] : await repo.resolvePaths(given, 'paths');
    const prior = await readStatus(repo, input.all ? [] : paths);
    const stateBefore = await repoStatusText(repo, input.all ? [] : paths, ctx);
    await repo.exclusive(() => repo.write(['add', '--all', '--', ...paths]));
    const status = await readStatus(repo);
    const { items, omitted } = capList(status.staged.map(entryLine), 200);
    const lines = [`Staged now (${plural(status.staged.length, 'file')}):`, ...items.map((l) => `  ${l}`)];
    if (omitted > 0) lines.push(`  [truncated: ${omitted} more staged files not shown; repo_status with "paths" lists them.]`);
    if (status.unstaged.length + status.untracked.length > 0) {
      lines.push(`Still not staged: ${plural(status.unstaged.length, 'modified file')}, ${plural(status.untracked.length, 'untracked entry', 'untracked entries')}.`);
    }
    // Unstaging the paths again: the work tree is untouched either way.
    const undo: UndoHandle =
      status.head === undefined
        ? notUndoable('before the first commit, unstaging removes every entry from the index; use unstage with the paths to take back')
        : {
            undoable: true,
            summary: `unstage ${input.all ? 'every change' : plural(paths.length, 'path')} again (the work tree keeps its content)`,
            inverse: { tool: 'unstage', args: { repo: repo.path, ...(input.all ? {} : { paths }) } },
            check: { tool: 'repo_status', args: { repo: repo.path, ...(input.all ? {} : { paths }) } },
            before: stateBefore,
            ...(prior.staged.length > 0 ? { irreversible: [`what was already staged before the add (${plural(prior.staged.length, 'file')}): unstage takes it out of the index too`] } : {}),
          };
    return { text: lines.join('\n'), undo };
  },
});

/** What repo_status shows for these paths (the check of add and unstage undos). */
export async function repoStatusText(repo: Repository, paths: readonly string[], ctx: ToolContext<GitServices>): Promise<string> {
  return (await repoStatus.handler(repoStatus.input.parse({ repo: repo.path, ...(paths.length > 0 ? { paths: [...paths] } : {}) }), ctx)).text;
}
