/**
 * A unified diff of two versions of one file (`--- a/…`, `+++ b/…`, `@@` hunks with `context`
 * lines around each change), the format the approvals UI renders as a diff. Empty when the texts
 * are equal. Meant for configuration files: the common head and tail are cut first, and the rest
 * is compared line by line (quadratic in the changed region only).
 */
export function unifiedDiff(file: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ops: Array<{ kind: ' ' | '-' | '+'; text: string }> = [];
  for (let i = 0; i < head; i++) ops.push({ kind: ' ', text: a[i]! });
  ops.push(...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail)));
  for (let i = a.length - tail; i < a.length; i++) ops.push({ kind: ' ', text: a[i]! });

  const out = [`--- a/${file}`, `+++ b/${file}`];
  let i = 0;
  let lineA = 1;
  let lineB = 1;
  const positions = ops.map((op) => {
    const p = { a: lineA, b: lineB };
    if (op.kind !== '+') lineA++;
    if (op.kind !== '-') lineB++;
    return p;
  });
  while (i < ops.length) {
    if (ops[i]!.kind === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while the next change is within 2 × context lines.
    for (;;) {
      while (end < ops.length && ops[end]!.kind !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]!.kind === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const slice = ops.slice(start, stop);
    const countA = slice.filter((o) => o.kind !== '+').length;
    const countB = slice.filter((o) => o.kind !== '-').length;
    const first = positions[start]!;
    out.push(`@@ -${countA === 0 ? first.a - 1 : first.a},${countA} +${countB === 0 ? first.b - 1 : first.b},${countB} @@`);
    for (const op of slice) out.push(`${op.kind}${op.text}`);
    i = stop;
  }
  return `${out.join('\n')}\n`;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

/** Longest-common-subsequence alignment of the changed region. */
function middle(a: string[], b: string[]): Array<{ kind: ' ' | '-' | '+'; text: string }> {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((text) => ({ kind: '+' as const, text }));
  if (m === 0) return a.map((text) => ({ kind: '-' as const, text }));
  if (n * m > 4_000_000) return [...a.map((text) => ({ kind: '-' as const, text })), ...b.map((text) => ({ kind: '+' as const, text }))];
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: Array<{ kind: ' ' | '-' | '+'; text: string }> = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: ' ', text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ kind: '-', text: a[i++]! });
    else out.push({ kind: '+', text: b[j++]! });
  }
  while (i < n) out.push({ kind: '-', text: a[i++]! });
  while (j < m) out.push({ kind: '+', text: b[j++]! });
  return out;
}

/**
 * Replaces secret values in a preview with `[secret <name>]`: a removed line would otherwise show
 * the plaintext the change moves away.
 */
export function maskSecrets(text: string, secrets: ReadonlyArray<{ name: string; value: string }>): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.value.length - a.value.length)) {
    if (s.value.length > 0) out = out.split(s.value).join(`[secret ${s.name}]`);
  }
  return out;
}
