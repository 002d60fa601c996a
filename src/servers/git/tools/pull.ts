import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { capList, invalidArgument } from '../../kit';
import { GitErrorCode } from '../client';
import { moveBackUndo, notUndoable, repoStateText } from '../undo';
import { defineGitTool, plural, short } from '../define';
import { refNameField, remoteField, repoField } from '../fields';
import type { Repository } from '../repo';
import { chooseRemote, progressReporter } from '../remote';
import { resolveRemote } from '../transport';
import { readStatus } from '../status';

export const pull = defineGitTool({
  name: 'pull',
  title: 'Remotes: Pull',
  description:
    "Fetches the current branch's upstream (or remote + branch) and integrates it. Default mode ff-only: only fast-forwards, so it never creates a merge commit and fails if the branches diverged. mode merge creates a merge commit when needed and lists conflicts if any. Local changes that the update would overwrite make git refuse; nothing is lost.",
  input: z.object({
    repo: repoField(),
    remote: remoteField(),
    branch: refNameField("Remote branch to pull (default: the current branch's upstream).").optional(),
    mode: z.enum(['ff-only', 'merge']).default('ff-only').describe('ff-only (default): fast-forward or fail. merge: create a merge commit when the branches diverged.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const before = await readStatus(repo);
    if (before.branch === undefined) throw invalidArgument('repo', 'HEAD is detached; pull needs a current branch.', 'Switch to a branch first.');
    if (input.branch === undefined && before.upstream === undefined) {
      throw invalidArgument('branch', `branch ${before.branch} has no upstream.`, 'Pass remote and branch, or push with setUpstream: true once.');
    }
    const explicit = input.branch !== undefined || input.remote !== undefined;
    const remote = explicit ? await chooseRemote(repo, input.remote, before.branch) : await upstreamRemote(repo, before.branch);
    const resolved = await resolveRemote(repo, remote, 'fetch');
    const target = explicit ? [remote, input.branch ?? before.branch] : [];
    const mode = input.mode === 'ff-only' ? ['--ff-only'] : ['--no-rebase', '--no-edit'];
    const stateBefore = await repoStateText(repo, [], false);
    let conflict = false;
    await repo.exclusive(async () => {
      try {
        await repo.write(['pull', ...mode, ...(target.length > 0 ? ['--end-of-options', ...target] : [])], {
          idleTimeoutMs: 120_000,
          onProgress: progressReporter(ctx, 'pull'),
          config: resolved.config,
        });
      } catch (err) {
        if (err instanceof ControlPlaneError && err.code === GitErrorCode.conflict) conflict = true;
        else throw err;
      }
    });
    const after = await readStatus(repo);
    const from = target.length > 0 ? target.join('/') : (before.upstream ?? '');
    if (conflict) {
      return {
        undo: notUndoable('the merge stopped on conflicts and is in progress: reset mode "hard" abandons it (the fetched remote-tracking branches stay)'),
        text: `Pulled ${from} into ${before.branch}: the merge stopped with conflicts in ${plural(after.conflicts.length, 'file')}:\n${after.conflicts.map((f) => `  ${f}`).join('\n')}\nResolve each file (edit it, then add it) and commit; or abandon the merge with reset mode "hard".`,
      };
    }
    if (after.head === before.head) return { text: `Pulled ${from}: ${before.branch} was already up to date.`, undo: notUndoable('no local branch or file changed (only remote-tracking branches, which the next fetch moves anyway)') };
    const commits = (await repo.read(['log', '--format=%h %s', '--max-count=51', after.head ?? 'HEAD', ...(before.head === undefined ? [] : ['--not', before.head]), '--']))
      .split('\n')
      .filter((l) => l.length > 0);
    const { items } = capList(commits, 50);
    const parents = (await repo.read(['rev-list', '--parents', '--max-count=1', after.head ?? 'HEAD', '--'])).trim().split(' ').length - 1;
    const how = parents > 1 && input.mode === 'merge' ? 'merged (merge commit)' : 'fast-forwarded';
    return {
      text: `Pulled ${from}: ${before.branch} ${how} ${before.head === undefined ? '' : `${short(before.head)}..`}${short(after.head ?? '')} (${commits.length > 50 ? 'more than 50' : plural(commits.length, 'commit')}):\n${items.map((c) => `  ${c}`).join('\n')}`,
      undo: moveBackUndo(repo, before.branch, before.head, stateBefore, `the pull of ${from}`, ['the fetched remote-tracking branches (the next fetch moves them anyway)']),
    };
  },
});

/**
 * The remote of the branch's upstream. branch.<name>.remote is read back from the repository and
 * can be a URL or a path; only a configured remote is used, so its URL is resolved and checked.
 */
async function upstreamRemote(repo: Repository, branch: string): Promise<string> {
  const name = await repo.config(`branch.${branch}.remote`);
  if (name === undefined) throw invalidArgument('remote', `branch ${branch} has no upstream remote.`, 'Pass remote and branch.');
  const remotes = (await repo.read(['remote'])).split('\n').filter((r) => r.length > 0);
  if (!remotes.includes(name)) {
    throw new ControlPlaneError(GitErrorCode.unsafeConfig, `Refused: the upstream of ${branch} is ${JSON.stringify(name)}, which is not a configured remote (a URL or path there bypasses the remote's checks).`, {
      details: { field: 'remote', hint: `Pass remote (configured: ${remotes.join(', ') || 'none'}) and branch.` },
    });
  }
  return name;
}
