import { z } from 'zod';
import { invalidArgument, pageLines } from '../../kit';
import { READ_ONLY, defineGitTool } from '../define';
import { offsetField, pathsField, repoField, revisionField } from '../fields';

/** Flags every diff-producing read takes: no external diff program, no textconv filter, no color. */
export const SAFE_DIFF_FLAGS = ['--no-color', '--no-ext-diff', '--no-textconv', '--ignore-submodules=dirty'] as const;

/** The arguments of a diff request, shared with the benchmark baseline. */
export function diffArgs(options: {
  staged: boolean;
  from: string | undefined;
  to: string | undefined;
  statOnly: boolean;
  context: number;
  paths: readonly string[];
}): string[] {
  return [
    'diff',
    ...SAFE_DIFF_FLAGS,
    ...(options.staged ? ['--cached'] : []),
    ...(options.statOnly ? ['--stat=200,160', '--summary'] : [`-U${options.context}`]),
    '--end-of-options',
    ...(options.from === undefined ? [] : [options.from]),
    ...(options.to === undefined ? [] : [options.to]),
    '--',
    ...options.paths,
  ];
}

export const diff = defineGitTool({
  name: 'diff',
  title: 'Repo: Diff',
  description:
    'Shows changes as a unified diff. Default: unstaged changes (work tree vs index). staged: true shows what the next commit would contain. With "from" (and optionally "to") compares commits, branches or tags: from alone compares that commit with the work tree (or with the index when staged). Narrow with "paths"; statOnly: true gives a per-file summary first, which is the cheap way to look at big changes. Long diffs are paged: the note at the end gives the next "offset".',
  input: z.object({
    repo: repoField(),
    staged: z.boolean().default(false).describe('Compare the index (staged changes) instead of the work tree.'),
    from: revisionField('Base commit, branch or tag to compare from (e.g. main, HEAD~3, v1.2).').optional(),
    to: revisionField('Commit, branch or tag to compare to; needs "from". Omit to compare with the work tree or index.').optional(),
    paths: pathsField('Only these files or folders (relative to the repository root).').optional(),
    statOnly: z.boolean().default(false).describe('Only the per-file summary (files changed, lines added/removed), no patch.'),
    contextLines: z.number().int().min(0).max(50).default(3).describe('Unchanged lines shown around each change (default 3).'),
    offset: offsetField('diff'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    if (input.to !== undefined && input.from === undefined) throw invalidArgument('to', '"to" needs "from".', 'Set "from" to the base of the comparison.');
    if (input.to !== undefined && input.staged) throw invalidArgument('staged', 'staged cannot be combined with "to" (two commits are compared).', 'Drop staged, or drop "to".');
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = await repo.resolvePaths(input.paths, 'paths');
    const revs = [
      ...(input.from === undefined ? [] : [{ rev: input.from, field: 'from' }]),
      ...(input.to === undefined ? [] : [{ rev: input.to, field: 'to' }]),
    ];
    const [from, to] = await repo.resolveCommits(revs);
    const out = await repo.read(diffArgs({ staged: input.staged, from, to, statOnly: input.statOnly, context: input.contextLines, paths }));
    const what =
      input.from === undefined
        ? input.staged
          ? 'staged changes (index vs HEAD)'
          : 'unstaged changes (work tree vs index)'
        : `${input.from}${input.to === undefined ? (input.staged ? ' vs index' : ' vs work tree') : `..${input.to}`}`;
    if (out.trim().length === 0) return { text: `No differences: ${what}.` };
    const page = pageLines(out.replace(/\n$/, '').split('\n'), {
      offset: input.offset,
      budgetBytes: ctx.budgetBytes,
      more: (next) => `Call diff again with the same arguments and offset=${next}, or narrow with "paths" or statOnly: true.`,
    });
    return { text: page.text };
  },
});
