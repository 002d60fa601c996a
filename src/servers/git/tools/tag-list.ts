import { z } from 'zod';
import { capList, formatTable, pageLines, truncationNote } from '../../kit';
import { READ_ONLY, defineGitTool, short } from '../define';
import { limitField, repoField, textField } from '../fields';

export const tagList = defineGitTool({
  name: 'tag_list',
  title: 'Tags: List',
  description:
    'Lists tags, newest first: name, the commit it points to, date, whether it is annotated, and its message (annotated) or the commit subject (lightweight). Filter names with "contains".',
  input: z.object({
    repo: repoField(),
    contains: textField(200, 'Only tags whose name contains this text (case-insensitive).').optional(),
    limit: limitField(100, 1000, 'tags'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const out = await repo.read([
      'for-each-ref',
      '--sort=-creatordate',
      '--format=%(refname:short)%1f%(objecttype)%1f%(objectname)%1f%(*objectname)%1f%(creatordate:short)%1f%(contents:subject)%1e',
      'refs/tags/',
    ]);
    const needle = input.contains?.toLowerCase();
    const rows = out
      .split('\x1e')
      .map((r) => r.replace(/^\n/, '').split('\x1f'))
      .filter((f) => f.length >= 6)
      .filter((f) => needle === undefined || (f[0] ?? '').toLowerCase().includes(needle))
      .map(([name = '', type = '', sha = '', target = '', date = '', subject = '']) => [
        name,
        short(type === 'tag' && target !== '' ? target : sha),
        date,
        type === 'tag' ? 'annotated' : 'lightweight',
        subject,
      ]);
    if (rows.length === 0) return { text: needle === undefined ? 'No tags.' : `No tag name contains "${input.contains}".` };
    const { items, omitted } = capList(rows, input.limit);
    const table = formatTable([{ header: 'TAG', maxWidth: 60 }, { header: 'COMMIT' }, { header: 'DATE' }, { header: 'TYPE' }, { header: 'MESSAGE', maxWidth: 80 }], items);
    let text = pageLines(table.split('\n'), { budgetBytes: ctx.budgetBytes, more: () => 'Narrow with "contains" or lower "limit".' }).text;
    if (omitted > 0) text += `\n${truncationNote(`showing ${items.length} of ${rows.length} tags`, `${omitted} older tags`, 'Narrow with "contains" or raise "limit".')}`;
    return { text };
  },
});
