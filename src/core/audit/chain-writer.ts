/**
 * What the file log (`AuditLog`, log.ts) and the PostgreSQL log (`PostgresAuditLog`, postgres.ts)
 * share: one writer's keyed chain, its append queue, and the failure state machine. A sink keeps
 * only what is specific to its medium (files, rotation and fsync; connection, advisory lock,
 * batched INSERT and reconnect), through the hooks below.
 *
 * - Sealing: redaction (`args` included), schema check, numbering, signing and chaining.
 * - Queue: appends are queued in call order and written in batches by `drain` (one write at a
 *   time); each resolves once the sink says its record is durable.
 * - States: `open` → `failing` (a write or a checkpoint failed: appends reject at once, the
 *   records are counted as lost) → `open` again once `recover` wrote an `audit.write-resumed`
 *   record of the gap; `closing` → `closed`.
 */
import { canonicalJson } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import { Emitter, type Event } from '../events';
import type { Redactor } from '../redact';
import { auditMac, type AuditKeyring } from './keys';
import type { AuditHealth } from './log';
import { auditEventSchema, type AuditEvent } from './record';
import type { AuditAppendAck } from './sink';

/** A record that could not be written while the log was failing (listed in `audit.write-resumed`). */
export interface LostRecord {
  readonly type: string;
  readonly callId?: string;
  readonly server?: string;
  readonly tool?: string;
}

/** An append waiting for its record to be durable. */
export interface ChainPending<A extends AuditAppendAck> {
  readonly seq: number;
  readonly hash: string;
  readonly lost: LostRecord;
  readonly resolve: (ack: A) => void;
  readonly reject: (err: unknown) => void;
}

/** A record as signed: its place in the chain and its canonical JSON (no line end). */
export interface SealedRecord {
  readonly seq: number;
  readonly ts: string;
  readonly kid: string;
  /** MAC of the record before it. */
  readonly prev: string;
  readonly mac: string;
  readonly text: string;
  /** The redacted event (what the record holds besides the chain fields). */
  readonly redacted: Record<string, unknown>;
}

/** The failure being lived through: since when, the errors, and what it cost. */
export interface ChainFailure {
  since: number;
  firstError: string;
  lastError: string;
  refused: number;
  lostCount: number;
  lost: LostRecord[];
}

type State = 'open' | 'failing' | 'closing' | 'closed';

const MAX_LOST_LISTED = 100;

export interface ChainWriterOptions {
  readonly instanceId: string;
  readonly redactor: Redactor;
  readonly keys: AuditKeyring;
  readonly now: () => number;
  readonly checkpointIntervalMs: number;
  readonly probeIntervalMs: number;
  /** The chain head the writer continues from (durable). */
  readonly head: { readonly seq: number; readonly hash: string; readonly kid: string | undefined };
}

export abstract class ChainWriter<A extends AuditAppendAck, P extends ChainPending<A>> {
  readonly instanceId: string;
  protected readonly redactor: Redactor;
  protected readonly now: () => number;
  protected readonly checkpointIntervalMs: number;
  protected readonly probeIntervalMs: number;
  protected keys: AuditKeyring;
  protected state: State = 'open';
  protected failure: ChainFailure | undefined;
  private probing: Promise<boolean> | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private lastProbeAt = 0;
  private readonly healthChanged = new Emitter<AuditHealth>();
  /** Fires when `health` changes (ok → failing, failing → ok). */
  readonly onDidChangeHealth: Event<AuditHealth> = this.healthChanged.event;
  /** Last record assigned (queued or written). */
  protected seq: number;
  protected lastHash: string;
  protected kid: string | undefined;
  /** Last record written and durable: what a checkpoint names and where a recovery resumes. */
  protected durableSeq: number;
  protected durableHash: string;
  protected durableKid: string | undefined;
  protected queue: P[] = [];
  protected writing = false;
  private idleWaiters: (() => void)[] = [];
  /** Records acknowledged. */
  protected records = 0;
  protected checkpointTimer: NodeJS.Timeout | undefined;
  protected checkpointing: Promise<unknown> | undefined;
  protected lastCheckpointAt = 0;

