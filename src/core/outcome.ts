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

/**
 * How dashboards, metrics and alerts count an outcome. Only `error` is a failure of a tool, a
 * server or the control plane; a human's rejection or a policy denial is the oversight working
 * (`refused`), and a caller that went away is neither (`abandoned`).
 */
export type OutcomeClass = 'ok' | 'error' | 'refused' | 'abandoned';

export const OUTCOME_CLASS: Readonly<Record<CallOutcome, OutcomeClass>> = {
  ok: 'ok',
  'dry-run': 'ok',
  'tool-error': 'error',
  failed: 'error',
  stopped: 'error',
  denied: 'refused',
  rejected: 'refused',
  expired: 'refused',
  cancelled: 'abandoned',
  'caller-disconnected': 'abandoned',
};

/** The class of an outcome string (from an audit record, say); unknown strings count as errors. */
export function outcomeClass(outcome: string): OutcomeClass {
  return (OUTCOME_CLASS as Record<string, OutcomeClass | undefined>)[outcome] ?? 'error';
}
