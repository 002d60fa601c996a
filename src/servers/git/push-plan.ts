// What a push would do, computed locally and without side effects: the branch and the commit it
// points at, the remote and the URL git would connect to, the destination ref, and what the last
// fetch knows of it. The push preview shows it; the approved push recomputes it and refuses when
// it changed; an effect contract (issue 13) can hook up `describePushEffect`.
import { ControlPlaneError } from '../../core/errors';
import { invalidArgument } from '../kit';
import { GitErrorCode } from './client';
import type { Repository } from './repo';
import { chooseRemote } from './remote';
import { resolveRemote, type ResolvedRemote } from './transport';

export interface PushRequest {
  readonly branch?: string | undefined;
  readonly remote?: string | undefined;
  readonly remoteBranch?: string | undefined;
}

export interface PushPlan {
  readonly branch: string;
  /** The commit the local branch points at: what is pushed. */
  readonly source: string;
  readonly remote: ResolvedRemote;
  /** Name of the branch on the remote. */
  readonly remoteBranch: string;
  /** refs/heads/<remoteBranch>. */
  readonly destination: string;
  /** What the last fetch recorded for the destination (undefined: not known there). */
  readonly tracking: string | undefined;
  readonly fastForward: boolean;
}

/** The push's effect in the words of the effect contract: remote, resolved URL, source sha, destination ref. */
export function describePushEffect(plan: PushPlan): { remote: string; url: string; sourceSha: string; destinationRef: string } {
  return { remote: plan.remote.name, url: plan.remote.display, sourceSha: plan.source, destinationRef: plan.destination };
}

/** What the approval saw, as one comparable string. */
export function pushIdentity(plan: PushPlan): string {
  return `${plan.source} -> ${plan.remote.url} ${plan.destination}`;
}

/** Resolves a push from local state only (refs, remote-tracking refs, config): no program runs, nothing is written or contacted. */
export async function planPush(repo: Repository, request: PushRequest): Promise<PushPlan> {
  const branch = request.branch ?? (await repo.currentBranch('branch'));
  const source = await repo.revParse(`refs/heads/${branch}`);
  if (source === undefined) throw invalidArgument('branch', `there is no local branch "${branch}".`, 'Check the name with branch_list.');
  const remoteName = await chooseRemote(repo, request.remote, branch);
  const remote = await resolveRemote(repo, remoteName, 'push');
  const remoteBranch = request.remoteBranch ?? (await upstreamName(repo, branch, remoteName)) ?? branch;
  const tracking = await repo.revParse(`refs/remotes/${remoteName}/${remoteBranch}`);
  const fastForward = tracking === undefined || (await repo.isAncestor(tracking, source));
  return { branch, source, remote, remoteBranch, destination: `refs/heads/${remoteBranch}`, tracking, fastForward };
}

/**
 * The upstream branch name from branch.<name>.merge, when it belongs to `remote`. The value is
 * read back from the repository, so it is checked like a name the model gave.
 */
async function upstreamName(repo: Repository, branch: string, remote: string): Promise<string | undefined> {
  const upRemote = await repo.config(`branch.${branch}.remote`);
  const merge = await repo.config(`branch.${branch}.merge`);
  if (upRemote !== remote || merge?.startsWith('refs/heads/') !== true) return undefined;
  const name = merge.slice('refs/heads/'.length);
  if (!/^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/.test(name)) {
    throw new ControlPlaneError(GitErrorCode.unsafeConfig, `Refused: the upstream of ${branch} in this repository's config (${JSON.stringify(merge)}) is not a plain branch name.`, {
      details: { field: 'remoteBranch', hint: 'Pass remoteBranch explicitly.' },
    });
  }
  await repo.checkRefName(name, 'branch', 'remoteBranch');
  return name;
}
