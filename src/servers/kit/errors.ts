import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import type { Logger } from './log';
import { redactSecrets } from './redact';

/**
 * Codes the kit itself raises. Servers add their own codes (`NOT_A_REPOSITORY`, `CONFLICT`...) on
 * the same `ControlPlaneError`; the mapping below treats every code alike.
 */
export const KitErrorCode = {
  invalidArgument: 'INVALID_ARGUMENT',
  noRoots: 'NO_ROOTS',
  untrusted: 'UNTRUSTED_WORKSPACE',
  outsideRoots: 'OUTSIDE_ROOTS',
  cancelled: 'CANCELLED',
} as const;

/**
 * An argument the model must change: names the field, says what is wrong and what to send instead.
 * `field` uses the input's own path (`paths[2]`, `target`).
 */
export function invalidArgument(field: string, problem: string, fix?: string): ControlPlaneError {
  return new ControlPlaneError(KitErrorCode.invalidArgument, `Invalid "${field}": ${problem}`, {
    details: { field, ...(fix === undefined ? {} : { hint: fix }) },
  });
}

/**
 * The one error → tool result mapping. A `ControlPlaneError` becomes its message plus its
 * `details.hint`; anything else becomes a short "unexpected error" line while the stack goes to
 * the log. Never a stack trace on the wire; secrets are redacted.
 */
export function errorToToolResult(err: unknown, toolName: string, log: Logger): CallToolResult {
  let text: string;
  if (err instanceof ControlPlaneError) {
    const hint = err.details['hint'];
    text = typeof hint === 'string' && hint.length > 0 ? `${err.message}\n${hint}` : err.message;
  } else if (err instanceof McpError) {
    text = err.message;
  } else if (isAbort(err)) {
    text = `${toolName} was cancelled before it finished.`;
  } else {
    log.error(`${toolName}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}`);
    text = `${toolName} failed with an unexpected error: ${firstLine(errorMessage(err))}. This is a server fault, not an argument problem; the server log has details.`;
  }
  return { content: [{ type: 'text', text: redactSecrets(text) }], isError: true };
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
