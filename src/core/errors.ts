/**
 * The one local error type of the engine. `code` is what callers branch on; `details` carries typed
 * fields where they do (`exitCode`, `signal`, `timedOut`, `file`, `line`...). Local errors never go
 * on the wire: the gateway turns them into tool results or JSON-RPC errors.
 */
export class ControlPlaneError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ControlPlaneError';
    this.code = code;
    this.details = options?.details ?? {};
  }
}

/** The message of anything thrown, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
