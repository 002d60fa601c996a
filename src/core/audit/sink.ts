import type { Event } from '../events';
import type { AuditHealth } from './log';
import type { AuditKeyring } from './keys';
import type { AuditEvent } from './record';

/** What an acknowledged append wrote: the record's place in its writer's chain. */
export interface AuditAppendAck {
  readonly seq: number;
  /** The record's MAC (the next record's `prev`). */
  readonly hash: string;
}

/**
 * Where the engine writes audit records: the local files (`AuditLog`) or PostgreSQL
 * (`PostgresAuditLog`). Both keep one keyed chain per writer and the same contract:
 *
 * - `append` resolves only once the record is durable (fsync'd line, committed row); the gateway
 *   awaits it before a call runs and before it answers, so no call runs or answers unrecorded;
 * - records get `seq`/`prev` in the order `append` is called;
 * - after a write error `health` is `failing`, appends reject at once with `AUDIT_WRITE_FAILED`
 *   (calls are refused) until a probe writes an `audit.write-resumed` record describing the gap.
 */
export interface AuditSink {
  /** This writer's id: the `instance` of its records. */
  readonly instanceId: string;
  readonly health: AuditHealth;
  readonly onDidChangeHealth: Event<AuditHealth>;
  append(event: AuditEvent): Promise<AuditAppendAck>;
  /** Counts a call refused because the sink is failing. */
  noteRefused(): void;
  /** While failing: tries to write again now; true when writable. */
  probe(): Promise<boolean>;
  /** Switches to the key ring's current key (an `audit.key-rotated` record). */
  rotateKey(keys: AuditKeyring): Promise<AuditAppendAck>;
  /** Resolves when every append made so far is durable (or has failed). */
  flush(): Promise<void>;
  /** Flushes, writes a last checkpoint and releases the writer. Idempotent. */
  close(): Promise<void>;
}
