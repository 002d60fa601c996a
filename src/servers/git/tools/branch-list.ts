import { z } from 'zod';
import { capList, formatTable, pageLines, truncationNote } from '../../kit';
import { READ_ONLY, defineGitTool, short } from '../define';
import { limitField, repoField, textField } from '../fields';

export const branchList = defineGitTool({
  name: 'branch_list',
  title: 'Branches: List',
  description:
    'Lists branches, most recently committed first: current branch marked *, upstream with ahead/behind, last commit (hash, date, subject). remotes: true adds remote-tracking branches (as of the last fetch). Filter names with "contains".',
  input: z.object({
    repo: repoField(),
    remotes: z.boolean().default(false).describe('Also list remote-tracking branches (origin/main...).'),
    contains: textField(200, 'Only branches whose name contains this text (case-insensitive).').optional(),
    limit: limitField(100, 1000, 'branches'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const out = await repo.read([
      'for-each-ref',
      '--sort=-committerdate',
      '--format=%(HEAD)%1f%(refname)%1f%(refname:short)%1f%(upstream:short)%1f%(upstream:track,nobracket)%1f%(objectname)%1f%(committerdate:short)%1f%(contents:subject)%1e',
      'refs/heads/',
      ...(input.remotes ? ['refs/remotes/'] : []),
    ]);
    const needle = input.contains?.toLowerCase();
    const rows = out
      .split('\x1e')
      .map((r) => r.replace(/^\n/, '').split('\x1f'))
      .filter((f) => f.length >= 8 && !(f[1] ?? '').endsWith('/HEAD'))
      .filter((f) => needle === undefined || (f[2] ?? '').toLowerCase().includes(needle))
      .map(([head = '', , name = '', upstream = '', track = '', sha = '', date = '', subject = '']) => [
        head === '*' ? '*' : ' ',
        name,
        upstream === '' ? '' : track === '' ? upstream : `${upstream} [${track}]`,
        short(sha),
        date,
        subject,
      ]);
    if (rows.length === 0) return { text: needle === undefined ? 'No branches yet (no commits).' : `No branch name contains "${input.contains}".` };
    const { items, omitted } = capList(rows, input.limit);
    const table = formatTable(
      [{ header: ' ' }, { header: 'BRANCH', maxWidth: 60 }, { header: 'UPSTREAM', maxWidth: 50 }, { header: 'COMMIT' }, { header: 'DATE' }, { header: 'SUBJECT', maxWidth: 80 }],
      items,
    );
    let text = pageLines(table.split('\n'), { budgetBytes: ctx.budgetBytes, more: () => 'Narrow with "contains" or lower "limit".' }).text;
    if (omitted > 0) text += `\n${truncationNote(`showing ${items.length} of ${rows.length} branches`, `${omitted} older branches`, 'Narrow with "contains" or raise "limit".')}`;
    return { text };
  },
});
