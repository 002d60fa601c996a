import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../canonical-json';
import { CALL_OUTCOMES } from '../outcome';

/** Every kind of audit record. */
export const AUDIT_EVENT_TYPES = [
  'call.requested',
  'policy.decided',
  'approval.requested',
  'approval.decided',
  'call.completed',
  'call.failed',
  'resource.read',
  'prompt.get',
  'sampling.requested',
  'elicitation.requested',
  'server.started',
  'server.crashed',
  'server.restarted',
  'server.crash-looping',
  'server.stopped',
  'config.changed',
  'audit.tail-quarantined',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Policy decisions (`policy.decided`) and approval decisions (`approval.decided`). */
export const AUDIT_DECISIONS = ['allow', 'approve', 'deny', 'approved', 'rejected', 'expired'] as const;
export type AuditDecision = (typeof AUDIT_DECISIONS)[number];

/**
 * How a call ended: the core `CallOutcome` enum, plus two values records written before it existed
 * may hold (`error`, now `failed`; `timeout`, now `failed` with the time-out in `error`).
 */
export const AUDIT_OUTCOMES = [...CALL_OUTCOMES, 'error', 'timeout'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** `prev` of the first record of an instance's first file. */
export const GENESIS_HASH = '0'.repeat(64);

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** The fields a caller gives (`AuditLog.append`). */
const eventShape = {
  type: z.enum(AUDIT_EVENT_TYPES),
  /** Correlates the records of one request (requested → decided → completed). */
  callId: z.string().optional(),
  approvalId: z.string().optional(),
  kind: z.enum(['tool', 'resource', 'prompt']).optional(),
  server: z.string().optional(),
  /** Tool name, resource URI or prompt name. */
  tool: z.string().optional(),
  /** The MCP client, as it named itself in `initialize`. */
  client: z.strictObject({ name: z.string(), version: z.string().optional() }).optional(),
  /** Who decided an approval: `vscode-ui`, `approver-credential` or `system` (expiry, restart). */
  actor: z.strictObject({ kind: z.string(), name: z.string().optional() }).optional(),
  decision: z.enum(AUDIT_DECISIONS).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  reason: z.string().optional(),
  rule: z.strictObject({ source: z.string(), index: z.number().int().nonnegative().optional(), id: z.string().optional() }).optional(),
  durationMs: z.number().nonnegative().optional(),
  resultBytes: z.number().int().nonnegative().optional(),
  error: z.string().optional(),
  /** Anything else worth keeping (JSON; redacted like the rest). */
  detail: z.unknown().optional(),
};

/** What `AuditLog.append` accepts; unknown fields are refused so every record stays queryable. */
export const auditEventSchema = z.strictObject(eventShape);
export type AuditEvent = z.input<typeof auditEventSchema>;

/**
 * One line of an audit file. `seq` counts from 1 per instance, across files and restarts; `ts` is an
 * ISO timestamp; `prev` is the `hash` of the instance's previous record (`GENESIS_HASH` for the first);
 * `hash` is SHA-256 over the canonical JSON of the record without `hash` (see `recordHash`). The line
 * itself is the canonical JSON of the whole record. Unknown fields are kept when reading, so newer
 * records still verify and query.
 */
export const auditRecordSchema = z.looseObject({
  ...eventShape,
  seq: z.number().int().positive(),
  ts: z.string(),
  instance: z.string().min(1),
  prev: hex64,
  hash: hex64,
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** The chain hash of a record: SHA-256 of the canonical JSON of everything but `hash`. */
export function recordHash(record: Readonly<Record<string, unknown>>): string {
  const { hash: _ignored, ...rest } = record;
  return sha256Hex(canonicalJson(rest));
}
