import { z } from 'zod';
import { capList } from '../../kit';
import { backupFiles, backupNote } from '../backup';
import { defineGitTool, plural } from '../define';
import { SAFE_DIFF_FLAGS } from './diff';
import { pathsField, repoField, revisionField } from '../fields';
import { filesUndo, pin, repoStateText } from '../undo';

export const restore = defineGitTool({
  name: 'restore',
  title: 'Repo: Restore',
  description:
    'Discards work-tree changes to the given files: they go back to their staged version, or with "source" to their version in that commit/branch; staged: true also resets the staging area for them (to HEAD, or to "source"). Untracked files are not touched (see clean). Destructive: call with dryRun: true first to see which files would lose changes. The discarded content is kept in a backup ref (backup_restore brings it back).',
  input: z.object({
    repo: repoField(),
    paths: pathsField('Files or folders to restore, relative to the repository root (at least one; use "." for everything).').min(1),
    source: revisionField('Take the files from this commit, branch or tag instead of the index.').optional(),
    staged: z.boolean().default(false).describe('Also restore the staging area for these paths (from HEAD, or from "source").'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = await repo.resolvePaths(input.paths, 'paths');
    const source = input.source === undefined ? undefined : await repo.resolveCommit(input.source, 'source');
    const base = source ?? (input.staged ? 'HEAD' : undefined);
    const compare = ['diff', ...SAFE_DIFF_FLAGS, ...(base === undefined ? [] : [base])];
    const [names, stat, patch] = await Promise.all([
      repo.read([...compare, '--name-only', '--', ...paths]),
      repo.read([...compare, '--stat=200,160', '--', ...paths]),
      ctx.dryRun ? repo.read([...compare, '--unified=1', '--', ...paths]) : Promise.resolve(''),
    ]);
    const files = names.split('\n').filter((f) => f.length > 0);
    const from = input.source ?? (input.staged ? 'HEAD' : 'the index');
    if (files.length === 0) return { text: `Nothing to restore: the work tree already matches ${from} for these paths.` };
    const { items, omitted } = capList(stat.trimEnd().split('\n'), 150);
    const summary = [...items, ...(omitted > 0 ? [`[truncated: ${omitted} more lines; narrow "paths" to see them]`] : [])].join('\n');
    if (ctx.dryRun) {
      return { text: `Dry run: restoring from ${from} would discard local changes in ${plural(files.length, 'file')}:\n${summary}\n${lostLines(patch)}\nNothing was changed.`, ...(input.staged ? { irreversible: [STAGED_IRREVERSIBLE] } : {}) };
    }
    const before = await repoStateText(repo, files, false);
    const backup = await repo.exclusive(async () => {
      const id = await backupFiles(repo, 'restore', files, `restore ${plural(files.length, 'file')} from ${from}`);
      await repo.write(['restore', ...(source === undefined ? [] : [`--source=${source}`]), ...(input.staged ? ['--staged'] : []), '--worktree', '--', ...paths]);
      return pin(repo, id);
    });
    return {
      text: `Restored ${plural(files.length, 'file')} from ${from}; their local changes were discarded:\n${summary}${backupNote([backup?.id])}`,
      undo: filesUndo(repo, backup, files, before, {
        what: `the local changes restore discarded in ${plural(files.length, 'file')}`,
        none: 'the discarded changes were deletions only, which no backup holds (the files came back)',
        irreversible: input.staged ? [STAGED_IRREVERSIBLE] : [],
      }),
    };
  },
});

const MAX_PREVIEW_LINES = 200;
/** With staged: true, what an undo cannot bring back (said before approval and kept in the handle). */
const STAGED_IRREVERSIBLE = 'what was staged for these paths: the undo writes the work-tree files back, not the index';

/**
 * The lines a restore throws away, from the diff of the work tree against what it restores to:
 * "+" lines are local content that would be lost, "-" lines what comes back. Capped.
 */
function lostLines(patch: string): string {
  const lines = patch.split('\n').filter((l) => l.length > 0 && !l.startsWith('index ') && !l.startsWith('diff --git'));
  const { items, omitted } = capList(lines, MAX_PREVIEW_LINES);
  const note = omitted > 0 ? `\n[truncated: ${omitted} more diff lines; narrow "paths" to see them all. Everything is kept in a backup ref either way.]` : '';
  return `Changes that would be lost ("+" lines are local content that goes away, "-" lines come back):\n${items.join('\n')}${note}`;
}
