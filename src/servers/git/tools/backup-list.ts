import { z } from 'zod';
import { formatTable } from '../../kit';
import { listBackups } from '../backup';
import { READ_ONLY, defineGitTool, plural } from '../define';
import { limitField, repoField } from '../fields';

export const backupList = defineGitTool({
  name: 'backup_list',
  title: 'Backups: List',
  description:
    'Lists the backups this server took before destructive operations (hard reset, branch delete, forced switch, restore, clean, stash pop, amend, forced push), newest first: id, kind (commit, files or stash), operation and what it holds. backup_restore takes the id.',
  input: z.object({ repo: repoField(), limit: limitField(30, 500, 'backups') }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const backups = await listBackups(repo);
    if (backups.length === 0) return { text: 'No backups in this repository.' };
    const rows = backups.slice(0, input.limit).map((b) => [
      b.id,
      b.kind,
      b.created.replace('T', ' ').slice(0, 19),
      b.kind === 'files' ? `${b.summary} (${plural(b.files?.length ?? 0, 'file')})` : b.summary,
    ]);
    let text = formatTable([{ header: 'ID' }, { header: 'KIND' }, { header: 'CREATED' }, { header: 'HOLDS', maxWidth: 120 }], rows);
    if (backups.length > input.limit) text += `\n[truncated: showing the ${input.limit} newest of ${backups.length} backups. Raise "limit" to see more.]`;
    return { text };
  },
});
