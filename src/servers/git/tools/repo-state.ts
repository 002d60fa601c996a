import { z } from 'zod';
import { READ_ONLY, defineGitTool } from '../define';
import { pathsField, repoField } from '../fields';
import { repoStateText } from '../undo';

export const repoState = defineGitTool({
  name: 'repo_state',
  title: 'Repo: State',
  description:
    'A compact fingerprint of a repository, one line each: the current branch and the full hash of HEAD, the content hash of each named work-tree file (or "absent"), and with stash: true the stash entries. Undo uses it to tell whether a repository changed since a call; compare two answers line by line. For what changed in a file, use diff.',
  input: z.object({
    repo: repoField(),
    paths: pathsField('Files to fingerprint, relative to the repository root (at most 200).').max(200).optional(),
    stash: z.boolean().default(false).describe('Also list the stash entries (hash and message).'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = await repo.resolvePaths(input.paths, 'paths');
    return { text: await repoStateText(repo, paths, input.stash) };
  },
});
