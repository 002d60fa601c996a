import { z } from 'zod';
import { byteLength, capList } from '../../kit';
import { READ_ONLY, defineGitTool, plural, short } from '../define';
import { pathsField, repoField } from '../fields';
import { entryLine, readStatus, type StatusEntry } from '../status';

const entry = z.object({ path: z.string(), from: z.string().optional(), change: z.string() });

const output = z.object({
  repository: z.string(),
  branch: z.string().nullable().describe('Current branch; null when HEAD is detached.'),
  head: z.string().nullable().describe('HEAD commit; null before the first commit.'),
  upstream: z.string().nullable(),
  ahead: z.number().nullable(),
  behind: z.number().nullable(),
  operation: z.string().nullable().describe('merging, rebasing, cherry-picking, reverting, bisecting, or null.'),
  staged: z.array(entry),
  unstaged: z.array(entry),
  untracked: z.array(z.string()),
  conflicts: z.array(z.string()),
  truncated: z.boolean().describe('True when some entries were left out of the lists (see the counts).'),
  counts: z.object({ staged: z.number(), unstaged: z.number(), untracked: z.number(), conflicts: z.number() }),
});

export const repoStatus = defineGitTool({
  name: 'repo_status',
  title: 'Repo: Status',
  description:
    'Shows the state of a repository: current branch, its upstream and how far ahead/behind it is, any merge or rebase in progress, and the files that are staged, unstaged, untracked or in conflict (one line each: a change letter M/A/D/R/T and the path). Use it before add, commit, switch or reset. Long lists are cut with a count; narrow them with "paths".',
  input: z.object({
    repo: repoField(),
    paths: pathsField('Only report these files or folders (relative to the repository root).').optional(),
  }),
  output,
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = await repo.resolvePaths(input.paths, 'paths');
    const s = await readStatus(repo, paths);

    const head = s.head === undefined ? 'no commits yet' : short(s.head);
    const lines = [`${repo.path}`];
    let where = s.branch === undefined ? `HEAD detached at ${head}` : `branch ${s.branch} (${head})`;
    if (s.upstream !== undefined) {
      where += `, upstream ${s.upstream}`;
      if (s.ahead !== undefined && s.behind !== undefined) where += `: ahead ${s.ahead}, behind ${s.behind}`;
    } else if (s.branch !== undefined) {
      where += ', no upstream';
    }
    lines.push(where);
    if (s.operation !== undefined) lines.push(`In progress: ${s.operation}${s.conflicts.length > 0 ? ` with ${plural(s.conflicts.length, 'conflicted file')}` : ''}`);

    // Sections share the budget (about 60 bytes a line); each is cut with a count of what is left
    // out, and the structured lists hold exactly the entries shown.
    let remaining = Math.max(20, Math.floor(ctx.budgetBytes / 60));
    let truncated = false;
    const section = <T,>(name: string, items: readonly T[], render: (item: T) => string): T[] => {
      if (items.length === 0) return [];
      const { items: shown, omitted } = capList(items, Math.max(5, remaining));
      remaining = Math.max(0, remaining - shown.length);
      lines.push(`${name} (${items.length}):`, ...shown.map((item) => `  ${render(item)}`));
      if (omitted > 0) {
        truncated = true;
        lines.push(`  [truncated: ${omitted} more ${name} entries not shown. Call repo_status with "paths" set to a folder to see them.]`);
      }
      return [...shown];
    };
    const conflicts = section('conflicts', s.conflicts, (p) => `U  ${p}`);
    const staged = section('staged', s.staged, entryLine);
    const unstaged = section('unstaged', s.unstaged, entryLine);
    const untracked = section('untracked', s.untracked, (p) => `?  ${p}`);
    if (s.staged.length + s.unstaged.length + s.untracked.length + s.conflicts.length === 0) lines.push('Working tree clean.');
    const toEntry = (e: StatusEntry) => (e.from === undefined ? { path: e.path, change: e.change } : { path: e.path, from: e.from, change: e.change });
    const text = lines.join('\n');
    ctx.log.debug(`repo_status ${repo.path}: ${byteLength(text)} bytes`);
    return {
      text,
      structured: {
        repository: repo.path,
        branch: s.branch ?? null,
        head: s.head ?? null,
        upstream: s.upstream ?? null,
        ahead: s.ahead ?? null,
        behind: s.behind ?? null,
        operation: s.operation ?? null,
        staged: staged.map(toEntry),
        unstaged: unstaged.map(toEntry),
        untracked,
        conflicts,
        truncated,
        counts: { staged: s.staged.length, unstaged: s.unstaged.length, untracked: s.untracked.length, conflicts: s.conflicts.length },
      },
    };
  },
});
