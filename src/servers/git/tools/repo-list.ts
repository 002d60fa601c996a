import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { formatTable } from '../../kit';
import { READ_ONLY, defineGitTool } from '../define';

const output = z.object({
  roots: z.array(z.string()).describe('Workspace roots the repositories are confined to.'),
  repositories: z
    .array(z.object({ path: z.string(), head: z.string() }))
    .describe('Repositories found: top-level path and current branch (or detached commit).'),
  notOffered: z
    .array(z.object({ root: z.string(), repository: z.string() }))
    .describe('Roots inside a repository that starts above them; that repository is not offered.'),
});

export const repoList = defineGitTool({
  name: 'repo_list',
  title: 'Repo: List',
  description:
    'Lists the git repositories this server can act on: each workspace root that is a repository, and repositories up to three folders below a root. Pass a listed path as "repo" to the other git tools (optional when there is exactly one). Repositories outside the workspace roots are never available.',
  input: z.object({}),
  output,
  annotations: READ_ONLY,
  async handler(_input, ctx) {
    const workspace = ctx.services.git.workspace;
    const roots = await workspace.allowedRoots();
    const { repositories, outer } = await workspace.discover();
    const rows = await Promise.all(repositories.map(async (r) => ({ path: r.toplevel, head: await readHead(r.gitDir) })));
    const lines = [`Workspace roots: ${roots.map((r) => r.path).join(', ')}`];
    if (rows.length === 0) lines.push('No git repository found in the roots.');
    else lines.push(formatTable([{ header: 'REPOSITORY', maxWidth: 200 }, { header: 'HEAD' }], rows.map((r) => [r.path, r.head])));
    for (const o of outer) {
      lines.push(`Not offered: the root ${o.root} lies inside the repository ${o.toplevel}, whose work tree reaches outside the root.`);
    }
    return {
      text: lines.join('\n'),
      structured: {
        roots: roots.map((r) => r.path),
        repositories: rows,
        notOffered: outer.map((o) => ({ root: o.root, repository: o.toplevel })),
      },
    };
  },
});

/** The branch HEAD points at, or the detached commit, read from the HEAD file (no git process). */
async function readHead(gitDir: string): Promise<string> {
  const text = (await readFile(join(gitDir, 'HEAD'), 'utf8').catch(() => '')).trim();
  if (text.startsWith('ref: refs/heads/')) return text.slice('ref: refs/heads/'.length);
  if (/^[0-9a-f]{40,64}$/.test(text)) return `(detached at ${text.slice(0, 8)})`;
  return '(unknown)';
}
