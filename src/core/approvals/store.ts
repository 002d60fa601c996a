import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex, type JsonValue } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import { Emitter, type Event } from '../events';
import type { PolicyRuleRef } from '../policy';
import { LOCAL_PRINCIPAL, type Principal } from '../team/principal';
import { systemClock, type Clock, type Timer } from './clock';
import type { ApprovalPreview } from './preview';
import { approvalProgress, judgeDecision, MAX_APPROVERS, type ApprovalVote } from './rules';
import type { SharedApprovalStorage } from './shared';

export type ApprovalKind = 'tool' | 'resource' | 'prompt';
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

/** A human who decided. Only these can decide: the VS Code UI (a button press) or the headless approver credential. */
export interface HumanDecider {
  readonly kind: 'vscode-ui' | 'approver-credential' | 'ui-session';
  readonly name?: string;
  /** Who the human is; default the loopback mode's `LOCAL_PRINCIPAL`. Compared with the requester. */
  readonly principal?: Principal;
}

/** Who ended an approval: a human, or the system (expiry, shutdown). */
export type Decider = HumanDecider | { readonly kind: 'system'; readonly name?: string };

export interface ClientInfo {
  readonly name: string;
  readonly version?: string;
}

export interface ApprovalDecision {
  readonly approved: boolean;
  readonly reason: string;
  readonly by: Decider;
  /** The human who decided (the last approver of a four-eyes approval); absent for the system. */
  readonly principal?: Principal;
  /** The requester decided their own request, as the configuration allows (`team.allowSelfApproval`, loopback mode). */
  readonly selfApproved?: true;
  readonly at: number;
  /** Until when the decision is handed to a repeat call with the same digest (and an approval can be consumed). */
  readonly usableUntil: number;
}