  protected constructor(options: ChainWriterOptions) {
    this.instanceId = options.instanceId;
    this.redactor = options.redactor;
    this.keys = options.keys;
    this.now = options.now;
    this.checkpointIntervalMs = options.checkpointIntervalMs;
    this.probeIntervalMs = options.probeIntervalMs;
    this.seq = this.durableSeq = options.head.seq;
    this.lastHash = this.durableHash = options.head.hash;
    this.kid = this.durableKid = options.head.kid;
  }

  // ---- Hooks of the medium --------------------------------------------------------------------

  /** Starts `drain` when no write is in flight (now, or after the current turn). */
  protected abstract startDrain(): void;
  /** Queues a sealed record. */
  protected abstract pending(sealed: SealedRecord, lost: LostRecord, resolve: (ack: A) => void, reject: (err: unknown) => void): P;
  /** The next batch to write, taken off the queue (never empty while the queue is not). */
  protected abstract takeBatch(): P[];
  /** Writes a batch in order; advances the durable head (and `records`) as records become durable. */
  protected abstract writeBatch(batch: readonly P[]): Promise<void>;
  /** What an acknowledged append answers. */
  protected abstract ack(p: P): A;
  /** Writes (or takes) a checkpoint of the durable head now. */
  protected abstract writeCheckpoint(): Promise<unknown>;
  /** A checkpoint failed: one scheduled while records arrive, or the one `close` takes. */
  protected abstract checkpointFailed(err: unknown, when: 'scheduled' | 'closing'): void;
  /** While failing (nothing in flight): makes the medium writable and writes `audit.write-resumed`; throws when it cannot. */
  protected abstract resume(failure: ChainFailure): Promise<Extract<AuditHealth, { state: 'ok' }>['resumed']>;
  /** Releases the medium at the end of `close` (after the last checkpoint). */
  protected abstract release(): Promise<void>;
  /** The error of an append refused because the log is failing (`AUDIT_WRITE_FAILED`) or closed (`AUDIT_CLOSED`). */
  protected abstract unavailable(): ControlPlaneError;

  /** After a recovery, back in `open`. */
  protected afterResume(): void {
    // Nothing by default.
  }

  // ---- Contract -------------------------------------------------------------------------------

  /** The last record assigned (written or queued). */
  get head(): { readonly seq: number; readonly hash: string } {
    return { seq: this.seq, hash: this.lastHash };
  }

  /** The key that signs new records. */
  get currentKeyId(): string {
    return this.keys.current;
  }

  get health(): AuditHealth {
    const f = this.failure;
    if (this.state !== 'failing' || f === undefined) return { state: 'ok' };
    return { state: 'failing', since: f.since, refusedCount: f.refused, lostRecords: f.lostCount, lastError: f.lastError };
  }

  /** Counts a call refused because the log is failing (reported in `health` and the gap record). */
  noteRefused(): void {
    if (this.failure !== undefined) this.failure.refused++;
  }

