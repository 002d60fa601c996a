/** Restart backoff: exponential with full jitter, as in "Exponential Backoff And Jitter". */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/** Upper bound of the delay before restart `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt: number, { baseMs, capMs }: BackoffOptions): number {
  const exp = baseMs * 2 ** Math.min(attempt, 30);
  return Math.min(capMs, exp);
}

/** A delay drawn uniformly from [0, ceiling]; `random` returns a number in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  return Math.floor(random() * (backoffCeiling(attempt, options) + 1));
}
