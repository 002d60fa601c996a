import { z } from 'zod';
import { formatTable } from '../../kit';
import { READ_ONLY, defineGitTool, short } from '../define';
import { limitField, repoField } from '../fields';

export const stashList = defineGitTool({
  name: 'stash_list',
  title: 'Stash: List',
  description: 'Lists stashed changes, newest first (stash index, commit, date, message). stash_pop takes the index.',
  input: z.object({ repo: repoField(), limit: limitField(50, 500, 'stash entries') }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    // Entries come newest first, so the position is the stash index (%gd would print a date here).
    const out = await repo.read(['stash', 'list', '--format=%H%x1f%cd%x1f%gs', '--date=short', `--max-count=${input.limit + 1}`]);
    const rows = out
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.split('\x1f'))
      .map(([sha = '', date = '', message = ''], i) => [String(i), short(sha), date, message]);
    if (rows.length === 0) return { text: 'No stash entries.' };
    let text = formatTable([{ header: 'INDEX', align: 'right' }, { header: 'COMMIT' }, { header: 'DATE' }, { header: 'MESSAGE', maxWidth: 120 }], rows.slice(0, input.limit));
    if (rows.length > input.limit) text += `\n[truncated: showing the ${input.limit} newest entries; older ones not shown. Raise "limit" to see them.]`;
    return { text };
  },
});
