/**
 * How a call through the gateway ended: one enum for the audit log, metrics, dashboards and alerts.
 *
 * - `ok`: the tool ran and returned a result; `tool-error`: it ran and returned `isError: true`.
 * - `denied`: policy refused it; `rejected`: a human refused it; `expired`: nobody decided in time.
 * - `caller-disconnected`: the caller went away before a decision or a result;
 *   `cancelled`: the caller cancelled the request (`notifications/cancelled`).
 * - `stopped`: the control plane stopped (or restarted the server) while the call was in flight.
 * - `dry-run`: a built-in tool's preview called with `dryRun: true`; it changed nothing.
 * - `failed`: the call could not be carried out (server unreachable, crashed, timed out, protocol error).
 */
export const CALL_OUTCOMES = [
  'ok',
  'tool-error',
  'denied',
  'rejected',
  'expired',
  'caller-disconnected',
  'cancelled',
  'stopped',
  'dry-run',
  'failed',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];
