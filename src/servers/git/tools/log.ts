import { z } from 'zod';
import { byteLength, formatTable, invalidArgument, truncationNote } from '../../kit';
import { READ_ONLY, defineGitTool, short } from '../define';
import { limitField, pathsField, repoField, revisionField, textField } from '../fields';

const FIELD = '\x1f';
const RECORD = '\x1e';

/** The arguments of a log request, shared with the benchmark baseline. */
export function logArgs(options: {
  full: boolean;
  count: number;
  skip: number;
  filters: readonly string[];
  range: readonly string[];
  paths: readonly string[];
}): string[] {
  const format = options.full ? '%H%x1f%an <%ae>%x1f%ad%x1f%s%x1f%b%x1e' : '%H%x1f%an%x1f%ad%x1f%s%x1e';
  return [
    'log',
    '--no-color',
    `--format=${format}`,
    options.full ? '--date=iso-strict' : '--date=short',
    `--max-count=${options.count}`,
    ...(options.skip > 0 ? [`--skip=${options.skip}`] : []),
    ...options.filters,
    '--end-of-options',
    ...options.range,
    '--',
    ...options.paths,
  ];
}

export const log = defineGitTool({
  name: 'log',
  title: 'Repo: Log',
  description:
    'Lists commits, newest first, one line each (short hash, date, author, subject) or with full messages (format "full"). Default: the history of HEAD. "to" picks another branch/tag/commit; "from" excludes what is reachable from it (from: main, to: feature = commits on feature not on main). Filter by paths, author, since/until dates ("2024-01-31", "2 weeks ago") or a message pattern (grep). Page with limit and skip.',
  input: z.object({
    repo: repoField(),
    to: revisionField('Branch, tag or commit whose history to list (default HEAD).').optional(),
    from: revisionField('Exclude commits reachable from this branch, tag or commit (the "from" of from..to).').optional(),
    paths: pathsField('Only commits touching these files or folders.').optional(),
    author: textField(200, 'Only commits whose author name or email matches this text (a regular expression).').optional(),
    since: textField(100, 'Only commits after this date, e.g. "2024-01-31" or "2 weeks ago".').optional(),
    until: textField(100, 'Only commits before this date.').optional(),
    grep: textField(200, 'Only commits whose message matches this regular expression (case-insensitive).').optional(),
    limit: limitField(30, 500, 'commits'),
    skip: z.number().int().min(0).default(0).describe('Skip this many commits first (paging: a cut list says which skip to pass next).'),
    format: z.enum(['oneline', 'full']).default('oneline').describe('oneline (default): one line per commit. full: author email, ISO date and the whole message.'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = await repo.resolvePaths(input.paths, 'paths');
    const full = input.format === 'full';
    const filters = [
      ...(input.author === undefined ? [] : [`--author=${input.author}`]),
      ...(input.since === undefined ? [] : [`--since=${input.since}`]),
      ...(input.until === undefined ? [] : [`--until=${input.until}`]),
      ...(input.grep === undefined ? [] : [`--grep=${input.grep}`, '--regexp-ignore-case']),
    ];
    const to = input.to ?? 'HEAD';
    const range = input.from === undefined ? [to] : [`${input.from}..${to}`];
    let out: string;
    try {
      // One more than asked, to know whether more follow.
      out = await repo.read(logArgs({ full, count: input.limit + 1, skip: input.skip, filters, range, paths }));
    } catch (err) {
      throw await explainRevisionError(err, input.from, input.to, () => repo.head());
    }
    const commits = out
      .split(RECORD)
      .map((r) => r.replace(/^\n/, ''))
      .filter((r) => r.length > 0)
      .map((r) => r.split(FIELD));
    if (commits.length === 0) return { text: 'No commits match.' };
    const more = commits.length > input.limit;
    const page = commits.slice(0, input.limit);

    let text: string;
    let shown = page.length;
    if (!full) {
      const rows = page.map(([sha = '', author = '', date = '', subject = '']) => [short(sha), date, author, subject]);
      text = formatTable([{ header: 'COMMIT' }, { header: 'DATE' }, { header: 'AUTHOR', maxWidth: 24 }, { header: 'SUBJECT', maxWidth: 120 }], rows);
      // Cut whole rows to the budget.
      const lines = text.split('\n');
      let bytes = 0;
      let keep = 0;
      for (const line of lines) {
        if (bytes + byteLength(line) + 1 > ctx.budgetBytes) break;
        bytes += byteLength(line) + 1;
        keep++;
      }
      if (keep < lines.length) {
        shown = Math.max(0, keep - 1);
        text = lines.slice(0, keep).join('\n');
      }
    } else {
      const blocks: string[] = [];
      let bytes = 0;
      for (const [sha = '', author = '', date = '', subject = '', body = ''] of page) {
        const block = [`commit ${sha}`, `Author: ${author}`, `Date:   ${date}`, '', `    ${subject}`, ...(body.trim() ? ['', ...body.trim().split('\n').map((l) => `    ${l}`)] : []), ''].join('\n');
        if (blocks.length > 0 && bytes + byteLength(block) > ctx.budgetBytes) break;
        blocks.push(block);
        bytes += byteLength(block);
      }
      shown = blocks.length;
      text = blocks.join('\n').trimEnd();
    }
    if (shown < page.length || more) {
      const next = input.skip + shown;
      text += `\n${truncationNote(
        `showing commits ${input.skip + 1}-${next}`,
        more ? 'more commits are' : `${page.length - shown} of the requested commits are`,
        `Call log again with skip=${next} (same filters) for the next page.`,
      )}`;
    }
    return { text };
  },
});

/** Git says "bad revision 'x'" or "ambiguous argument 'x'": name the field the model must fix. */
async function explainRevisionError(
  err: unknown,
  from: string | undefined,
  to: string | undefined,
  head: () => Promise<{ sha: string | undefined }>,
): Promise<unknown> {
  const text = err instanceof Error ? err.message : '';
  if (!/bad revision|ambiguous argument|unknown revision|does not have any commits/i.test(text)) return err;
  if (to === undefined && /does not have any commits|bad default revision|(ambiguous argument|bad revision) 'HEAD'/i.test(text)) {
    const { sha } = await head();
    if (sha === undefined) return invalidArgument('to', 'the current branch has no commits yet.', 'Commit first, or pass "to" naming a branch with commits.');
  }
  if (from !== undefined && text.includes(`'${from}`)) return invalidArgument('from', `"${from}" does not name a commit in this repository.`, 'Check it with branch_list, tag_list or log.');
  if (to !== undefined && text.includes(to)) return invalidArgument('to', `"${to}" does not name a commit in this repository.`, 'Check it with branch_list, tag_list or log.');
  return err;
}
