import { z } from 'zod';
import { capList } from '../../kit';
import { backupFiles, backupNote } from '../backup';
import { defineGitTool, plural } from '../define';
import { pathsField, repoField } from '../fields';
import { filesUndo, pin, repoStateText } from '../undo';

/** What an undo of a clean that removes folders cannot bring back (said before approval and kept in the handle). */
const FOLDERS_IRREVERSIBLE = 'empty folders it removes (only files are kept in the backup)';

export const clean = defineGitTool({
  name: 'clean',
  title: 'Repo: Clean',
  description:
    'Deletes untracked files (and, by default, untracked folders) from the work tree, optionally only under "paths". Ignored files (build output, dependencies) are kept unless includeIgnored: true. Nested repositories are never removed. Destructive: dryRun: true lists exactly what would be deleted; the deleted files are kept in a backup ref (backup_restore brings them back).',
  input: z.object({
    repo: repoField(),
    paths: pathsField('Only clean under these files or folders (relative to the repository root).').optional(),
    directories: z.boolean().default(true).describe('Also remove untracked folders (default true).'),
    includeIgnored: z.boolean().default(false).describe('Also remove ignored files, such as build output (default false).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const paths = await repo.resolvePaths(input.paths, 'paths');
    const flags = [...(input.directories ? ['-d'] : []), ...(input.includeIgnored ? ['-x'] : [])];
    const pathArgs = paths.length > 0 ? ['--', ...paths] : [];
    const listed = (await repo.read(['clean', '-n', ...flags, ...pathArgs]))
      .split('\n')
      .map((l) => /^Would remove (.*)$/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    if (listed.length === 0) return { text: 'Nothing to clean: no untracked files there.' };
    const { items, omitted } = capList(listed, 200);
    const listing = items.map((p) => `  ${p}`).join('\n') + (omitted > 0 ? `\n  [truncated: ${omitted} more entries; narrow with "paths"]` : '');
    if (ctx.dryRun) return { text: `Dry run: would delete ${plural(listed.length, 'untracked entry', 'untracked entries')}:\n${listing}\nNothing was changed.`, ...(listed.some((e) => e.endsWith('/')) ? { irreversible: [FOLDERS_IRREVERSIBLE] } : {}) };

    const { backup, files, before } = await repo.exclusive(async () => {
      // Folders are backed up file by file.
      const files: string[] = [];
      for (const entry of listed) {
        if (!entry.endsWith('/')) {
          files.push(entry);
          continue;
        }
        const inside = await repo.read(['ls-files', '--others', ...(input.includeIgnored ? [] : ['--exclude-standard']), '-z', '--', entry]);
        files.push(...inside.split('\0').filter((f) => f.length > 0));
      }
      const before = await repoStateText(repo, files, false);
      const id = await backupFiles(repo, 'clean', files, `${plural(listed.length, 'untracked entry', 'untracked entries')} removed by clean`);
      await repo.write(['clean', '-f', ...flags, ...pathArgs]);
      return { backup: await pin(repo, id), files, before };
    });
    return {
      text: `Deleted ${plural(listed.length, 'untracked entry', 'untracked entries')}:\n${listing}${backupNote([backup?.id])}`,
      undo: filesUndo(repo, backup, files, before, {
        what: `the ${plural(files.length, 'untracked file')} clean deleted`,
        none: 'only empty folders were removed; no file was lost',
        irreversible: listed.some((e) => e.endsWith('/')) ? [FOLDERS_IRREVERSIBLE] : [],
      }),
    };
  },
});
