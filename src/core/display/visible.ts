// Untrusted text rendered for a human: what the approver reads is what runs. Pure (no Node, no DOM):
// the CLI, the extension's notifications and the web UI (media/) all use it.

/**
 * Characters a terminal or a browser would interpret or not show: C0/C1 controls and DEL, format
 * characters (bidi overrides U+202A–202E and isolates U+2066–2069, zero-width U+200B–200F, U+2060,
 * U+FEFF, tags…), line/paragraph separators U+2028/2029, lone surrogates, default-ignorable code
 * points (variation selectors, Hangul fillers…) and every space that is not U+0020.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Default_Ignorable_Code_Point}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;
const HIDDEN_ALL = new RegExp(`${HIDDEN.source}|\\p{M}{5,}| {8,}`, 'gu');
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

export interface VisibleOptions {
  /**
   * Keep `\n` as a line break and `\t` as a tab (preview text, diffs: a tab only moves to the next
   * tab stop, it cannot hide anything); otherwise both are shown as escapes. Default false.
   */
  readonly multiline?: boolean;
}

/**
 * `text` with nothing left to interpret: `\x1b`, `\x9b`, `\x7f`, `\r`, `\t` and (unless multiline)
 * `\n` written as escapes; format, separator and invisible characters as `<U+202E>`; a backslash
 * doubled, so an escape in the text cannot pass for one of ours; runs of 8 or more spaces as
 * `<40 spaces>` (padding cannot push the rest of a line out of sight; in multiline text from 40 on,
 * so code keeps its indentation); a run of more than 4
 * combining marks as escapes (they would draw over neighbouring lines). Printable text, accents and
 * other scripts stay as they are.
 */
export function visible(text: string, options: VisibleOptions = {}): string {
  const multiline = options.multiline === true;
  return text.replace(/\\/g, '\\\\').replace(HIDDEN_ALL, (match) => {
    // Code keeps its indentation in multi-line text; only padding-sized runs are counted.
    if (match.startsWith(' ')) return multiline && match.length < 40 ? match : `<${match.length} spaces>`;
    if (match.length > 1 && !HIDDEN.test(match)) return `${[...match].slice(0, 4).join('')}${[...match].slice(4).map(codePoint).join('')}`;
    if ((match === '\n' || match === '\t') && multiline) return match;
    return SHORT_ESCAPES[match] ?? escapeChar(match);
  });
}

function escapeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return codePoint(ch);
}

function codePoint(ch: string): string {
  return `<U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`;
}

/** True when `text` holds anything `visible` would change (besides a backslash). */
export function hasHidden(text: string): boolean {
  HIDDEN_ALL.lastIndex = 0;
  return HIDDEN_ALL.test(text.replace(/\n/g, ''));
}

/**
 * Lines of at most `width` characters: a longer line is cut, and each continuation starts with
 * `↪ ` so it cannot pass for a line of its own. Text is expected to be `visible` already.
 */
export function fold(line: string, width: number): string[] {
  const chars = [...line];
  if (chars.length <= width) return [line];
  const out = [chars.slice(0, width).join('')];
  for (let i = width; i < chars.length; i += width - 2) out.push(`↪ ${chars.slice(i, i + width - 2).join('')}`);
  return out;
}

/** One argument at a path (`message`, `target.context`, `items[0].name`) with its JSON value. */
export interface ArgLeaf {
  readonly path: string;
  readonly value: string | number | boolean | null | readonly [] | Readonly<Record<string, never>>;
}

