import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { byteLength, invalidArgument, truncationNote } from '../../kit';
import { READ_ONLY, defineGitTool, short } from '../define';
import { pathItem, repoField, revisionField } from '../fields';

/** Lines blamed when no end is given. */
const DEFAULT_WINDOW = 200;
const MAX_WINDOW = 2_000;

export const blame = defineGitTool({
  name: 'blame',
  title: 'Repo: Blame',
  description:
    'Shows who last changed each line of a file and in which commit: one row per line (short hash, date, author, line number, text). Give startLine/endLine to look at a range; without endLine, 200 lines are shown and the note says where to continue. "revision" blames the file as of that commit instead of the work tree.',
  input: z.object({
    repo: repoField(),
    path: pathItem().describe('File to blame, relative to the repository root.'),
    startLine: z.number().int().min(1).default(1).describe('First line (1-based, default 1).'),
    endLine: z.number().int().min(1).optional().describe(`Last line (inclusive). Default: startLine + ${DEFAULT_WINDOW - 1}; at most ${MAX_WINDOW} lines per call.`),
    revision: revisionField('Blame the file as of this commit, branch or tag (default: the work tree).').optional(),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const end = input.endLine ?? input.startLine + DEFAULT_WINDOW - 1;
    if (end < input.startLine) throw invalidArgument('endLine', `${end} is before startLine ${input.startLine}.`, 'Set endLine to at least startLine.');
    if (end - input.startLine + 1 > MAX_WINDOW) {
      throw invalidArgument('endLine', `the range holds ${end - input.startLine + 1} lines, more than ${MAX_WINDOW}.`, `Ask for at most ${MAX_WINDOW} lines per call.`);
    }
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const path = await repo.resolvePath(input.path, 'path');
    const sha = input.revision === undefined ? undefined : await repo.resolveCommit(input.revision, 'revision');
    let out: string;
    try {
      // blame in git 2.39 does not take --end-of-options; the revision is a resolved hash.
      out = await repo.read(['blame', '--porcelain', '--no-textconv', '-L', `${input.startLine},${end}`, ...(sha === undefined ? [] : [sha]), '--', path]);
    } catch (err) {
      const m = err instanceof ControlPlaneError ? /has only (\d+) lines?/.exec(err.message) : null;
      if (m) throw invalidArgument('startLine', `${path} has only ${m[1]} lines.`, `Pass a startLine between 1 and ${m[1]}.`);
      if (err instanceof ControlPlaneError && /no such path|does not exist|cannot stat/i.test(err.message)) {
        throw invalidArgument('path', `${path} does not exist${input.revision === undefined ? ' in the work tree' : ` in ${input.revision}`}.`, 'Check the path with repo_status or show.');
      }
      throw err;
    }
    const commits = new Map<string, { author: string; date: string }>();
    const rows: string[] = [];
    let current = '';
    let lineNo = 0;
    for (const line of out.split('\n')) {
      const header = /^([0-9a-f]{40,64}) \d+ (\d+)/.exec(line);
      if (header) {
        current = header[1] ?? '';
        lineNo = Number(header[2]);
        if (!commits.has(current)) commits.set(current, { author: '', date: '' });
      } else if (line.startsWith('author ')) {
        const c = commits.get(current);
        if (c) c.author = line.slice(7);
      } else if (line.startsWith('author-time ')) {
        const c = commits.get(current);
        if (c) c.date = new Date(Number(line.slice(12)) * 1000).toISOString().slice(0, 10);
      } else if (line.startsWith('\t')) {
        const c = commits.get(current);
        const who = /^0+$/.test(current) ? 'not committed yet' : (c?.author ?? '');
        rows.push(`${short(current)} ${c?.date ?? ''} ${who.slice(0, 18).padEnd(18)} ${String(lineNo).padStart(5)}: ${line.slice(1)}`);
      }
    }
    // Whole rows up to the budget; the note says where to continue.
    let bytes = 0;
    let shown = 0;
    while (shown < rows.length && bytes + byteLength(rows[shown] ?? '') + 1 <= ctx.budgetBytes - 200) bytes += byteLength(rows[shown++] ?? '') + 1;
    const last = input.startLine + shown - 1;
    let text = `${path}${input.revision === undefined ? '' : ` @ ${input.revision}`}, lines ${input.startLine}-${last}\n${rows.slice(0, shown).join('\n')}`;
    if (shown < rows.length) {
      text += `\n${truncationNote(`showing lines ${input.startLine}-${last}`, `${rows.length - shown} lines of the range`, `Call blame again with startLine=${last + 1}.`)}`;
    } else if (input.endLine === undefined && rows.length === DEFAULT_WINDOW) {
      text += `\n${truncationNote(`showing lines ${input.startLine}-${end}`, 'later lines (if any) are', `Call blame again with startLine=${end + 1}.`)}`;
    }
    return { text };
  },
});
