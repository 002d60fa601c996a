import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { capList, invalidArgument } from '../../kit';
import { backupCommit, backupNote } from '../backup';
import { GitErrorCode } from '../client';
import { defineGitTool, plural, short } from '../define';
import { refNameField, remoteField, repoField } from '../fields';
import type { Repository } from '../repo';
import { chooseRemote, progressReporter } from '../remote';

const FLAGS: Record<string, string> = {
  ' ': 'fast-forward',
  '+': 'forced update',
  '-': 'deleted',
  '*': 'new branch',
  '!': 'rejected',
  '=': 'up to date',
};

export const push = defineGitTool({
  name: 'push',
  title: 'Remotes: Push',
  description:
    "Publishes a local branch (default: the current one) to a remote (default: its upstream's remote, else origin), under the same name or its upstream's name. setUpstream: true records the remote branch as upstream. A push that would drop commits on the remote is rejected unless force: true, which is only available when the server allows forced pushes and always runs as --force-with-lease against the last fetched state (the dropped commits are kept in a local backup ref). dryRun: true lists the commits that would be published or dropped, and asks the remote what it would do.",
  input: z.object({
    repo: repoField(),
    remote: remoteField(),
    branch: refNameField('Local branch to push (default: the current branch).').optional(),
    remoteBranch: refNameField("Name of the branch on the remote (default: the upstream's name, else the same name).").optional(),
    setUpstream: z.boolean().default(false).describe('Record remote/remoteBranch as the upstream of the local branch.'),
    tags: z.boolean().default(false).describe('Also push annotated tags that point at the pushed commits.'),
    force: z.boolean().default(false).describe('Allow replacing remote history (as --force-with-lease). Refused unless the server allows forced pushes.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  preview: true,
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const branch = input.branch ?? (await repo.currentBranch('branch'));
    const local = await repo.revParse(`refs/heads/${branch}`);
    if (local === undefined) throw invalidArgument('branch', `there is no local branch "${branch}".`, 'Check the name with branch_list.');
    const remote = await chooseRemote(repo, input.remote, branch);
    const remoteBranch = input.remoteBranch ?? (await upstreamName(repo, branch, remote)) ?? branch;
    const tracking = await repo.revParse(`refs/remotes/${remote}/${remoteBranch}`);

    const published = await commitsBetween(repo, local, tracking === undefined ? ['--remotes'] : [tracking]);
    const fastForward = tracking === undefined || (await repo.isAncestor(tracking, local));
    const dropped = tracking !== undefined && !fastForward ? await commitsBetween(repo, tracking, [local]) : [];

    const section = (list: string[], title: string): string[] =>
      list.length === 0 ? [] : [`${title} (${list.length > 50 ? 'more than 50' : list.length}):`, ...list.slice(0, 50).map((c) => `  ${c}`)];
    const target = `push ${branch} (${short(local)}) to ${remote}/${remoteBranch}${tracking === undefined ? ' (a new remote branch, as far as the last fetch knows)' : ` (last fetched at ${short(tracking)})`}`;
    const summary = [
      target,
      ...section(published, 'Commits that would be published'),
      ...section(dropped, 'Commits on the remote that would be DROPPED (not in the local branch)'),
    ];
    if (!fastForward && !input.force) summary.push('This is not a fast-forward: without force: true the remote rejects it. Fetch and merge (or pull) first.');

    const refspec = `refs/heads/${branch}:refs/heads/${remoteBranch}`;
    const lease = `--force-with-lease=refs/heads/${remoteBranch}:${tracking ?? ''}`;
    const args = (dry: boolean) => [
      'push',
      '--porcelain',
      ...(dry ? ['--dry-run'] : []),
      ...(input.setUpstream && !dry ? ['--set-upstream'] : []),
      ...(input.tags ? ['--follow-tags'] : []),
      ...(input.force ? [lease] : []),
      '--end-of-options',
      remote,
      refspec,
    ];

    if (input.force && !repo.options.allowForcePush) {
      throw new ControlPlaneError(GitErrorCode.refused, 'Refused: forced pushes are disabled on this git server.', {
        details: { hint: 'Integrate the remote changes instead (fetch, then merge or pull). The user can allow forced pushes with MCPCP_GIT_ALLOW_FORCE_PUSH=1.' },
      });
    }
    if (ctx.dryRun) {
      let remoteSays: string;
      try {
        remoteSays = describePorcelain(await repo.write(args(true), { idleTimeoutMs: 60_000 }));
      } catch (err) {
        remoteSays = `the remote could not be asked: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      }
      return { text: `Dry run: ${summary.join('\n')}\nRemote check (git push --dry-run): ${remoteSays}\nNothing was changed.` };
    }
    const id = await repo.exclusive(async () => {
      const backup = dropped.length > 0 && tracking !== undefined ? await backupCommit(repo, 'push', tracking, `${remote}/${remoteBranch}`, `${remote}/${remoteBranch} before forced push`) : undefined;
      const out = await repo.write(args(false), { idleTimeoutMs: 120_000, onProgress: progressReporter(ctx, `push ${remote}`) });
      return { backup, out };
    });
    const done = [...section(published, 'Commits published'), ...section(dropped, 'Commits dropped from the remote')];
    return { text: [`Pushed: ${describePorcelain(id.out)}`, ...done].join('\n') + backupNote([id.backup]) };
  },
});

async function upstreamName(repo: Repository, branch: string, remote: string): Promise<string | undefined> {
  const upRemote = await repo.config(`branch.${branch}.remote`);
  const merge = await repo.config(`branch.${branch}.merge`);
  return upRemote === remote && merge?.startsWith('refs/heads/') === true ? merge.slice('refs/heads/'.length) : undefined;
}

/** One-line commits reachable from `tip` and from none of `not` (commits, or --remotes). */
async function commitsBetween(repo: Repository, tip: string, not: readonly string[]): Promise<string[]> {
  const out = await repo.read(['log', '--format=%h %s', '--max-count=51', tip, '--not', ...not, '--']);
  return out.split('\n').filter((l) => l.length > 0);
}

/** `git push --porcelain` lines as "refs/heads/x -> refs/heads/y: new branch". */
function describePorcelain(out: string): string {
  const lines = out
    .split('\n')
    .map((l) => /^(.)\t([^\t]+)\t(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${(m[2] ?? '').replace(':', ' -> ')}: ${FLAGS[m[1] ?? ''] ?? m[1]}${m[3] && !m[3].startsWith('[') ? ` (${m[3]})` : m[3] ? ` ${m[3]}` : ''}`);
  const { items, omitted } = capList(lines, 20);
  return items.length === 0 ? out.trim() || 'no output' : items.join('; ') + (omitted > 0 ? ` (+${omitted} more)` : '');
}
