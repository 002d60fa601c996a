import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { capList, invalidArgument } from '../../kit';
import { backupCommit, backupNote } from '../backup';
import { GitErrorCode } from '../client';
import { defineGitTool, plural, short } from '../define';
import { refNameField, remoteField, repoField } from '../fields';
import { planPush, pushIdentity } from '../push-plan';
import type { Repository } from '../repo';
import { progressReporter } from '../remote';
import { pushEffect } from '../push-effect';

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
    "Publishes a local branch (default: the current one) to a remote (default: its upstream's remote, else origin), under the same name or its upstream's name. setUpstream: true records the remote branch as upstream. A push that would drop commits on the remote is rejected unless force: true, which is only available when the server allows forced pushes and always runs as --force-with-lease against the last fetched state (the dropped commits are kept in a local backup ref). dryRun: true lists the commits that would be published or dropped and the URL pushed to, computed locally from the last fetch (the remote is not contacted); the push itself refuses if the branch's commit or the destination changed since that preview.",
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
  effect: (input, ctx) => pushEffect(ctx, input),
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const plan = await planPush(repo, input);
    const { branch, source: local, remoteBranch, tracking, fastForward } = plan;
    const remote = plan.remote.name;

    const published = await commitsBetween(repo, local, tracking === undefined ? ['--remotes'] : [tracking]);
    const dropped = tracking !== undefined && !fastForward ? await commitsBetween(repo, tracking, [local]) : [];

    const section = (list: string[], title: string): string[] =>
      list.length === 0 ? [] : [`${title} (${list.length > 50 ? 'more than 50' : list.length}):`, ...list.slice(0, 50).map((c) => `  ${c}`)];
    const target = `push ${branch} (${short(local)}) to ${remote}/${remoteBranch} at ${plan.remote.display}${tracking === undefined ? ' (a new remote branch, as far as the last fetch knows)' : ` (last fetched at ${short(tracking)})`}`;
    const summary = [
      target,
      ...section(published, 'Commits that would be published'),
      ...section(dropped, 'Commits on the remote that would be DROPPED (not in the local branch)'),
    ];
    if (!fastForward && !input.force) summary.push('This is not a fast-forward: without force: true the remote rejects it. Fetch and merge (or pull) first.');

    const refspec = `refs/heads/${branch}:${plan.destination}`;
    const lease = `--force-with-lease=${plan.destination}:${tracking ?? ''}`;
    const args = [
      'push',
      '--porcelain',
      ...(input.setUpstream ? ['--set-upstream'] : []),
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
    const previews = repo.service.pushPreviews;
    const key = JSON.stringify([repo.path, input.branch, input.remote, input.remoteBranch, input.setUpstream, input.tags, input.force]);
    if (ctx.dryRun) {
      // Local only: a preview runs before a human decides, so it never contacts the remote.
      for (const [k, v] of previews) if (Date.now() - v.at > PREVIEW_TTL_MS || previews.size > 200) previews.delete(k);
      previews.set(key, { shown: pushIdentity(plan), at: Date.now() });
      return {
        text: `Dry run, computed locally from the remote-tracking refs of the last fetch (the remote was not contacted): ${summary.join('\n')}\nNothing was changed.`,
        irreversible: [
          `what is pushed to ${plan.remote.display} can be fetched by others at once; no undo takes it back from their clones`,
          ...(dropped.length > 0 ? [`the ${dropped.length} commit(s) dropped from the remote stay in a local backup ref, but anyone who already built on them keeps them`] : []),
        ],
      };
    }
    const id = await repo.exclusive(async () => {
      // The approval showed a preview: push exactly that, or nothing.
      const again = await planPush(repo, input);
      const shown = previews.get(key);
      previews.delete(key);
      if (shown !== undefined && Date.now() - shown.at <= PREVIEW_TTL_MS && shown.shown !== pushIdentity(again)) {
        throw new ControlPlaneError(GitErrorCode.refused, `Refused: the push changed since its preview was shown (${shown.shown}; now ${pushIdentity(again)}).`, {
          details: { hint: 'Nothing was pushed. Call push again so the new preview can be approved.' },
        });
      }
      // The effect policy and the approver saw (checked by the kit before this handler) is what is pushed.
      if (ctx.effect !== undefined && (again.source !== ctx.effect['sourceSha'] || again.destination !== ctx.effect['destinationRef'])) {
        throw new ControlPlaneError(GitErrorCode.refused, 'Refused: the branch or the destination changed since the push was checked.', { details: { hint: 'Nothing was pushed. Call push again.' } });
      }
      if (pushIdentity(again) !== pushIdentity(plan)) {
        throw new ControlPlaneError(GitErrorCode.refused, 'Refused: the branch or the remote changed while the push was being prepared.', { details: { hint: 'Nothing was pushed. Call push again.' } });
      }
      const backup = dropped.length > 0 && tracking !== undefined ? await backupCommit(repo, 'push', tracking, `${remote}/${remoteBranch}`, `${remote}/${remoteBranch} before forced push`) : undefined;
      const out = await repo.write(args, { idleTimeoutMs: 120_000, onProgress: progressReporter(ctx, `push ${remote}`), config: plan.remote.config });
      return { backup, out };
    });
    const done = [...section(published, 'Commits published'), ...section(dropped, 'Commits dropped from the remote')];
    return {
      text: [`Pushed to ${plan.remote.display}: ${describePorcelain(id.out)}`, ...done].join('\n') + backupNote([id.backup]),
      undo: { undoable: false, reason: `a push is public at once: others may already have fetched it from ${plan.remote.display}` },
    };
  },
});

/** How long a preview stands for the approved call that follows it. */
const PREVIEW_TTL_MS = 60 * 60_000;

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