/** Every leaf of an argument object, depth first in key order; empty objects and arrays are leaves. */
export function argLeaves(args: unknown, prefix = ''): ArgLeaf[] {
  const out: ArgLeaf[] = [];
  if (prefix === '' && args !== null && typeof args === 'object' && !Array.isArray(args) && Object.keys(args).length === 0) return out;
  const walk = (value: unknown, path: string, depth: number): void => {
    if (Array.isArray(value) && value.length > 0 && depth < 32) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1));
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0 && depth < 32) {
      for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`, depth + 1);
    } else if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out.push({ path, value });
    } else if (Array.isArray(value)) {
      out.push({ path, value: value.length === 0 ? [] : (JSON.stringify(value) as string) });
    } else {
      out.push({ path, value: typeof value === 'object' && value !== null && Object.keys(value).length === 0 ? {} : String(JSON.stringify(value) ?? '') });
    }
  };
  walk(args, prefix, 0);
  return out;
}

/** Flags that change what a call does; shown first, before any free text. */
const DECISIVE = /^(?:force|amend|dryRun|reveal|hard|recursive|prune|delete|all|cascade|overwrite|replace|noVerify|allowEmpty|setUpstream|tags|mirror)$/i;

/** One argument line as a UI shows it. */
export interface DisplayArg {
  /** The path, made visible. */
  readonly path: string;
  /** The value as JSON (strings quoted), made visible; multi-line strings keep their lines. */
  readonly lines: readonly string[];
  /** `flag`: boolean, number or null; `short`: a one-line string up to 80 characters; `text`: anything longer. */
  readonly group: 'flag' | 'short' | 'text';
  /** The value looks like a secret (the approver sees it; logs and the agent get it masked). */
  readonly secret: boolean;
}

export interface DisplayArgsOptions {
  /** Paths whose value looks like a secret (`ApprovalView.secretPaths`). */
  readonly secretPaths?: readonly string[];
  /** Fold lines longer than this (default 100). */
  readonly width?: number;
}

/**
 * The arguments in the order a human should read them, so that nothing decisive hides below a long
 * text: decisive flags (`force`, `amend`, `dryRun`…), then other booleans, numbers and nulls, then
 * short strings, then long or multi-line text last. Each value is `visible` and folded; a string's
 * lines are listed separately, so a line inside a commit message can never look like an argument.
 */
export function displayArgs(args: unknown, options: DisplayArgsOptions = {}): DisplayArg[] {
  const width = options.width ?? 100;
  const secrets = new Set(options.secretPaths ?? []);
  const rows = argLeaves(args).map((leaf, index) => {
    const v = leaf.value;
    const group: DisplayArg['group'] = typeof v !== 'string' ? 'flag' : v.length <= 80 && !/[\n\r\u2028\u2029]/.test(v) ? 'short' : 'text';
    const raw = typeof v === 'string' ? v.split('\n') : [JSON.stringify(v)];
    const lines = raw.flatMap((l, i) => {
      const shown = typeof v === 'string' ? `${i === 0 ? '"' : ''}${visible(l).replace(/"/g, '\\"')}${i === raw.length - 1 ? '"' : ''}` : visible(l);
      return fold(shown, width);
    });
    const last = leaf.path.replace(/\[\d+\]$/, '').split('.').pop() ?? '';
    const rank = group === 'flag' ? (DECISIVE.test(last) ? 0 : 1) : group === 'short' ? 2 : 3;
    return { row: { path: visible(leaf.path === '' ? '(value)' : leaf.path), lines, group, secret: secrets.has(leaf.path) }, rank, index };
  });
  return rows.sort((a, b) => a.rank - b.rank || a.index - b.index).map((r) => r.row);
}

/**
 * The arguments as plain text lines, `indent` before each: `path: value`, a multi-line value as
 * `path: "first line` followed by `│ ` lines, `⚠ looks like a secret` after secret values.
 */
export function formatDisplayArgs(args: unknown, options: DisplayArgsOptions & { indent?: string } = {}): string[] {
  const indent = options.indent ?? '';
  const rows = displayArgs(args, options);
  if (rows.length === 0) return [`${indent}(no arguments)`];
  return rows.flatMap((r) => {
    const mark = r.secret ? '   ⚠ looks like a secret' : '';
    const [first = '', ...rest] = r.lines;
    return [`${indent}${r.path}: ${first}${rest.length === 0 ? mark : ''}`, ...rest.map((l, i) => `${indent}  │ ${l}${i === rest.length - 1 ? mark : ''}`)];
  });
}

/**
 * An effect (`ApprovalView.effect`) as `field: value` lines, made visible: `type` first, then
 * where the change lands (remote URL, destination ref, cluster, context, namespace, devices).
 */
export function formatEffect(effect: Readonly<Record<string, unknown>> | undefined): string[] {
  if (effect === undefined) return [];
  const order = ['type', 'remoteUrl', 'destinationRef', 'remote', 'sourceSha', 'force', 'cluster', 'context', 'namespace', 'kind', 'name', 'device', 'tags', 'groups'];
  const keys = Object.keys(effect).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  return keys.map((k) => {
    const v = effect[k];
    const shown = Array.isArray(v) ? v.map((x) => visible(String(x))).join(', ') : typeof v === 'string' ? visible(v) : visible(JSON.stringify(v) ?? '');
    return `${visible(k)}: ${shown}`;
  });
}