  /**
   * Redacts, signs, chains and queues one record; resolves once it is durable. Rejects with
   * `AUDIT_EVENT_INVALID` (nothing assigned) for an event outside the schema, `AUDIT_CLOSED` after
   * `close`, `AUDIT_WRITE_FAILED` while the log is failing (the record is counted as lost and
   * listed in the `audit.write-resumed` record).
   */
  append(event: AuditEvent): Promise<A> {
    if (this.state === 'failing') {
      this.noteLost(lostOf(event));
      return Promise.reject(this.unavailable());
    }
    if (this.state !== 'open') return Promise.reject(this.unavailable());
    let sealed: SealedRecord;
    try {
      sealed = this.seal(event);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<A>((resolve, reject) => {
      this.queue.push(this.pending(sealed, lostOf(event), resolve, reject));
      this.startDrain();
    });
  }

  /**
   * Switches to the keyring's current key now: appends `audit.key-rotated` (signed with the new
   * key); later records and checkpoints use it. The keyring must hold the previous keys too.
   */
  async rotateKey(keys: AuditKeyring): Promise<A> {
    if (!keys.keys.has(keys.current)) throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring has no key ${keys.current}`);
    const from = this.kid ?? null;
    this.keys = keys;
    const ack = await this.append({ type: 'audit.key-rotated', reason: 'key rotated', detail: { from, to: keys.current } });
    await this.writeCheckpoint();
    return ack;
  }

  /**
   * While failing: tries to write again now (see `recover`). Resolves true when the log is
   * writable (it was, or it recovered). Concurrent calls share one attempt.
   */
  probe(): Promise<boolean> {
    if (this.state !== 'failing') return Promise.resolve(this.state === 'open');
    // Calls arriving in a burst share one attempt, and attempts are at least 100 ms apart.
    if (this.probing === undefined && this.now() - this.lastProbeAt < 100) return Promise.resolve(false);
    this.probing ??= this.recover().finally(() => {
      this.lastProbeAt = this.now();
      this.probing = undefined;
    });
    return this.probing;
  }

  /** Resolves when every append made so far is durable (or has failed). */
  flush(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits for pending appends, takes a last checkpoint (unless failing), then releases the medium. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return this.flush();
    const wasFailing = this.state === 'failing';
    this.state = 'closing';
    this.stopProbing();
    await this.flush();
    if (this.checkpointTimer !== undefined) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
    await this.checkpointing?.catch(() => undefined);
    if (!wasFailing) await this.writeCheckpoint().catch((err: unknown) => this.checkpointFailed(err, 'closing'));
    await this.release();
    this.state = 'closed';
    this.healthChanged.dispose();
  }

  // ---- Writing --------------------------------------------------------------------------------

  /** Redacts, validates, numbers and signs an event; advances the chain head. */
  protected seal(event: AuditEvent): SealedRecord {
    const { args, ...rest } = event;
    const redacted = this.redactor.redactRecord(rest);
    redacted.type = event.type;
    // Secrets never reach the audit, policy inputs included: a replay (what-if) counts a call whose
    // rule needs a masked value as undecidable rather than guess it.
    if (args !== undefined) redacted.args = this.redactor.redact(args) ?? null;
    const checked = auditEventSchema.safeParse(redacted);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ControlPlaneError('AUDIT_EVENT_INVALID', `audit event ${event.type}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.trim());
    }
    const kid = this.keys.current;
    const key = this.keys.keys.get(kid);
    if (key === undefined) throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring has no key ${kid}`);
    const seq = this.seq + 1;
    const ts = new Date(this.now()).toISOString();
    const prev = this.lastHash;
    const body = { ...redacted, seq, ts, instance: this.instanceId, kid, prev };
    const mac = auditMac(key, 'record', canonicalJson(body));
    const text = canonicalJson({ ...body, hash: mac });
    this.seq = seq;
    this.lastHash = mac;
    this.kid = kid;
    return { seq, ts, kid, prev, mac, text, redacted };
  }

  protected async drain(): Promise<void> {
    this.writing = true;
    let batch: P[] = [];
    try {
      while (this.queue.length > 0 && this.state !== 'failing') {
        batch = this.takeBatch();
        await this.writeBatch(batch);
        // Acknowledged here, in the same turn as the next write starts (as a crash test relies on).
        for (const p of batch) p.resolve(this.ack(p));
        batch = [];
      }
    } catch (err) {
      if (this.state === 'open') this.enterFailing(err);
      else if (this.failure !== undefined) this.failure.lastError = errorMessage(err);
      // Records of the batch made durable before the failure are acknowledged, not lost.
      for (const p of batch) if (p.seq <= this.durableSeq) p.resolve(this.ack(p));
      this.giveUp(batch.filter((p) => p.seq > this.durableSeq));
    } finally {
      // Failing (a write, or a checkpoint, failed): what is still queued is lost, and the chain
      // resumes after the durable head. Nothing is in flight now.
      if (this.state === 'failing') this.giveUp([]);
      this.writing = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  protected scheduleCheckpoint(): void {
    if (this.checkpointTimer !== undefined || this.state !== 'open') return;
    const wait = Math.max(0, this.lastCheckpointAt + this.checkpointIntervalMs - this.now());
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      if (this.state !== 'open') return;
      void this.writeCheckpoint().catch((err: unknown) => this.checkpointFailed(err, 'scheduled'));
    }, wait);
    this.checkpointTimer.unref();
  }

  // ---- Failure and recovery -------------------------------------------------------------------

  /** The chain head goes back to the durable one (what was assigned after it is not written). */
  protected rewind(): void {
    this.seq = this.durableSeq;
    this.lastHash = this.durableHash;
  }

  protected noteLost(lost: LostRecord): void {
    const f = this.failure;
    if (f === undefined) return;
    f.lostCount++;
    if (f.lost.length < MAX_LOST_LISTED) f.lost.push(lost);
  }

  /** Rejects `batch` and the queue as lost; the chain resumes after the durable head. Only when no write is in flight. */
  protected giveUp(batch: readonly P[]): void {
    const rest = [...batch, ...this.queue.splice(0)];
    this.rewind();
    if (rest.length === 0) return;
    const failed = this.unavailable();
    for (const p of rest) {
      this.noteLost(p.lost);
      p.reject(failed);
    }
  }

  protected enterFailing(err: unknown): void {
    if (this.state !== 'open') return;
    const message = errorMessage(err);
    this.state = 'failing';
    this.failure = { since: this.now(), firstError: message, lastError: message, refused: 0, lostCount: 0, lost: [] };
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
    this.healthChanged.fire(this.health);
  }

  private stopProbing(): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Waits for the writes in flight, lets the medium `resume`; back to `open` when its gap record is durable. */
  private async recover(): Promise<boolean> {
    const f = this.failure;
    if (this.state !== 'failing' || f === undefined) return this.state === 'open';
    await this.flush();
    let resumed: Extract<AuditHealth, { state: 'ok' }>['resumed'];
    try {
      resumed = await this.resume(f);
    } catch (err) {
      this.rewind();
      f.lastError = errorMessage(err);
      return false;
    }
    if (this.state !== 'failing') return false;
    this.state = 'open';
    this.failure = undefined;
    this.stopProbing();
    this.healthChanged.fire({ state: 'ok', ...(resumed !== undefined ? { resumed } : {}) });
    this.afterResume();
    if (this.queue.length > 0 && !this.writing) void this.drain();
    return true;
  }

  /** The `audit.write-resumed` event of a gap (`reason` says what could not be written, in the medium's words). */
  protected gapEvent(f: ChainFailure, until: number, reason: string): AuditEvent {
    return {
      type: 'audit.write-resumed',
      reason,
      error: f.lastError,
      detail: {
        since: new Date(f.since).toISOString(),
        until: new Date(until).toISOString(),
        refusedCalls: f.refused,
        lostRecords: f.lostCount,
        lost: f.lost,
        ...(f.lostCount > f.lost.length ? { lostNotListed: f.lostCount - f.lost.length } : {}),
        firstError: f.firstError,
      },
    };
  }
}

function lostOf(event: AuditEvent): LostRecord {
  return { type: event.type, ...(event.callId !== undefined ? { callId: event.callId } : {}), ...(event.server !== undefined ? { server: event.server } : {}), ...(event.tool !== undefined ? { tool: event.tool } : {}) };
}
