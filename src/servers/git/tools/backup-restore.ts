import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { capList, invalidArgument } from '../../kit';
import { backupFiles, backupNote, listBackups, verifiedTarget } from '../backup';
import { defineGitTool, plural, short } from '../define';
import { refNameField, repoField } from '../fields';
import { notUndoable, pin, repoStateText, stateCheck } from '../undo';
import { log } from './log';

/** Whether repo_state's answer before the call showed `file` present. */
function repoStateFileExisted(state: string, file: string): boolean {
  return state.split('\n').some((l) => l.startsWith(`file ${file}: `) && !l.endsWith(': absent'));
}

export const backupRestore = defineGitTool({
  name: 'backup_restore',
  title: 'Backups: Restore',
  description:
    'Brings back what a backup (see backup_list) holds, without discarding anything current: a commit backup becomes a new branch (named "branch", default the original branch name if free); a files backup writes the saved files back into the work tree (current versions of those files are backed up first); a stash backup becomes a stash entry again. dryRun: true says what would be written.',
  input: z.object({
    repo: repoField(),
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'must be a backup id as listed by backup_list' })
      .max(200)
      .describe('Backup id as listed by backup_list.'),
    branch: refNameField('For a commit backup: name of the branch to create (default: a deleted branch gets its original name back when free; otherwise restored/<id>).').optional(),
    sha: z
      .string()
      .regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, { error: 'must be a full commit hash' })
      .optional()
      .describe('The backup commit this restore must find (an undo passes the hash recorded when the backup was taken); refused when the backup ref points elsewhere.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const backup = (await listBackups(repo)).find((b) => b.id === input.id);
    if (backup === undefined) throw invalidArgument('id', `no backup "${input.id}" in this repository.`, 'List them with backup_list.');
    // Refs are repository content: anyone who can write to the repository can move one.
    if (input.sha !== undefined && backup.commit !== input.sha) {
      throw invalidArgument('sha', `the backup ref ${backup.ref} points at ${backup.commit}, not at ${input.sha} as recorded when the backup was taken: it was changed since (it may be forged). Nothing was restored.`, 'Check the repository; restore by id only if you trust the ref as it is now.');
    }

    if (backup.kind === 'commit') {
      const target = await verifiedTarget(repo, backup);
      const exists = async (name: string) => (await repo.revParse(`refs/heads/${name}`)) !== undefined;
      let name = input.branch;
      if (name === undefined) {
        // Only a deleted branch gets its own name back; other commit backups sit beside a live branch.
        const original = backup.op === 'branch_delete' ? backup.label : undefined;
        name = original !== undefined && !(await exists(original)) ? original : `restored/${backup.id}`;
      }
      await repo.checkRefName(name, 'branch', 'branch');
      if (await exists(name)) throw invalidArgument('branch', `a branch "${name}" already exists.`, 'Pass another name in "branch".');
      const subject = (await repo.read(['log', '-1', '--format=%h %s', '--end-of-options', target, '--'])).trim();
      if (ctx.dryRun) return { text: `Dry run: would create branch ${name} at ${subject} (${backup.summary}).\nNothing was changed.` };
      await repo.exclusive(() => repo.write(['branch', '--end-of-options', name, target]));
      const check = { tool: 'log', args: { repo: repo.path, to: name, limit: 1, format: 'full' } };
      return {
        text: `Created branch ${name} at ${subject}, restoring ${backup.summary}.`,
        undo: {
          undoable: true,
          summary: `delete branch ${name}, which the restore created (its tip stays in a backup ref)`,
          inverse: { tool: 'branch_delete', args: { repo: repo.path, name, force: true } },
          check,
          before: { kind: 'absent', text: `branch ${name} did not exist` },
          after: (await log.handler(log.input.parse(check.args), ctx)).text,
        },
      };
    }

    if (backup.kind === 'stash') {
      const target = await verifiedTarget(repo, backup);
      if (ctx.dryRun) return { text: `Dry run: would add ${short(target)} back to the stash as a new entry (${backup.summary}).\nNothing was changed.` };
      await repo.exclusive(() => repo.write(['stash', 'store', `--message=restored ${backup.summary}`, '--end-of-options', target]));
      return {
        text: `Added the stash entry back as stash@{0} (${backup.summary}); stash_pop applies it.`,
        undo: notUndoable('no tool drops a stash entry without applying it (stash_pop applies and drops it); the entry it added changes no file'),
      };
    }

    // files: write the saved versions back; what would be overwritten is backed up first.
    const files = await repo.resolvePaths(backup.files ?? [], 'id');
    const overwritten: string[] = [];
    for (const path of files) {
      const current = await lstat(join(repo.path, path)).catch(() => undefined);
      if (current === undefined) continue;
      const saved = await repo.read(['cat-file', 'blob', '--end-of-options', `${backup.commit}:${path}`]);
      const now = current.isFile() ? await readFile(join(repo.path, path), 'utf8') : undefined;
      if (now !== saved) overwritten.push(path);
    }
    const { items, omitted } = capList(files, 100);
    const listing = items.map((f) => `  ${f}${overwritten.includes(f) ? '  (replaces the current version)' : ''}`).join('\n') + (omitted > 0 ? `\n  [truncated: ${omitted} more files]` : '');
    if (ctx.dryRun) {
      return { text: `Dry run: would write back ${plural(files.length, 'file')} from ${backup.id} (${backup.summary}); ${plural(overwritten.length, 'current file')} would first be backed up:\n${listing}\nNothing was changed.` };
    }
    const before = await repoStateText(repo, files, false);
    const id = await repo.exclusive(async () => {
      const safety = overwritten.length > 0 ? await backupFiles(repo, 'backup_restore', overwritten, `files replaced by restoring ${backup.id}`) : undefined;
      await repo.write(['restore', `--source=${backup.commit}`, '--worktree', '--', ...files]);
      return pin(repo, safety);
    });
    const text = `Wrote back ${plural(files.length, 'file')} from ${backup.id} (${backup.summary}):\n${listing}${backupNote([id?.id])}`;
    const created = files.filter((f) => !repoStateFileExisted(before, f));
    if (id === undefined) {
      return { text, undo: notUndoable(created.length > 0 ? `it replaced no file: the ${plural(created.length, 'file')} it wrote did not exist before (delete them to go back)` : 'every file it wrote already had that content') };
    }
    return {
      text,
      undo: {
        undoable: true,
        summary: `write back the ${plural(overwritten.length, 'file')} the restore replaced, from backup ${id.id}`,
        inverse: { tool: 'backup_restore', args: { repo: repo.path, id: id.id, sha: id.sha } },
        check: stateCheck(repo, files),
        before,
        ...(created.length > 0 ? { irreversible: [`the ${plural(created.length, 'file')} it wrote that did not exist before stay (${created.slice(0, 10).join(', ')}${created.length > 10 ? ', …' : ''})`] } : {}),
      },
    };
  },
});
