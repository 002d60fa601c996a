/**
 * Obvious secrets, as data: each kind is one pattern. `redactSecrets` masks them in anything a
 * server sends out; `findSecrets` locates them (git uses it to refuse committing them). The list
 * aims at high-confidence shapes (private keys, cloud access keys, vendor tokens, credentials in
 * URLs), not at entropy guessing: a false positive blocks a commit.
 */
export interface SecretPattern {
  /** What the secret is, as said to a model: "a private key", "an AWS access key id"... */
  readonly kind: string;
  readonly pattern: RegExp;
  /** Replaces the match; default masks it whole. */
  readonly replace?: (match: string, ...groups: string[]) => string;
}

const MASK = '[REDACTED]';

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    kind: 'a private key',
    // A whole PEM block, or its start when the output was cut before the END line.
    pattern: /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----(?:[\s\S]*?-----END \1PRIVATE KEY\2-----|[\s\S]*$)/g,
    replace: (_m, label: string, block: string | undefined) =>
      `-----BEGIN ${label}PRIVATE KEY${block ?? ''}----- ${MASK} -----END ${label}PRIVATE KEY${block ?? ''}-----`,
  },
  {
    kind: 'credentials in a URL',
    // Userinfo of http(s) URLs is masked whole (tokens often stand as the user name); other
    // schemes keep a bare user name (`ssh://git@host`) and lose only a password.
    pattern: /\b([a-z][a-z0-9+.-]{1,20}:\/\/)([^\s/@:'"`<>]+)(:[^\s/@'"`<>]*)?@/gi,
    replace: (match: string, scheme: string, _user: string, password: string | undefined) =>
      /^https?:\/\/$/i.test(scheme) || password !== undefined ? `${scheme}${MASK}@` : match,
  },
  { kind: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  {
    kind: 'an AWS secret access key',
    pattern: /\b(aws_?secret_?access_?key\s*[=:]\s*["']?)[A-Za-z0-9/+=]{40}\b/gi,
    replace: (_m, prefix: string) => `${prefix}${MASK}`,
  },
  { kind: 'a GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{40,255})\b/g },
  { kind: 'a GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { kind: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'a Stripe secret key', pattern: /\b[sr]k_live_[0-9A-Za-z]{20,}\b/g },
  { kind: 'an npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: 'an OpenAI or Anthropic API key', pattern: /\bsk-(?:proj-|ant-[a-z0-9]{2,8}-)?[A-Za-z0-9_-]{32,}\b/g },
  {
    kind: 'a bearer credential',
    pattern: /\b(authorization\s*[:=]\s*["']?(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
    replace: (_m, prefix: string) => `${prefix}${MASK}`,
  },
];

/**
 * Masks every obvious secret in `text`. Idempotent: redacted text is left as is.
 *
 * `callerSent`: the strings of the call's own arguments. A match that lies inside one of them is
 * kept: the caller sent it, so echoing it reveals nothing, and the approver must read what will run
 * (`branch_delete {name: "AKIA…"}` previews "would delete branch AKIA…", not "[REDACTED]").
 * Secrets the server found itself (files, remotes, logs) are masked as always.
 */
export function redactSecrets(text: string, callerSent: readonly string[] = []): string {
  let out = text;
  for (const { pattern, replace } of SECRET_PATTERNS) {
    // A global RegExp's replace starts at index 0 whatever its lastIndex: sharing them is safe.
    out = out.replace(pattern, (match: string, ...rest: unknown[]) => {
      if (callerSent.some((sent) => sent.includes(match))) return match;
      const groups = rest.slice(0, -2) as string[];
      return replace ? replace(match, ...groups) : MASK;
    });
  }
  return out;
}

/** `redactSecrets` over every string inside a JSON-like value (structured tool output). */
export function redactDeep<T>(value: T, callerSent: readonly string[] = []): T {
  return mapStrings(value, callerSent);
}

/** The strings of a call's arguments (at least 8 characters: shorter ones match no pattern), for `redactSecrets`. */
export function argumentStrings(args: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (v.length >= 8) out.push(v);
    } else if (Array.isArray(v) && depth < 16) for (const x of v) walk(x, depth + 1);
    else if (v !== null && typeof v === 'object' && depth < 16) for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(args, 0);
  return out;
}

function mapStrings<T>(value: T, callerSent: readonly string[]): T;
function mapStrings(value: unknown, callerSent: readonly string[]): unknown {
  if (typeof value === 'string') return redactSecrets(value, callerSent);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, callerSent));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, callerSent)]));
  }
  return value;
}

export interface SecretFinding {
  readonly kind: string;
  /** 0-based index of the line in the scanned text. */
  readonly line: number;
}

/** Where obvious secrets occur in `text`, one finding per kind and line. Never returns the secret. */
export function findSecrets(text: string): SecretFinding[] {
  const found: SecretFinding[] = [];
  for (const { kind, pattern } of SECRET_PATTERNS) {
    // Credentials in URLs are redacted in output but are not blocked in content: docs and tests
    // are full of `https://user:pass@example` samples.
    if (kind === 'credentials in a URL') continue;
    const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    for (const m of text.matchAll(re)) {
      const line = countNewlines(text, m.index);
      if (!found.some((f) => f.kind === kind && f.line === line)) found.push({ kind, line });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
