import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../canonical-json';
import { CALL_OUTCOMES } from '../outcome';
import { auditMac } from './keys';

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
  /** The chain switches to another key (`detail.from`, `detail.to`); signed with the new key. */
  'audit.key-rotated',
  /** At open, the checkpoint did not match the files (records cut off, a file gone, a forged checkpoint). */
  'audit.checkpoint-mismatch',
  /** Writing works again after a failure: the gap (since, until, refused calls, records lost). */
  'audit.write-resumed',
  /** Retention removed old files (after shipping them when configured); `detail.total` is what the checkpoint records. */
  'audit.files-removed',
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
  actor: z
    .strictObject({
      kind: z.string(),
      name: z.string().optional(),
      /** Team mode: the deciding principal (see `decidingPrincipal` in src/core/team). */
      id: z.string().optional(),
      via: z.string().optional(),
      roles: z.array(z.string()).optional(),
      groups: z.array(z.string()).optional(),
    })
    .optional(),
  decision: z.enum(AUDIT_DECISIONS).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  reason: z.string().optional(),
  rule: z.strictObject({ source: z.string(), index: z.number().int().nonnegative().optional(), id: z.string().optional() }).optional(),
  durationMs: z.number().nonnegative().optional(),
  resultBytes: z.number().int().nonnegative().optional(),
  error: z.string().optional(),
  /**
   * The policy inputs of a call (on `call.requested`, `resource.read`, `prompt.get`), kept so a
   * what-if run can evaluate them again: the arguments as sent, through the audit's redactor
   * (known secret values, credential shapes, sensitive key names become `[REDACTED]`; a what-if
   * run treats a masked value a rule needs as undecidable)...
   */
  args: z.record(z.string(), z.unknown()).optional(),
  /** ...the call's declared effect (normalised by the tool; absent when it declares none)... */
  effect: z.unknown().optional(),
  /** ...the tool's annotations as its server declared them... */
  annotations: z.record(z.string(), z.unknown()).optional(),
  /** ...and who asked: the client identity and session now; roles when team mode adds them. */
  principal: z
    .strictObject({
      client: z.strictObject({ name: z.string(), version: z.string().optional() }).optional(),
      session: z.string().optional(),
      roles: z.array(z.string()).optional(),
      /** Team mode: the principal's stable id (`oidc:<issuer>#<sub>`, `apikey/<id>`), name, credential kind and groups. */
      id: z.string().optional(),
      name: z.string().optional(),
      via: z.string().optional(),
      groups: z.array(z.string()).optional(),
    })
    .optional(),
  /** Anything else worth keeping (JSON; redacted like the rest). */
  detail: z.unknown().optional(),
};

/** What `AuditLog.append` accepts; unknown fields are refused so every record stays queryable. */
export const auditEventSchema = z.strictObject(eventShape);
export type AuditEvent = z.input<typeof auditEventSchema>;

/**
 * One line of an audit file. `seq` counts from 1 per instance, across files and restarts; `ts` is an
 * ISO timestamp; `kid` names the key that signs it; `prev` is the `hash` of the instance's previous
 * record (`GENESIS_HASH` for the first); `hash` is HMAC-SHA256 under key `kid` over the canonical
 * JSON of the record without `hash` (see `recordMac`). The line itself is the canonical JSON of the
 * whole record. Unknown fields are kept when reading, so newer records still verify and query.
 * Records without `kid` were written before the keyed format: plain SHA-256 (`recordHash`), accepted
 * only as the start of a chain, before its first keyed record.
 */
export const auditRecordSchema = z.looseObject({
  ...eventShape,
  seq: z.number().int().positive(),
  ts: z.string(),
  instance: z.string().min(1),
  kid: z.string().optional(),
  prev: hex64,
  hash: hex64,
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** The unkeyed hash of a record written before the keyed format: SHA-256 of the canonical JSON of everything but `hash`. */
export function recordHash(record: Readonly<Record<string, unknown>>): string {
  const { hash: _ignored, ...rest } = record;
  return sha256Hex(canonicalJson(rest));
}

/** The chain MAC of a record: HMAC-SHA256 under `key` of the canonical JSON of everything but `hash`. */
export function recordMac(key: Buffer, record: Readonly<Record<string, unknown>>): string {
  const { hash: _ignored, ...rest } = record;
  return auditMac(key, 'record', canonicalJson(rest));
}
