/**
 * Output shaping shared by every server: token budgets, line paging with an explicit note, and
 * compact text tables. A tool never cuts its output silently: whatever is left out is counted in
 * a note that says how to get it.
 */

/** Default budget for one tool result: about 4k tokens. */
export const DEFAULT_BUDGET_BYTES = 16_000;

/** Rough token estimate (4 bytes per token), good enough to state budgets to a model. */
export function estimateTokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** "16 KB (~4k tokens)": how a budget is stated in truncation notes. */
export function describeBudget(bytes: number): string {
  const kb = Math.round(bytes / 1000);
  const tokens = estimateTokens(bytes);
  return `${kb} KB (~${tokens >= 1000 ? `${Math.round(tokens / 1000)}k` : tokens} tokens)`;
}

/** The note appended to any shortened output: what was shown, what was left, how to get the rest. */
export function truncationNote(shown: string, left: string, howToGetMore: string): string {
  return `[truncated: ${shown}; ${left} not shown. ${howToGetMore}]`;
}

export interface LinePage {
  /** The lines shown, joined with '\n', followed by the truncation note when something is left. */
  readonly text: string;
  /** The offset to ask for next, or undefined when the page reached the end. */
  readonly nextOffset: number | undefined;
  readonly totalLines: number;
}

/**
 * One page of `lines` starting at `offset`, as many whole lines as fit in `budgetBytes` (at least
 * one, cut to the budget if it alone is larger). When lines are left, the text ends with a note
 * built from `more(nextOffset)`, e.g. `(n) => "Call diff again with offset=" + n + "."`.
 */
export function pageLines(
  lines: readonly string[],
  options: { offset?: number; budgetBytes: number; more: (nextOffset: number) => string },
): LinePage {
  const total = lines.length;
  const start = Math.min(Math.max(0, options.offset ?? 0), total);
  const out: string[] = [];
  let used = 0;
  let end = start;
  while (end < total) {
    const line = lines[end] ?? '';
    const size = byteLength(line) + 1;
    if (used + size > options.budgetBytes && out.length > 0) break;
    out.push(size > options.budgetBytes ? cutToBytes(line, options.budgetBytes - 1) : line);
    used += Math.min(size, options.budgetBytes);
    end++;
  }
  if (start === total && total > 0 && start > 0) {
    return { text: `[offset ${start} is past the end: the output has ${total} lines.]`, nextOffset: undefined, totalLines: total };
  }
  if (end >= total) return { text: out.join('\n'), nextOffset: undefined, totalLines: total };
  const note = truncationNote(
    `showing lines ${start + 1}-${end} of ${total} (budget ${describeBudget(options.budgetBytes)})`,
    `${total - end} lines`,
    options.more(end),
  );
  return { text: `${out.join('\n')}\n${note}`, nextOffset: end, totalLines: total };
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function cutToBytes(text: string, maxBytes: number): string {
  if (byteLength(text) <= maxBytes) return text;
  const buf = Buffer.from(text, 'utf8').subarray(0, Math.max(0, maxBytes));
  // A cut inside a multi-byte character decodes to U+FFFD at the end: drop it.
  return buf.toString('utf8').replace(/\uFFFD+$/, '');
}

/**
 * The last-resort cap applied to every tool result: keeps whole lines up to `maxBytes` and appends
 * a note. Tools that page their own output stay under it; this only catches the unexpected.
 */
export function capText(text: string, maxBytes: number, howToGetMore: string): string {
  const total = byteLength(text);
  if (total <= maxBytes) return text;
  let cut = cutToBytes(text, maxBytes);
  const lastNewline = cut.lastIndexOf('\n');
  if (lastNewline > maxBytes / 2) cut = cut.slice(0, lastNewline);
  const kept = byteLength(cut);
  return `${cut}\n${truncationNote(`showing ${kept} of ${total} bytes`, `${total - kept} bytes`, howToGetMore)}`;
}

/**
 * A list capped at `max` items, and how many were left out. Used for sections (staged files,
 * branches...) where a count of what is missing is more useful than a byte cut.
 */
export function capList<T>(items: readonly T[], max: number): { items: readonly T[]; omitted: number } {
  return items.length <= max ? { items, omitted: 0 } : { items: items.slice(0, max), omitted: items.length - max };
}

export interface TableColumn {
  readonly header: string;
  /** Longer cells are cut with an ellipsis. Default 80. */
  readonly maxWidth?: number;
  readonly align?: 'left' | 'right';
}

/**
 * A compact text table: a header row and one row per item, columns separated by two spaces, the
 * last column unpadded. Cells are single-line (newlines become spaces).
 */
export function formatTable(columns: readonly TableColumn[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) =>
    columns.map((col, i) => clip((row[i] ?? '').replace(/[\r\n\t]+/g, ' '), col.maxWidth ?? 80)),
  );
  const widths = columns.map((col, i) => Math.max(col.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const render = (row: readonly string[]): string =>
    row
      .map((cell, i) => {
        if (i === row.length - 1 && columns[i]?.align !== 'right') return cell;
        const width = widths[i] ?? 0;
        return columns[i]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [render(columns.map((c) => c.header)), ...cells.map(render)].join('\n');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}
