// The undo handle: what a built-in server's successful destructive call says about how to put
// things back. It travels in the result's `_meta["mcpcp/undo"]` from the server to the gateway,
// which strips it before the client sees the result (prior state can hold secrets).
import { z } from 'zod';

/** `_meta` key on a tools/call result that carries the call's undo handle (built-in servers only). */
export const UNDO_META_KEY = 'mcpcp/undo';
/** `_meta` key on a tools/call request the control plane sends as the undo of an earlier call: `{callId, nonce}`. */
export const UNDO_OF_META_KEY = 'mcpcp/undoOf';
/**
 * `_meta` key on an undo forwarded to a built-in server: the handle's `state` (prior state that can
 * hold secrets), set only by the gateway from its own ticket, never taken from a client.
 */
export const UNDO_STATE_META_KEY = 'mcpcp/undoState';

/** A tool call by name and arguments, on the server that returned the handle. */
const toolCallSchema = z.strictObject({
  tool: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  args: z.record(z.string(), z.unknown()),
});
export type UndoToolCall = z.infer<typeof toolCallSchema>;

/**
 * An undoable call: `inverse` is the call that restores the prior state (a destructive call that
 * goes through policy, approval and audit like any other); `check` is a read call whose result is
 * the current state, compared with `after` (the state right after the call) to detect drift;
 * `before` is the prior state in the same form as `check`'s result, for the three-way difference.
 * Absent `after`, the gateway runs `check` right after the call and keeps its answer.
 */
export const undoableSchema = z.strictObject({
  undoable: z.literal(true),
  summary: z.string().min(1).max(500),
  inverse: toolCallSchema,
  check: toolCallSchema,
  before: z.unknown(),
  after: z.unknown().optional(),
  /**
   * Prior state with secrets in it (a Secret's data, a device's full configuration): never in the
   * inverse's arguments (which the approval card shows and the audit records), but handed to the
   * server with the undo call in `_meta["mcpcp/undoState"]`.
   */
  state: z.record(z.string(), z.unknown()).optional(),
  /** What the inverse can't bring back (a pushed commit others may have fetched, a volume's data). */
  irreversible: z.array(z.string().max(500)).max(20).optional(),
});
export const notUndoableSchema = z.strictObject({ undoable: z.literal(false), reason: z.string().min(1).max(500) });
export const undoHandleSchema = z.union([undoableSchema, notUndoableSchema]);
export type Undoable = z.infer<typeof undoableSchema>;
export type UndoHandle = z.infer<typeof undoHandleSchema>;
