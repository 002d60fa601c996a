// Classifies preview text for display. Pure: no DOM.

export type PreviewLineKind = 'add' | 'del' | 'hunk' | 'meta' | 'context';

export interface PreviewLine {
  readonly kind: PreviewLineKind;
  readonly text: string;
}

export interface ClassifiedPreview {
  /** The text is a unified diff (then + and - lines are additions and deletions). */
  readonly diff: boolean;
  readonly lines: readonly PreviewLine[];
  /** Added and removed lines, for a one-line summary ("+3 −1"). */
  readonly added: number;
  readonly removed: number;
}

const HUNK = /^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@/;
const HUNK_COUNTS = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;
const META = /^(?:diff --git |index [0-9a-f]+\.\.[0-9a-f]+|--- |\+\+\+ |new file mode |deleted file mode |similarity index |rename (?:from|to) |Binary files )/;

/**
 * True when `text` is a unified diff: it has a hunk header, a `diff --git` line, or a `--- ` line
 * directly followed by a `+++ ` line. A list of bullets ("- item") is not a diff.
 */
export function looksLikeUnifiedDiff(text: string): boolean {
  const lines = text.split('\n');
  return lines.some((line, i) => HUNK.test(line) || line.startsWith('diff --git ') || (line.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')));
}

/**
 * Splits preview text into lines with a kind. In a unified diff, `+`/`-` lines are additions and
 * deletions, `@@` lines hunk headers, file headers meta; any other text keeps every line as context
 * (a `- ` bullet in a list is not a deletion).
 */
export function classifyPreview(text: string): ClassifiedPreview {
  const raw = text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  if (!looksLikeUnifiedDiff(text)) return { diff: false, lines: raw.map((t) => ({ kind: 'context', text: t })), added: 0, removed: 0 };
  let added = 0;
  let removed = 0;
  // Lines left in the current hunk, from its header; outside a hunk "--- x" is a file header.
  let oldLeft = 0;
  let newLeft = 0;
  const lines = raw.map((t): PreviewLine => {
    const hunk = HUNK_COUNTS.exec(t);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      return { kind: 'hunk', text: t };
    }
    const inHunk = oldLeft > 0 || newLeft > 0;
    if (!inHunk && META.test(t)) return { kind: 'meta', text: t };
    if (t.startsWith('+')) {
      added++;
      newLeft = Math.max(0, newLeft - 1);
      return { kind: 'add', text: t };
    }
    if (t.startsWith('-')) {
      removed++;
      oldLeft = Math.max(0, oldLeft - 1);
      return { kind: 'del', text: t };
    }
    if (inHunk && !t.startsWith('\\')) {
      oldLeft = Math.max(0, oldLeft - 1);
      newLeft = Math.max(0, newLeft - 1);
    }
    return { kind: t.startsWith('\\') ? 'meta' : 'context', text: t };
  });
  return { diff: true, lines, added, removed };
}
