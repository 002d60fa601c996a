import { z } from 'zod';
import { capList, invalidArgument } from '../../kit';
import { defineGitTool, plural } from '../define';
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
    await repo.exclusive(() => repo.write(['add', '--all', '--', ...paths]));
    const status = await readStatus(repo);
    const { items, omitted } = capList(status.staged.map(entryLine), 200);
    const lines = [`Staged now (${plural(status.staged.length, 'file')}):`, ...items.map((l) => `  ${l}`)];
    if (omitted > 0) lines.push(`  [truncated: ${omitted} more staged files not shown; repo_status with "paths" lists them.]`);
    if (status.unstaged.length + status.untracked.length > 0) {
      lines.push(`Still not staged: ${plural(status.unstaged.length, 'modified file')}, ${plural(status.untracked.length, 'untracked entry', 'untracked entries')}.`);
    }
    return { text: lines.join('\n') };
  },
});
