import { z } from 'zod';
import { formatTable } from '../../kit';
import { READ_ONLY, defineGitTool } from '../define';
import { repoField } from '../fields';

export const remoteList = defineGitTool({
  name: 'remote_list',
  title: 'Remotes: List',
  description:
    'Lists the configured remotes with their fetch and push URLs (credentials in URLs are redacted). fetch, pull and push take one of these names.',
  input: z.object({ repo: repoField() }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const out = await repo.read(['remote', '-v']);
    const remotes = new Map<string, { fetch: string; push: string }>();
    for (const line of out.split('\n')) {
      const m = /^(\S+)\t(.*) \((fetch|push)\)$/.exec(line);
      if (!m) continue;
      const [, name = '', url = '', kind] = m;
      const entry = remotes.get(name) ?? { fetch: '', push: '' };
      if (kind === 'fetch') entry.fetch = url;
      else entry.push = url;
      remotes.set(name, entry);
    }
    if (remotes.size === 0) return { text: 'No remotes configured.' };
    const rows = [...remotes].map(([name, r]) => [name, r.fetch, r.push === r.fetch ? '(same)' : r.push]);
    return { text: formatTable([{ header: 'REMOTE' }, { header: 'FETCH URL', maxWidth: 200 }, { header: 'PUSH URL', maxWidth: 200 }], rows) };
  },
});
