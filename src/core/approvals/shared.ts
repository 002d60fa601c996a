import type { Event } from '../events';
import type { Principal } from '../team/principal';
import type { Approval, Decider, HumanDecider } from './store';

/** A human decision as the shared state applies it (the rules are `judgeDecision`'s). */
export interface SharedDecisionInput {
  readonly approve: boolean;
  readonly reason?: string;
  readonly by: HumanDecider;
  readonly principal: Principal;
  /** The digest the approver saw; refused when it is not the approval's. */
  readonly digest?: string;
  readonly allowSelfApproval: boolean;
  readonly decisionTtlMs: number;
}

/**
 * Approval state shared by several replicas (PostgreSQL: `PostgresApprovalStorage`). The
 * `ApprovalStore` of each replica keeps the calls waiting there and their arguments; this holds
 * what every replica must agree on: which approvals are pending, the votes, the decision, the
 * expiry, the consumption. Every change is conditional on the row still being pending (or
 * approved and unconsumed), so two replicas never both decide or both run an approval.
 *
 * Nothing executable is stored: the arguments stay in the memory of the replica that holds the
 * call; the shared row holds what the approvers see (secret-looking values masked) and the digest.
 */
export interface SharedApprovalStorage {
  /** Records a new pending approval, held by this replica, and tells the other replicas. */
  insert(approval: Approval): Promise<void>;
  /**
   * A human decision, applied in one transaction under `judgeDecision`'s rules; returns the
   * approval after it (still pending after the first of two approvals). Throws what
   * `ApprovalStore.decide` throws: APPROVAL_NOT_FOUND, APPROVAL_NOT_PENDING,
   * APPROVAL_DIGEST_MISMATCH, APPROVAL_SELF_DECISION, APPROVAL_ALREADY_APPROVED.
   */
  decide(id: string, input: SharedDecisionInput): Promise<Approval>;
  /** Ends a pending approval as the system (expiry, caller gone, shutdown) if it is still pending; returns its state now. */
  settleBySystem(id: string, status: 'rejected' | 'expired', reason: string, by: Decider): Promise<Approval | undefined>;
  /** Spends an approved, unconsumed, still usable approval with this digest; true when this call took it. */
  consume(id: string, digest: string): Promise<boolean>;
  get(id: string): Promise<Approval | undefined>;
  /** Pending approvals of every replica, oldest first. */
  listPending(): Promise<Approval[]>;
  /** Decided approvals of every replica, newest decision first. */
  history(limit: number): Promise<Approval[]>;
  /**
   * An approval changed (requested, voted, decided, expired, consumed) on any replica: its state
   * re-read from the shared state after a notification, never taken from the notification itself.
   */
  readonly onDidChange: Event<Approval>;
  /** Approvals this replica ended because the replica holding their call is gone (to audit here). */
  readonly onDidEndOrphans?: Event<Approval>;
  close(): Promise<void>;
}