/** A snapshot of one approval. The store never hands out its own mutable state. */
export interface Approval {
  readonly id: string;
  readonly kind: ApprovalKind;
  readonly server: string;
  /** Tool name, resource URI or prompt name. */
  readonly tool: string;
  /**
   * The arguments as shown to the approver, unredacted (the human must see what will run); never
   * used to run anything, never journaled or audited.
   */
  readonly displayArgs: Readonly<Record<string, JsonValue>>;
  /** Paths in `displayArgs` (`argLeaves` form) whose value looks like a secret: the UIs mark them. */
  readonly secretPaths?: readonly string[];
  /** What the call will change (destination, objects), as the built-in server resolved it; part of the digest. */
  readonly effect?: Readonly<Record<string, JsonValue>>;
  /** SHA-256 of the canonical arguments (`dryRun` only when true) and the effect (`approvalDigest`). */
  readonly digest: string;
  readonly preview: ApprovalPreview;
  readonly client?: ClientInfo;
  readonly rule?: PolicyRuleRef;
  /** The policy's reason for asking. */
  readonly reason: string;
  /** The gateway call that asked first (for the audit trail). */
  readonly callId?: string;
  /** Who asked (the caller's principal; `LOCAL_PRINCIPAL` in the loopback mode). */
  readonly requester: Principal;
  /** Distinct approvers needed (the rule's `approvers`, default 1; 2 is four-eyes). */
  readonly approversRequired: number;
  /** The approvals given so far, one per distinct approver (fewer than `approversRequired` while pending). */
  readonly votes: readonly ApprovalVote[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly status: ApprovalStatus;
  readonly decision?: ApprovalDecision;
  readonly consumedAt?: number;
}

export interface ApprovalRequest {
  readonly kind?: ApprovalKind;
  readonly server: string;
  readonly tool: string;
  /** The real arguments: only digested, never stored. */
  readonly args: Readonly<Record<string, unknown>>;
  /** What the approver sees: the arguments as they will run (not redacted). */
  readonly displayArgs: Readonly<Record<string, JsonValue>>;
  readonly secretPaths?: readonly string[];
  readonly effect?: Readonly<Record<string, JsonValue>>;
  readonly preview?: ApprovalPreview;
  readonly client?: ClientInfo;
  readonly rule?: PolicyRuleRef;
  readonly reason: string;
  readonly callId?: string;
  /** Overrides the store's default expiry for this approval. */
  readonly expiryMs?: number;
  /** Who asked; default `LOCAL_PRINCIPAL` (the loopback mode). */
  readonly requester?: Principal;
  /** Distinct approvers needed, 1 to 5 (the policy rule's `approvers`); default 1. */
  readonly approvers?: number;
}

/** How a wait ended. `approved: true` means a call may now `consume` it; it does not run anything by itself. */
export interface ApprovalOutcome {
  readonly status: 'approved' | 'rejected' | 'expired';
  readonly approved: boolean;
  readonly reason: string;
  readonly by: Decider;
  readonly approval: Approval;
}

export type ApprovalChange =
  | { readonly type: 'requested'; readonly approval: Approval }
  | { readonly type: 'decided'; readonly approval: Approval }
  /** One more approver approved; it still needs more (`approval.votes` < `approversRequired`). */
  | { readonly type: 'progress'; readonly approval: Approval }
  | { readonly type: 'expired'; readonly approval: Approval }
  | { readonly type: 'consumed'; readonly approval: Approval };

/** What the store tells a journal: the approvals pending right now. */
export interface PendingEntry {
  readonly id: string;
  readonly kind: ApprovalKind;
  readonly server: string;
  readonly tool: string;
  readonly digest: string;
  readonly reason: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly callId?: string;
  readonly client?: ClientInfo;
}

/** Persists the ids of pending approvals (never as executable), so a restart can audit them as rejected. */
export interface PendingJournal {
  /** Replaces the journal with `entries`; synchronous so the pending set and the journal never disagree. */
  write(entries: readonly PendingEntry[]): void;
}

export interface ApprovalStoreOptions {
  readonly clock?: Clock;
  /** A pending approval nobody decides is rejected as `expired` after this long. Default 5 minutes. */
  readonly defaultExpiryMs?: number;
  /**
   * How long a decision stays usable after it is made: an approval can be consumed, and an
   * undelivered rejection is handed to a repeat call, within this time. Default 5 minutes.
   */
  readonly decisionTtlMs?: number;
  /** Decided approvals kept for `history()`. Default 200. */
  readonly historyLimit?: number;
  readonly journal?: PendingJournal;
  /** Journal errors outside `request` (which throws them) and heartbeat callback errors end up here. */
  readonly onError?: (err: unknown) => void;
  readonly newId?: () => string;
  /**
   * The requester may decide their own request. Default true: the loopback single-user mode is
   * self-approval by construction (its one local user asks and decides). A team deployment sets
   * it from `team.allowSelfApproval` (default false there).
   */
  readonly allowSelfApproval?: boolean;
  /**
   * Shared approval state (PostgreSQL) for several replicas: it becomes the authority for every
   * decision, expiry and consumption, and wakes the calls waiting here when another replica
   * decides. Use the `*Shared` methods then (`requestShared`, `decideShared`, `consumeShared`).
   */
  readonly shared?: SharedApprovalStorage;
}

const HUMAN_KINDS: ReadonlySet<string> = new Set(['vscode-ui', 'approver-credential', 'ui-session']);

/**
 * SHA-256 (hex) of the canonical JSON of the arguments. A top-level `dryRun` is left out unless it
 * is `true`: a dry run is its own call and never shares the real call's approval.
 */
export function approvalDigest(args: Readonly<Record<string, unknown>>): string {
  const { dryRun, ...rest } = args;
  return sha256Hex(canonicalJson(dryRun === true ? { ...rest, dryRun: true } : rest));
}

interface Entry {
  approval: Approval;
  readonly key: string;
  readonly waiters: Set<(outcome: ApprovalOutcome) => void>;
  timer?: Timer;
  /** A waiter or a repeat call has received the (rejecting) decision. */
  delivered: boolean;
}

/**
 * Pending approvals and decisions bound to an argument digest, in memory.
 *
 * Lifecycle: `request` creates a pending approval (or joins the pending one with the same kind,
 * server, tool and digest); a human `decide`s; `waitForDecision` resolves for everyone waiting.
 * An approval is then usable **exactly once**: `consume` succeeds for one call with that digest
 * within `decisionTtlMs`, after which it is spent. Changed arguments give another digest and so
 * need a new approval. A pending approval nobody decides becomes `expired` (a rejection) after its
 * expiry. A rejection that reached no waiter (the client gave up before the human answered) is
 * handed once to the next identical `request`, so the model hears it; after that, identical calls
 * ask again.
 *
 * Who may decide is enforced by the callers (the VS Code webview button, the CLI with the approver
 * credential); the store refuses any decider kind other than `vscode-ui` and
 * `approver-credential`, so an agent-facing path cannot pass one off as `system`.
 *
 * Nothing executable is ever persisted: with a `journal`, only the ids and digests of pending
 * approvals are written, so that after a crash the next start can audit them as rejected
 * (`FilePendingJournal.recoverOrphans`). Events (`onDidChange`) are where the gateway writes
 * `approval.*` audit records.
 */
export class ApprovalStore {
  private readonly clock: Clock;
  private readonly defaultExpiryMs: number;
  private readonly decisionTtlMs: number;
  private readonly historyLimit: number;
  private readonly journal: PendingJournal | undefined;
  private readonly onError: (err: unknown) => void;
  private readonly newId: () => string;
  private readonly allowSelfApproval: boolean;
  private readonly shared: SharedApprovalStorage | undefined;
  /** Writes to the shared state still under way (awaited by `settled()`). */
  private readonly sharedWrites = new Set<Promise<unknown>>();
  private readonly byId = new Map<string, Entry>();
  private readonly byKey = new Map<string, Entry>();
  private readonly decided: Approval[] = [];
  private readonly changes = new Emitter<ApprovalChange>();

