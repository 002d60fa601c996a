import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { capList, findSecrets, invalidArgument } from '../../kit';
import { backupCommit, backupNote } from '../backup';
import { GitErrorCode } from '../client';
import { defineGitTool, plural, short } from '../define';
import { messageField, repoField } from '../fields';
import type { Repository } from '../repo';
import { pin, repoStateText, stateCheck } from '../undo';
import { readStatus } from '../status';
import { SAFE_DIFF_FLAGS } from './diff';

export const commit = defineGitTool({
  name: 'commit',
  title: 'Repo: Commit',
  description:
    "Records the staged changes (see repo_status; stage with add) as a new commit on the current branch, with the given message (first line: a short summary). amend: true replaces the last commit instead (its old version is kept in a backup ref); without a message it keeps the old one. The repository's hooks (pre-commit, commit-msg...) do not run unless the user opted this repository in for them. Refused when the staged content holds an obvious secret (private key, cloud access key, API token): unstage it or remove the secret. dryRun: true shows the files and message that would be committed.",
  input: z.object({
    repo: repoField(),
    message: messageField('Commit message: a summary line of at most ~72 characters, optionally a blank line and a body.').optional(),
    amend: z.boolean().default(false).describe('Replace the last commit with one holding its changes plus the staged ones.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const status = await readStatus(repo);
    if (input.message === undefined && !input.amend) {
      throw invalidArgument('message', 'a commit needs a message.', 'Pass a message whose first line summarises the change.');
    }
    if (status.conflicts.length > 0) {
      throw new ControlPlaneError(GitErrorCode.conflict, `Cannot commit: ${plural(status.conflicts.length, 'file')} still in conflict: ${status.conflicts.slice(0, 20).join(', ')}.`, {
        details: { hint: 'Resolve each file (edit it, then add it), then commit.' },
      });
    }
    if (input.amend && status.head === undefined) {
      throw invalidArgument('amend', 'there is no commit to amend yet.', 'Commit without amend.');
    }
    if (status.staged.length === 0 && !input.amend) {
      throw new ControlPlaneError(GitErrorCode.nothingToCommit, 'Nothing is staged, so there is nothing to commit.', {
        details: {
          hint:
            status.unstaged.length + status.untracked.length > 0
              ? `Stage changes with add first: ${plural(status.unstaged.length, 'modified file')} and ${plural(status.untracked.length, 'untracked entry', 'untracked entries')} are not staged.`
              : 'The work tree has no changes.',
        },
      });
    }
    await refuseSecrets(repo);
    const stat = status.staged.length === 0 ? '' : await repo.read(['diff', ...SAFE_DIFF_FLAGS, '--cached', '--stat=200,160']);
    const { items, omitted } = capList(stat.trimEnd().split('\n').filter((l) => l.length > 0), 100);
    const statText = [...items, ...(omitted > 0 ? [`[truncated: ${omitted} more lines; diff with staged: true and statOnly: true lists them]`] : [])].join('\n');
    const where = status.branch ?? `detached HEAD ${status.head === undefined ? '' : short(status.head)}`;
    const previous = input.amend ? (await repo.read(['log', '-1', '--format=%h %s', 'HEAD'])).trim() : '';

    if (ctx.dryRun) {
      const lines = [
        input.amend ? `Dry run: would amend ${previous} on ${where}.` : `Dry run: would commit ${plural(status.staged.length, 'staged file')} to ${where}.`,
        statText || '(no staged changes: only the message would change)',
        'Message:',
        input.message ?? '(unchanged)',
        'Nothing was changed.',
      ];
      return { text: lines.join('\n') };
    }

    const before = await repoStateText(repo, [], false);
    const backup = await repo.exclusive(async () => {
      const id = input.amend && status.head !== undefined ? await pin(repo, await backupCommit(repo, 'amend', status.head, where, `amend of ${previous}`)) : undefined;
      await repo.write([
        'commit',
        ...(input.amend ? ['--amend'] : []),
        ...(input.message === undefined ? ['--no-edit'] : [`--message=${input.message}`]),
      ]);
      return id;
    });
    const summary = (await repo.read(['show', ...SAFE_DIFF_FLAGS, '--stat=200,160', '--format=%h %s', 'HEAD'])).trimEnd();
    const [first = '', ...rest] = summary.split('\n');
    const capped = capList(rest.filter((l) => l.length > 0), 100);
    return {
      text: [`${input.amend ? 'Amended' : 'Committed'} ${first} on ${where}.`, ...capped.items, ...(capped.omitted > 0 ? [`[truncated: ${capped.omitted} more lines]`] : [])].join('\n') + backupNote([backup?.id]),
      // A soft rewind: the branch goes back to the commit before, the committed changes stay staged.
      undo:
        status.head === undefined
          ? { undoable: false, reason: 'it is the first commit of the repository: there is no commit to go back to (reset cannot remove the only commit)' }
          : {
              undoable: true,
              summary: input.amend ? `put back ${previous} as ${where}'s tip (the amended changes stay staged)` : `move ${where} back to ${short(status.head)} (the committed changes stay staged)`,
              inverse: {
                tool: 'backup_rewind',
                args: { repo: repo.path, ...(status.branch !== undefined ? { branch: status.branch } : {}), ...(backup !== undefined ? { commit: backup } : { to: status.head }), mode: 'soft' },
              },
              check: stateCheck(repo, []),
              before,
            },
    };
  },
});

/** Refuses when an added line of the staged diff holds an obvious secret. Names file and line, never the secret. */
async function refuseSecrets(repo: Repository): Promise<void> {
  const patch = await repo.read(['diff', ...SAFE_DIFF_FLAGS, '--cached', '-U0', '--no-renames']);
  const found: string[] = [];
  let file = '';
  let line = 0;
  for (const text of patch.split('\n')) {
    if (text.startsWith('+++ ')) {
      file = text.startsWith('+++ b/') ? text.slice(6) : text.slice(4);
    } else if (text.startsWith('@@')) {
      line = Number(/\+(\d+)/.exec(text)?.[1] ?? '0');
    } else if (text.startsWith('+')) {
      for (const f of findSecrets(text.slice(1))) found.push(`${f.kind} in ${file} line ${line}`);
      line++;
    }
  }
  if (found.length === 0) return;
  const { items, omitted } = capList([...new Set(found)], 10);
  throw new ControlPlaneError(
    GitErrorCode.secretDetected,
    `Refused to commit: the staged changes contain ${items.join('; ')}${omitted > 0 ? ` and ${omitted} more` : ''}.`,
    {
      details: {
        hint: 'Unstage the file (unstage) or remove the secret from it and stage it again, then commit. Secrets belong in a secret store or an ignored local file, not in history.',
      },
    },
  );
}
