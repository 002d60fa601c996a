import { ControlPlaneError } from '../errors';
import type { Principal } from '../team/principal';

/**
 * Who decides, and how many: the rules every approval store applies to a human decision, in one
 * place (the in-memory store and the PostgreSQL transaction both call `judgeDecision`).
 *
 * - Nobody decides their own request: a decision whose principal is the requester is refused,
 *   unless the operator allowed self-approval (`team.allowSelfApproval: true`; the loopback
 *   single-user mode is self-approval by construction, its one local user asks and decides). Such
 *   a decision is marked `selfApproved`.
 * - A rule may need several distinct approvers (`approvers: 2`, four-eyes): each approval is a vote
 *   and the approval stays pending until that many different principals approved; the same
 *   principal twice is refused.
 * - Any rejection rejects at once.
 */

/** One approver's approval of a pending approval. */
export interface ApprovalVote {
  readonly principal: Principal;
  /** How they decided (the UI button, the approver credential). */
  readonly by: { readonly kind: 'vscode-ui' | 'approver-credential' | 'ui-session'; readonly name?: string };
  readonly at: number;
  /** The approver is the requester, allowed by configuration. */
  readonly selfApproved?: true;
}

export interface DecisionRules {
  /** The requester may decide their own request (loopback mode; `team.allowSelfApproval: true`). */
  readonly allowSelfApproval: boolean;
}

/** What a decision does to a pending approval (the caller checked that it is pending and the digest). */
export type Judgement =
  /** An approval that still needs more distinct approvers: it stays pending with one more vote. */
  | { readonly kind: 'vote'; readonly votes: readonly ApprovalVote[] }
  /** The approval is decided: approved (enough distinct approvers) or rejected. */
  | { readonly kind: 'settle'; readonly status: 'approved' | 'rejected'; readonly votes: readonly ApprovalVote[]; readonly selfApproved: boolean };

export interface JudgedApproval {
  readonly id: string;
  readonly requester: Principal;
  readonly approversRequired: number;
  readonly votes: readonly ApprovalVote[];
}

/** The most distinct approvers a rule can ask for. */
export const MAX_APPROVERS = 5;

/**
 * Judges one human decision on a pending approval. Throws `APPROVAL_SELF_DECISION` when the
 * requester decides without self-approval allowed, `APPROVAL_ALREADY_APPROVED` when this principal
 * already approved it (a four-eyes approval needs another person).
 */
export function judgeDecision(
  approval: JudgedApproval,
  input: { readonly approve: boolean; readonly principal: Principal; readonly by: ApprovalVote['by']; readonly at: number },
  rules: DecisionRules,
): Judgement {
  const self = input.principal.id === approval.requester.id;
  if (self && !rules.allowSelfApproval) {
    throw new ControlPlaneError(
      'APPROVAL_SELF_DECISION',
      `approval ${approval.id} was requested by ${describePrincipal(approval.requester)}: nobody decides their own request, so another approver must decide it (a one-person setup may allow it explicitly with team.allowSelfApproval: true in the operator configuration)`,
      { details: { requester: approval.requester.id } },
    );
  }
  if (!input.approve) return { kind: 'settle', status: 'rejected', votes: approval.votes, selfApproved: self };
  const required = Math.max(1, approval.approversRequired);
  if (approval.votes.some((v) => v.principal.id === input.principal.id)) {
    throw new ControlPlaneError(
      'APPROVAL_ALREADY_APPROVED',
      `${describePrincipal(input.principal)} already approved ${approval.id}; it needs ${required} different approvers (${approval.votes.length} of ${required} so far), so another approver must approve it`,
      { details: { approvals: approval.votes.length, required } },
    );
  }
  const vote: ApprovalVote = Object.freeze({ principal: input.principal, by: input.by, at: input.at, ...(self ? { selfApproved: true as const } : {}) });
  const votes = Object.freeze([...approval.votes, vote]);
  if (votes.length < required) return { kind: 'vote', votes };
  return { kind: 'settle', status: 'approved', votes, selfApproved: votes.some((v) => v.selfApproved === true) };
}

/** "1 of 2 approvals". */
export function approvalProgress(votes: number, required: number): string {
  return `${votes} of ${Math.max(1, required)} approvals`;
}

function describePrincipal(p: Principal): string {
  return p.name && p.name !== p.id ? `${p.name} (${p.id})` : p.id;
}
