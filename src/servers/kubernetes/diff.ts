/**
 * A unified line diff (LCS, three lines of context), for previews of apply, patch and undo. Small
 * objects only: past about four million line pairs it reports sizes instead of a diff.
 */
export function unifiedDiff(before: string, after: string, labels: { from: string; to: string }): string {
  if (before === after) return '';
  const a = before === '' ? [] : before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > 4_000_000) {
    return `--- ${labels.from}\n+++ ${labels.to}\n(objects too large to diff line by line: ${a.length} → ${b.length} lines)`;
  }
  const ops = script(a, b);
  const CONTEXT = 3;
  const ranges: [number, number][] = [];
  ops.forEach((o, i) => {
    if (o.op === ' ') return;
    const from = Math.max(0, i - CONTEXT);
    const to = Math.min(ops.length, i + CONTEXT + 1);
    const last = ranges[ranges.length - 1];
    if (last && from <= last[1]) last[1] = to;
    else ranges.push([from, to]);
  });
  const hunks: string[] = [];
  for (const [from, to] of ranges) {
    const slice = ops.slice(from, to);
    const aStart = (slice[0]?.a ?? 0) + 1;
    const bStart = (slice[0]?.b ?? 0) + 1;
    const aLen = slice.filter((o) => o.op !== '+').length;
    const bLen = slice.filter((o) => o.op !== '-').length;
    hunks.push(`@@ -${aLen === 0 ? aStart - 1 : aStart},${aLen} +${bLen === 0 ? bStart - 1 : bStart},${bLen} @@`);
    for (const o of slice) hunks.push(`${o.op}${o.text}`);
  }
  return [`--- ${labels.from}`, `+++ ${labels.to}`, ...hunks].join('\n');
}

interface Op {
  readonly op: ' ' | '-' | '+';
  readonly text: string;
  /** Line index in `a` (for ' ' and '-') or where it would be. */
  readonly a: number;
  readonly b: number;
}

function script(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the LCS of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: ' ', text: a[i]!, a: i, b: j });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i * (m + 1) + j + 1]! > lcs[(i + 1) * (m + 1) + j]!)) {
      ops.push({ op: '+', text: b[j]!, a: i, b: j });
      j++;
    } else {
      ops.push({ op: '-', text: a[i]!, a: i, b: j });
      i++;
    }
  }
  return ops;
}
