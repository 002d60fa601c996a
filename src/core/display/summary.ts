import { displayArgs, formatEffect, visible } from './visible';

/** What a one-line summary of an approval needs (a subset of `ApprovalView`). */
export interface ApprovalSummaryInput {
  readonly tool: string;
  readonly server: string;
  readonly reason: string;
  readonly client?: { readonly name: string; readonly version?: string };
  readonly args: Readonly<Record<string, unknown>>;
  readonly secretPaths?: readonly string[];
  readonly effect?: Readonly<Record<string, unknown>>;
}

/**
 * One line for a notification: tool, server, client, reason and every argument, flags first, all
 * `visible`. `complete` is false when the arguments did not fit in `maxChars` (or a value has several
 * lines): the line then says so, and a UI must not offer to approve from it, only to review.
 */
export function approvalSummary(a: ApprovalSummaryInput, maxChars = 400): { readonly text: string; readonly complete: boolean } {
  const client = a.client ? `${visible(a.client.name)}${a.client.version !== undefined ? ` ${visible(a.client.version)}` : ''}` : 'an unknown client';
  const changes = formatEffect(a.effect);
  const head = `Approval needed: ${visible(a.tool)} on ${visible(a.server)}, asked by ${client}. ${visible(a.reason)}${changes.length > 0 ? ` Changes: ${changes.join('; ')}.` : ''}`;
  const rows = displayArgs(a.args, { width: Number.MAX_SAFE_INTEGER, ...(a.secretPaths ? { secretPaths: a.secretPaths } : {}) });
  const parts = rows.map((r) => `${r.path}: ${r.lines.join(' ⏎ ')}${r.secret ? ' (⚠ looks like a secret)' : ''}`);
  const all = parts.length === 0 ? 'no arguments' : parts.join('; ');
  const multiline = rows.some((r) => r.lines.length > 1);
  if (!multiline && head.length + all.length + 13 <= maxChars) return { text: `${head} Arguments: ${all}`, complete: true };
  const kept: string[] = [];
  let used = head.length + 60;
  for (const p of parts) {
    if (used + p.length + 2 > maxChars) break;
    kept.push(p);
    used += p.length + 2;
  }
  const tail = kept.length === parts.length ? ' (a value has several lines: open Review to read it before deciding)' : `${kept.length > 0 ? '; ' : ''}… and more: open Review to see them all before deciding.`;
  return { text: `${head} Arguments: ${kept.join('; ')}${tail}`, complete: false };
}