  /** Fires after every change: requested, decided (by a human or `rejectAllPending`), expired, consumed. */
  readonly onDidChange: Event<ApprovalChange> = this.changes.event;

  constructor(options: ApprovalStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.defaultExpiryMs = options.defaultExpiryMs ?? 5 * 60_000;
    this.decisionTtlMs = options.decisionTtlMs ?? 5 * 60_000;
    this.historyLimit = options.historyLimit ?? 200;
    this.journal = options.journal;
    this.onError = options.onError ?? (() => undefined);
    this.newId = options.newId ?? randomUUID;
    this.allowSelfApproval = options.allowSelfApproval ?? true;
    this.shared = options.shared;
    if (this.shared !== undefined) {
      const sub = this.shared.onDidChange((approval) => this.applyShared(approval));
      this.sharedSub = sub;
    }
  }

  private sharedSub: { dispose(): void } | undefined;

  /** Whether decisions go through shared state (several replicas). */
  get isShared(): boolean {
    return this.shared !== undefined;
  }

  /** `approvalDigest`, for callers holding a store. */
  digest(args: Readonly<Record<string, unknown>>): string {
    return approvalDigest(args);
  }

  /**
   * Asks for an approval, or finds the one an identical call of the same requester (same kind,
   * server, tool, digest, principal) already has: a pending one (the call joins it), an approved one not yet consumed, or a
   * rejection no one has received yet. `created` says whether a new approval was made (then the
   * caller audits `approval.requested` and the approvers are notified through `onDidChange`).
   * Throws `APPROVAL_JOURNAL_FAILED` (and keeps nothing) when the journal cannot record it.
   */
  request(input: ApprovalRequest): { readonly approval: Approval; readonly created: boolean } {
    const kind = input.kind ?? 'tool';
    const digest = approvalDigest(input.args);
    const key = joinKey(kind, input.server, input.tool, digest, (input.requester ?? LOCAL_PRINCIPAL).id);
    const now = this.clock.now();
    this.pruneUnusable(now);
    const existing = this.byKey.get(key);
    if (existing !== undefined) {
      const { status, decision, consumedAt } = existing.approval;
      const usable = decision !== undefined && now < decision.usableUntil;
      if (status === 'pending') return { approval: existing.approval, created: false };
      if (status === 'approved' && consumedAt === undefined && usable) return { approval: existing.approval, created: false };
      if (status === 'rejected' && !existing.delivered && usable) {
        existing.delivered = true;
        return { approval: existing.approval, created: false };
      }
      this.byKey.delete(key);
    }
    const expiryMs = input.expiryMs ?? this.defaultExpiryMs;
    const approvers = input.approvers ?? 1;
    if (!Number.isInteger(approvers) || approvers < 1 || approvers > MAX_APPROVERS) {
      throw new ControlPlaneError('APPROVAL_BAD_APPROVERS', `approvers must be a whole number from 1 to ${MAX_APPROVERS}, not ${approvers}`);
    }
    const approval: Approval = freeze({
      id: this.newId(),
      kind,
      server: input.server,
      tool: input.tool,
      displayArgs: input.displayArgs,
      ...(input.secretPaths !== undefined && input.secretPaths.length > 0 ? { secretPaths: input.secretPaths } : {}),
      ...(input.effect !== undefined ? { effect: input.effect } : {}),
      digest,
      preview: input.preview ?? { status: 'none' },
      ...(input.client !== undefined ? { client: input.client } : {}),
      ...(input.rule !== undefined ? { rule: input.rule } : {}),
      reason: input.reason,
      ...(input.callId !== undefined ? { callId: input.callId } : {}),
      requester: input.requester ?? LOCAL_PRINCIPAL,
      approversRequired: approvers,
      votes: Object.freeze([]) as readonly ApprovalVote[],
      createdAt: now,
      expiresAt: now + expiryMs,
      status: 'pending',
    });
    const entry: Entry = { approval, key, waiters: new Set(), delivered: false };
    this.byId.set(approval.id, entry);
    this.byKey.set(key, entry);
    try {
      this.writeJournal();
    } catch (err) {
      this.byId.delete(approval.id);
      this.byKey.delete(key);
      if (existing !== undefined) this.byKey.set(key, existing);
      throw new ControlPlaneError('APPROVAL_JOURNAL_FAILED', `cannot record the pending approval: ${errorMessage(err)}`, { cause: err });
    }
    entry.timer = this.clock.setTimer(expiryMs, () => this.expire(entry));
    this.fire({ type: 'requested', approval });
    return { approval, created: true };
  }

