import { z } from 'zod';
import { formatTable } from '../../kit';
import { READ_ONLY, defineGitTool, short } from '../define';
import { limitField, repoField, revisionField } from '../fields';

export const reflog = defineGitTool({
  name: 'reflog',
  title: 'Repo: Reflog',
  description:
    'Shows where HEAD (or a branch) pointed recently, newest first: selector (HEAD@{n}), commit and the action that moved it. Use it to find commits lost by a reset, rebase or amend; pass the commit to branch_create to recover one.',
  input: z.object({
    repo: repoField(),
    ref: revisionField('Whose history of positions to show: HEAD (default) or a branch name.').optional(),
    limit: limitField(30, 500, 'entries'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const out = await repo.read([
      'reflog',
      'show',
      '--format=%gd%x1f%H%x1f%gs',
      `--max-count=${input.limit + 1}`,
      '--end-of-options',
      input.ref ?? 'HEAD',
      '--',
    ]);
    const rows = out
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.split('\x1f'))
      .map(([selector = '', sha = '', action = '']) => [selector, short(sha), action]);
    if (rows.length === 0) return { text: `No reflog entries for ${input.ref ?? 'HEAD'}.` };
    let text = formatTable([{ header: 'SELECTOR' }, { header: 'COMMIT' }, { header: 'ACTION', maxWidth: 160 }], rows.slice(0, input.limit));
    if (rows.length > input.limit) text += `\n[truncated: showing the ${input.limit} newest entries; older ones not shown. Raise "limit" to see them.]`;
    return { text };
  },
});
