import { canonicalJson, type JsonValue } from '../canonical-json';
import { errorMessage } from '../errors';
import type { Redactor } from '../redact';

/**
 * What the approver sees besides the arguments.
 * - `ok`: the built-in tool's dry run (`dryRun: true`) result as the server returned it, possibly
 *   truncated: it is shown only to the approver, who must see what will run (the server already
 *   masked secrets it found; what the caller itself sent is shown as sent); `secretLooking` when the
 *   redactor would mask something in it. Never written to the audit or returned to the agent;
 * - `failed`: the dry run errored or timed out (the approval shows the arguments and this error);
 * - `untrusted`: a third-party server claims a preview; it is not run, its claims are not shown;
 * - `none`: the tool has no preview.
 */
export type ApprovalPreview =
  | { readonly status: 'ok'; readonly result: JsonValue; readonly truncated: boolean; readonly secretLooking?: boolean }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'untrusted'; readonly note: string }
  | { readonly status: 'none' };

/** The `_meta` key with which a tool declares a preview (and an optional `dryRun` argument). */
export const PREVIEW_META_KEY = 'mcpcp/preview';

/** True when a tool definition's `_meta` declares a preview. */
export function declaresPreview(tool: { readonly _meta?: unknown }): boolean {
  const meta = tool._meta;
  return meta !== null && typeof meta === 'object' && (meta as Record<string, unknown>)[PREVIEW_META_KEY] === true;
}

export interface PreviewOptions {
  /** The tool's server is built in (only then is a preview trusted and run). */
  readonly builtin: boolean;
  /** The tool declares a preview (`declaresPreview`). */
  readonly declared: boolean;
  readonly server: string;
  /** The call's arguments; the dry run gets them with `dryRun: true`. */
  readonly args: Readonly<Record<string, unknown>>;
  /** Runs the tool with the given arguments (through the same server); the signal ends it on timeout. */
  readonly run: (args: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>;
  /** Says whether the preview looks like it holds a secret; masks the error text of a failed preview. */
  readonly redactor: Redactor;
  /** Default 15 s. */
  readonly timeoutMs?: number;
  /** Larger results are cut to this many characters of JSON. Default 64 KiB. */
  readonly maxChars?: number;
}

/**
 * Runs a built-in tool's preview before an approval is requested. The digest of the approval is
 * computed without `dryRun`, so the dry run and the real call share it. A result with
 * `isError: true` counts as `failed`. Never throws.
 */
export async function obtainPreview(options: PreviewOptions): Promise<ApprovalPreview> {
  if (!options.declared) return { status: 'none' };
  if (!options.builtin) {
    return {
      status: 'untrusted',
      note: `"${options.server}" is a third-party server: its preview is not run or trusted. Review the arguments.`,
    };
  }
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`the preview did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const result = await Promise.race([options.run({ ...options.args, dryRun: true }, controller.signal), timeout]);
    if (isErrorResult(result)) return { status: 'failed', error: options.redactor.redactString(resultText(result) || 'the preview reported an error') };
    const maxChars = options.maxChars ?? 64 * 1024;
    // JSON-safe (a result arrives as JSON; this only guards against odd values from a test runner).
    const shown = JSON.parse(JSON.stringify(result ?? null)) as JsonValue;
    const text = canonicalJson(shown);
    const secretLooking = canonicalJson(options.redactor.redact(shown)) !== text ? { secretLooking: true } : {};
    if (text.length <= maxChars) return { status: 'ok', result: shown, truncated: false, ...secretLooking };
    return { status: 'ok', result: `${text.slice(0, maxChars)}… (preview cut at ${maxChars} of ${text.length} characters)`, truncated: true, ...secretLooking };
  } catch (err) {
    return { status: 'failed', error: options.redactor.redactString(errorMessage(err)) };
  } finally {
    clearTimeout(timer);
  }
}

function isErrorResult(result: unknown): boolean {
  return result !== null && typeof result === 'object' && (result as { isError?: unknown }).isError === true;
}

function resultText(result: unknown): string {
  const content = (result as { content?: unknown }).content;
  if (!Array.isArray(content)) return '';
  return content
    .map((c: unknown) => (c !== null && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string' ? (c as { text: string }).text : ''))
    .filter((t) => t !== '')
    .join('\n');
}