  /**
   * Resolves when the approval is decided or expires (at once if it already is). Aborting the
   * signal (the client's request ended) rejects this wait with `APPROVAL_WAIT_ABORTED` and leaves
   * the approval pending until its own expiry. `onHeartbeat` is called every `heartbeatMs` while
   * waiting (the gateway sends MCP progress notifications from it). `APPROVAL_NOT_FOUND` for an
   * unknown id.
   */
  waitForDecision(
    id: string,
    options: { readonly signal?: AbortSignal; readonly heartbeatMs?: number; readonly onHeartbeat?: (elapsedMs: number, approval: Approval) => void } = {},
  ): Promise<ApprovalOutcome> {
    const entry = this.byId.get(id);
    const settled = entry?.approval ?? this.decided.find((a) => a.id === id);
    if (settled === undefined) return Promise.reject(new ControlPlaneError('APPROVAL_NOT_FOUND', `no approval ${id}`));
    if (settled.status !== 'pending') {
      if (entry !== undefined) entry.delivered = true;
      return Promise.resolve(outcomeOf(settled));
    }
    const pending = entry as Entry;
    const { signal, heartbeatMs, onHeartbeat } = options;
    if (signal?.aborted === true) return Promise.reject(aborted(id));
    return new Promise<ApprovalOutcome>((resolve, reject) => {
      const started = this.clock.now();
      let beat: Timer | undefined;
      const schedule = (): void => {
        if (heartbeatMs === undefined || onHeartbeat === undefined) return;
        beat = this.clock.setTimer(heartbeatMs, () => {
          try {
            onHeartbeat(this.clock.now() - started, pending.approval);
          } catch (err) {
            this.onError(err);
          }
          schedule();
        });
      };
      const onAbort = (): void => {
        pending.waiters.delete(waiter);
        beat?.cancel();
        reject(aborted(id));
      };
      const waiter = (outcome: ApprovalOutcome): void => {
        beat?.cancel();
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      pending.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      schedule();
    });
  }

  /**
   * A human's decision on a pending approval. Refused (throws) when the id is unknown
   * (`APPROVAL_NOT_FOUND`), the approval is no longer pending — decided, expired, or a replayed
   * decision (`APPROVAL_NOT_PENDING`) —, `digest` is given and differs from the approval's
   * (`APPROVAL_DIGEST_MISMATCH`: the approver saw other arguments), or the decider is not a human
   * kind (`APPROVAL_BAD_DECIDER`). Who decides is judged by `judgeDecision`: the requester's own
   * decision is refused unless self-approval is allowed (`APPROVAL_SELF_DECISION`), the same
   * principal's second approval too (`APPROVAL_ALREADY_APPROVED`); with `approversRequired` > 1 an
   * approval short of that count returns the approval still pending, with one more vote.
   */
  decide(id: string, input: { readonly approve: boolean; readonly reason?: string; readonly by: HumanDecider; readonly digest?: string }): Approval {
    if (this.shared !== undefined) throw new ControlPlaneError('APPROVAL_SHARED', 'this store shares its approvals with other replicas: decide with decideShared');
    const entry = this.pendingFor(id, input);
    const at = this.clock.now();
    const principal = input.by.principal ?? LOCAL_PRINCIPAL;
    const by = humanBy(input.by);
    const judged = judgeDecision(
      { id, requester: entry.approval.requester, approversRequired: entry.approval.approversRequired, votes: entry.approval.votes },
      { approve: input.approve, principal, by, at },
      { allowSelfApproval: this.allowSelfApproval },
    );
    if (judged.kind === 'vote') {
      entry.approval = freeze({ ...entry.approval, votes: judged.votes });
      this.fire({ type: 'progress', approval: entry.approval });
      return entry.approval;
    }
    const reason = input.reason ?? (input.approve ? 'approved' : 'rejected by the approver');
    return this.settle(entry, { status: judged.status, reason, by, principal, votes: judged.votes, ...(judged.selfApproved ? { selfApproved: true } : {}) }, 'decided');
  }

  /**
   * `decide` for every mode: with shared state the decision is made there (in one transaction,
   * under the same rules: `judgeDecision`), every replica hears of it, and the call waiting here
   * (if it waits here) wakes. Same errors as `decide`.
   */
  async decideShared(id: string, input: { readonly approve: boolean; readonly reason?: string; readonly by: HumanDecider; readonly digest?: string }): Promise<Approval> {
    if (this.shared === undefined) return this.decide(id, input);
    if (!HUMAN_KINDS.has(input.by.kind)) throw badDecider(input.by.kind);
    const decided = await this.shared.decide(id, {
      approve: input.approve,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      by: humanBy(input.by),
      principal: input.by.principal ?? LOCAL_PRINCIPAL,
      ...(input.digest !== undefined ? { digest: input.digest } : {}),
      allowSelfApproval: this.allowSelfApproval,
      decisionTtlMs: this.decisionTtlMs,
    });
    this.applyShared(decided);
    return decided;
  }

  /** The pending entry a human decides, or the reason it cannot be decided. */
  private pendingFor(id: string, input: { readonly by: HumanDecider; readonly digest?: string }): Entry {
    if (!HUMAN_KINDS.has(input.by.kind)) throw badDecider(input.by.kind);
    const entry = this.byId.get(id);
    if (entry === undefined) {
      const old = this.decided.find((a) => a.id === id);
      if (old !== undefined) throw notPending(old);
      throw new ControlPlaneError('APPROVAL_NOT_FOUND', `no approval ${id}`);
    }
    if (entry.approval.status === 'pending' && this.clock.now() >= entry.approval.expiresAt) this.expire(entry);
    if (entry.approval.status !== 'pending') throw notPending(entry.approval);
    if (input.digest !== undefined && input.digest !== entry.approval.digest) throw digestMismatch(id, entry.approval.digest);
    return entry;
  }

  /**
   * Spends an approved decision: returns the approval (and marks it consumed) once for the approved,
   * unconsumed approval of this kind, server, tool, digest and requester whose decision is still usable;
   * `undefined` otherwise (none, not approved, already used, too late, other arguments).
   */
  consume(server: string, tool: string, digest: string, kind: ApprovalKind = 'tool', requesterId: string = LOCAL_PRINCIPAL.id): Approval | undefined {
    const entry = this.byKey.get(joinKey(kind, server, tool, digest, requesterId));
    if (entry === undefined) return undefined;
    const { status, consumedAt, decision } = entry.approval;
    if (status !== 'approved' || consumedAt !== undefined || decision === undefined || this.clock.now() >= decision.usableUntil) return undefined;
    entry.approval = freeze({ ...entry.approval, consumedAt: this.clock.now() });
    this.byKey.delete(entry.key);
    this.byId.delete(entry.approval.id);
    this.replaceInHistory(entry.approval);
    this.fire({ type: 'consumed', approval: entry.approval });
    return entry.approval;
  }

  /**
   * `consume` for every mode: with shared state the approval is also spent there, with a
   * conditional update, so it is used at most once whichever replica asks; `undefined` when the
   * shared state says it is not (or no longer) usable, or cannot be reached.
   */
  async consumeShared(server: string, tool: string, digest: string, kind: ApprovalKind = 'tool', requesterId: string = LOCAL_PRINCIPAL.id): Promise<Approval | undefined> {
    const used = this.consume(server, tool, digest, kind, requesterId);
    if (used === undefined || this.shared === undefined) return used;
    try {
      return (await this.shared.consume(used.id, digest)) ? used : undefined;
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  /**
   * `request` for every mode: with shared state a new approval is recorded there before anyone is
   * told (so any replica can show and decide it). Throws `APPROVAL_SHARED_FAILED` (and keeps
   * nothing pending) when it cannot be recorded.
   */
  async requestShared(input: ApprovalRequest): Promise<{ readonly approval: Approval; readonly created: boolean }> {
    const result = this.request(input);
    if (!result.created || this.shared === undefined) return result;
    try {
      await this.shared.insert(result.approval);
    } catch (err) {
      const entry = this.byId.get(result.approval.id);
      if (entry !== undefined && entry.approval.status === 'pending') {
        this.settle(entry, { status: 'rejected', reason: `the shared approval state cannot be written: ${errorMessage(err)}`, by: { kind: 'system' } }, 'decided');
        entry.delivered = true;
      }
      throw new ControlPlaneError('APPROVAL_SHARED_FAILED', `cannot record the pending approval in the shared state: ${errorMessage(err)}`, { cause: err });
    }
    return result;
  }

  get(id: string): Approval | undefined {
    return this.byId.get(id)?.approval ?? this.decided.find((a) => a.id === id);
  }

  /** Pending approvals, oldest first. */
  list(): Approval[] {
    return [...this.byId.values()].map((e) => e.approval).filter((a) => a.status === 'pending').sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Decided and expired approvals, newest decision first, at most `historyLimit`. */
  history(): Approval[] {
    return [...this.decided].reverse();
  }

  /**
   * Rejects every pending approval (shutdown): waiters get the rejection, decider `system`.
   * Returns them so the caller can audit each. With shared state they are rejected there too
   * (conditionally: one another replica decided meanwhile keeps that decision, and runs nowhere).
   */
  rejectAllPending(reason: string): Approval[] {
    return this.list().map((a) => {
      const entry = this.byId.get(a.id) as Entry;
      const settled = this.settle(entry, { status: 'rejected', reason, by: { kind: 'system' } }, 'decided');
      this.settleShared(a.id, 'rejected', reason, { kind: 'system' });
      return settled;
    });
  }

  /**
   * Cancels a pending approval whose callers are all gone (nobody waits for it any more): it is
   * rejected by the system with `reason`, so a later decision runs nothing and a repeat call asks
   * anew. Returns it, or undefined when it is not pending or another call still waits for it.
   */
  cancelUnwaited(id: string, reason: string): Approval | undefined {
    const entry = this.byId.get(id);
    if (entry === undefined || entry.approval.status !== 'pending' || entry.waiters.size > 0) return undefined;
    const by: Decider = { kind: 'system', name: 'caller-disconnected' };
    const approval = this.settle(entry, { status: 'rejected', reason, by }, 'decided');
    this.settleShared(id, 'rejected', reason, by);
    // Nobody is there to receive this rejection; a repeat call gets a fresh approval.
    entry.delivered = true;
    return approval;
  }

  /**
   * Applies the state another replica (or this one, through the shared state) gave an approval:
   * a call waiting here wakes with the decision; a four-eyes approval gets its new vote. Approvals
   * this store does not hold are ignored (their call waits elsewhere).
   */
  applyShared(approval: Approval): void {
    const entry = this.byId.get(approval.id);
    if (entry === undefined || entry.approval.status !== 'pending') return;
    if (approval.status === 'pending') {
      if (approval.votes.length > entry.approval.votes.length) {
        entry.approval = freeze({ ...entry.approval, votes: approval.votes });
        this.fire({ type: 'progress', approval: entry.approval });
      }
      return;
    }
    const d = approval.decision;
    this.settle(
      entry,
      {
        status: approval.status,
        reason: d?.reason ?? approval.status,
        by: d?.by ?? { kind: 'system' },
        ...(d?.principal !== undefined ? { principal: d.principal } : {}),
        ...(d?.selfApproved === true ? { selfApproved: true } : {}),
        votes: approval.votes,
        ...(d !== undefined ? { at: d.at, usableUntil: d.usableUntil } : {}),
      },
      approval.status === 'expired' ? 'expired' : 'decided',
    );
  }

  /** Resolves when the writes to the shared state started so far are done (shutdown). */
  async settled(): Promise<void> {
    while (this.sharedWrites.size > 0) await Promise.allSettled([...this.sharedWrites]);
  }

  /** Cancels the expiry timers and drops the listeners. Pending approvals stay as they are. */
  dispose(): void {
    for (const entry of this.byId.values()) entry.timer?.cancel();
    this.sharedSub?.dispose();
    this.changes.dispose();
  }

  private expire(entry: Entry): void {
    if (entry.approval.status !== 'pending') return;
    const reason = 'expired: nobody approved it in time';
    if (this.shared === undefined) {
      this.settle(entry, { status: 'expired', reason, by: { kind: 'system' } }, 'expired');
      return;
    }
    // Shared: expired there with a conditional update, so an approval another replica decided a
    // moment ago keeps that decision, and two replicas never both decide it.
    const id = entry.approval.id;
    this.track(
      this.shared.settleBySystem(id, 'expired', reason, { kind: 'system' }).then(
        (now) => {
          if (now !== undefined) this.applyShared(now);
          if (entry.approval.status === 'pending') this.settle(entry, { status: 'expired', reason, by: { kind: 'system' } }, 'expired');
        },
        (err: unknown) => {
          // Unreachable: the call here ends as expired (fails closed); the row expires by its own time elsewhere.
          this.onError(err);
          if (entry.approval.status === 'pending') this.settle(entry, { status: 'expired', reason, by: { kind: 'system' } }, 'expired');
        },
      ),
    );
  }

  private settleShared(id: string, status: 'rejected' | 'expired', reason: string, by: Decider): void {
    if (this.shared === undefined) return;
    this.track(this.shared.settleBySystem(id, status, reason, by).catch((err: unknown) => this.onError(err)));
  }

  private track(p: Promise<unknown>): void {
    this.sharedWrites.add(p);
    void p.finally(() => this.sharedWrites.delete(p));
  }

  private settle(
    entry: Entry,
    next: {
      status: 'approved' | 'rejected' | 'expired';
      reason: string;
      by: Decider;
      principal?: Principal;
      selfApproved?: true;
      votes?: readonly ApprovalVote[];
      at?: number;
      usableUntil?: number;
    },
    event: 'decided' | 'expired',
  ): Approval {
    const at = next.at ?? this.clock.now();
    entry.timer?.cancel();
    const decision: ApprovalDecision = {
      approved: next.status === 'approved',
      reason: next.reason,
      by: next.by,
      ...(next.principal !== undefined ? { principal: next.principal } : {}),
      ...(next.selfApproved === true ? { selfApproved: true as const } : {}),
      at,
      usableUntil: next.usableUntil ?? at + this.decisionTtlMs,
    };
    entry.approval = freeze({ ...entry.approval, status: next.status, ...(next.votes !== undefined ? { votes: next.votes } : {}), decision });
    const status = next.status;
    if (status === 'expired') {
      this.byId.delete(entry.approval.id);
      this.byKey.delete(entry.key);
    }
    this.decided.push(entry.approval);
    if (this.decided.length > this.historyLimit) this.decided.splice(0, this.decided.length - this.historyLimit);
    try {
      this.writeJournal();
    } catch (err) {
      this.onError(err);
    }
    const outcome = outcomeOf(entry.approval);
    if (entry.waiters.size > 0) entry.delivered = true;
    for (const waiter of [...entry.waiters]) waiter(outcome);
    entry.waiters.clear();
    this.pruneUnusable(this.clock.now());
    this.fire({ type: event, approval: entry.approval });
    return entry.approval;
  }

  /** Decided entries whose decision can no longer be used leave the live maps (history keeps them). */
  private pruneUnusable(now: number): void {
    for (const entry of [...this.byId.values()]) {
      const d = entry.approval.decision;
      if (d !== undefined && now >= d.usableUntil) {
        this.byId.delete(entry.approval.id);
        if (this.byKey.get(entry.key) === entry) this.byKey.delete(entry.key);
      }
    }
  }

  private replaceInHistory(approval: Approval): void {
    const i = this.decided.findIndex((a) => a.id === approval.id);
    if (i !== -1) this.decided[i] = approval;
  }

  private writeJournal(): void {
    if (this.journal === undefined) return;
    const entries: PendingEntry[] = this.list().map((a) => ({
      id: a.id,
      kind: a.kind,
      server: a.server,
      tool: a.tool,
      digest: a.digest,
      reason: a.reason,
      createdAt: a.createdAt,
      expiresAt: a.expiresAt,
      ...(a.callId !== undefined ? { callId: a.callId } : {}),
      ...(a.client !== undefined ? { client: a.client } : {}),
    }));
    this.journal.write(entries);
  }

  private fire(change: ApprovalChange): void {
    this.changes.fire(change);
  }
}

function outcomeOf(approval: Approval): ApprovalOutcome {
  const d = approval.decision;
  const status = approval.status === 'pending' ? 'rejected' : approval.status;
  return { status, approved: status === 'approved', reason: d?.reason ?? status, by: d?.by ?? { kind: 'system' }, approval };
}

function humanBy(by: HumanDecider): HumanDecider {
  return by.name !== undefined ? { kind: by.kind, name: by.name } : { kind: by.kind };
}

function badDecider(kind: unknown): ControlPlaneError {
  return new ControlPlaneError('APPROVAL_BAD_DECIDER', `approvals are decided by a human in the VS Code UI or with the approver credential, not by "${String(kind)}"`);
}

export function digestMismatch(id: string, digest: string): ControlPlaneError {
  return new ControlPlaneError('APPROVAL_DIGEST_MISMATCH', `approval ${id} is for other arguments (digest ${digest.slice(0, 12)}…)`);
}

export function notPending(approval: Approval): ControlPlaneError {
  const what = approval.consumedAt !== undefined ? 'approved and already used' : approval.status;
  return new ControlPlaneError('APPROVAL_NOT_PENDING', `approval ${approval.id} is no longer pending (${what}); a decision counts once`, { details: { status: approval.status } });
}

function aborted(id: string): ControlPlaneError {
  return new ControlPlaneError('APPROVAL_WAIT_ABORTED', `stopped waiting for approval ${id}; it stays pending until it expires`);
}

function freeze<T extends object>(value: T): T {
  return Object.freeze(value);
}

/**
 * What makes calls "identical" for an approval: kind, server, tool, argument digest and who asks.
 * The requester is part of it: another person's identical call gets its own approval, so nobody can
 * join someone else's request and then approve it as if it were not their own, or spend it.
 */
function joinKey(kind: ApprovalKind, server: string, tool: string, digest: string, requesterId: string): string {
  return `${kind}\u0000${server}\u0000${tool}\u0000${digest}\u0000${requesterId}`;
}
