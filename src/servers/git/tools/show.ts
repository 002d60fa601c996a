import { z } from 'zod';
import { pageLines } from '../../kit';
import { READ_ONLY, defineGitTool } from '../define';
import { offsetField, pathItem, repoField, revisionField } from '../fields';
import { SAFE_DIFF_FLAGS } from './diff';

export const show = defineGitTool({
  name: 'show',
  title: 'Repo: Show',
  description:
    'Shows one commit (header, full message, per-file summary and patch), or with "path" the content of a file as it was in that commit (rev:path). Use statOnly: true to skip the patch of a large commit. Long output is paged: the note at the end gives the next "offset".',
  input: z.object({
    repo: repoField(),
    revision: revisionField('Commit, branch or tag to show (default HEAD).').optional(),
    path: pathItem()
      .optional()
      .describe('Show this file as it is in "revision" instead of the commit (relative to the repository root).'),
    statOnly: z.boolean().default(false).describe('For a commit: header, message and per-file summary only, no patch.'),
    offset: offsetField('output'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const revision = input.revision ?? 'HEAD';
    const sha = await repo.resolveCommit(revision, 'revision');
    let out: string;
    let what: string;
    if (input.path !== undefined) {
      const path = await repo.resolvePath(input.path, 'path');
      what = `${revision}:${path}`;
      const type = (await repo.read(['cat-file', '-t', `${sha}:${path}`], { okExitCodes: [128] })).trim();
      if (type === '') {
        return { text: `"${path}" does not exist in ${revision}. List the commit's files with show (statOnly: true) or log with "paths".` };
      }
      if (type === 'tree') {
        out = await repo.read(['ls-tree', '--name-only', '-r', `${sha}:${path}`]);
        what = `files under ${what}`;
      } else {
        out = await repo.read(['cat-file', 'blob', `${sha}:${path}`]);
        if (out.slice(0, 8000).includes('\0')) {
          const size = (await repo.read(['cat-file', '-s', `${sha}:${path}`])).trim();
          return { text: `${what} is a binary file (${size} bytes); its content is not shown.` };
        }
      }
    } else {
      what = `commit ${revision}`;
      out = await repo.read([
        'show',
        ...SAFE_DIFF_FLAGS,
        '--format=commit %H%nAuthor: %an <%ae>%nDate:   %ad%nParents: %p%n%n%B',
        '--date=iso-strict',
        '--stat=200,160',
        ...(input.statOnly ? [] : ['--patch']),
        sha,
      ]);
    }
    if (out.length === 0) return { text: `${what} is empty.` };
    const page = pageLines(out.replace(/\n$/, '').split('\n'), {
      offset: input.offset,
      budgetBytes: ctx.budgetBytes,
      more: (next) => `Call show again with the same arguments and offset=${next}${input.path === undefined ? ', or statOnly: true' : ''}.`,
    });
    return { text: page.text };
  },
});
