/**
 * A secret recognised by its shape. `regex` must be global and name the secret part `(?<secret>…)`;
 * optional groups `(?<pre>…)` and `(?<post>…)` are kept around the replacement, so a header keeps its
 * name and scheme (`Authorization: Bearer [REDACTED]`) and a URL keeps its user and host.
 */
export interface SecretPattern {
  readonly name: string;
  readonly regex: RegExp;
  /**
   * A cheap test that every match must pass (case-insensitively), e.g. its literal prefix. Strings
   * that pass no pattern's hint skip those patterns entirely; a pattern without a hint always runs.
   */
  readonly hint?: RegExp;
  /**
   * A second look at a match with its surroundings (`text` is the whole string, `offset` where the
   * match starts): false keeps the match as it is. For shapes that also occur in prose.
   */
  readonly accept?: (groups: Readonly<Record<string, string | undefined>>, text: string, offset: number) => boolean;
}

/** Keyword endings that make a `key=value` or `key: value` pair in free text a secret. */
const SECRET_KEYWORDS = 'password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?';

/**
 * The built-in patterns, most specific first (a PEM block before the generic `key=value` rule).
 * Each is compiled once here; `Redactor` only runs them. Every repetition that can start at many
 * positions is bounded, so a hostile string (`a.a.a.…`, a megabyte without spaces) costs linear
 * time, not quadratic.
 */
export const DEFAULT_SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    // PEM private keys (RSA, EC, OPENSSH, PGP, PKCS#8, encrypted); an unterminated block is cut to the end.
    name: 'pem-private-key',
    hint: /PRIVATE KEY/,
    regex: /(?<secret>-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$))/g,
  },
  {
    // An Authorization header in free text (HTTP dumps, curl commands, logs); the scheme stays visible.
    name: 'authorization-header',
    hint: /authorization/,
    regex: /(?<pre>\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|digest|token|negotiate)\s+)?)(?<secret>(?!(?:bearer|basic|digest|token|negotiate)\s)[^\s"',;[]+)/gi,
  },
  {
    name: 'bearer-token',
    hint: /bearer|basic/,
    regex: /(?<pre>\b(?:bearer|basic)\s+)(?<secret>[A-Za-z0-9\-._~+/]{8,}=*)/gi,
  },
  {
    // scheme://user:password@host: the password only.
    name: 'url-password',
    hint: /:\/\//,
    regex: /(?<pre>\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/?#@"'<>[]{0,256}:)(?<secret>[^\s/?#@"'<>[]{1,256})(?<post>@)/gi,
  },
  {
    name: 'aws-access-key-id',
    hint: /A(?:KI|SI|BI|CC|GP|ID|RO|IP|NP|NV|PK)A/,
    regex: /(?<secret>\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b)/g,
  },
  {
    name: 'github-token',
    hint: /gh[pousr]_|github_pat_/,
    regex: /(?<secret>\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}))/g,
  },
  {
    // The headless approver credential (see approvals/approver-credential.ts).
    name: 'mcpcp-approver-credential',
    hint: /mcpcp_appr_/,
    regex: /(?<secret>\bmcpcp_appr_[A-Za-z0-9_-]{20,})/g,
  },
  {
    // A team-mode API key (see team/api-keys.ts): its public id stays readable, the secret part goes.
    name: 'mcpcp-api-key',
    hint: /mcpcp_key_/,
    regex: /(?<pre>\bmcpcp_key_[A-Za-z0-9]{12}_)(?<secret>[A-Za-z0-9_-]{20,})/g,
  },
  {
    name: 'slack-token',
    hint: /xox[abposre]-/,
    regex: /(?<secret>\bxox[abposre]-[A-Za-z0-9-]{10,})/g,
  },
  {
    name: 'slack-webhook',
    hint: /hooks\.slack\.com/,
    regex: /(?<pre>hooks\.slack\.com\/services\/)(?<secret>[A-Za-z0-9/_-]{8,})/g,
  },
  {
    // JSON Web Tokens, Kubernetes service-account tokens among them.
    name: 'jwt',
    hint: /eyJ/,
    regex: /(?<secret>\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g,
  },
  {
    name: 'google-api-key',
    hint: /AIza/,
    regex: /(?<secret>\bAIza[0-9A-Za-z_-]{35})/g,
  },
  {
    name: 'llm-api-key',
    hint: /sk-/,
    regex: /(?<secret>\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,})/g,
  },
  {
    // password=..., "client_secret": "...", AWS_SECRET_ACCESS_KEY=...: the key must END with a keyword,
    // so `max_tokens: 5` or `secretName: x` stay readable. The rest of the key needs no matching: it
    // stays in the text as it is.
    name: 'key-value',
    hint: /password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential/,
    regex: new RegExp(
      // A reference (`${secret:name}`, `${env:X}`, `${input:id}`) names a secret, it is not one.
      `(?<pre>(?<!\\$\\{)(?:${SECRET_KEYWORDS})["']?\\s{0,16}[:=]\\s{0,16}["']?)(?!\\$\\{(?:secret|env|input):)(?<secret>[^\\s"'&,;}[\\]]+)`,
      'gi',
    ),
    accept: looksLikeSecretPair,
  },
];

/**
 * Tells `password: hunter2` (a secret) from prose such as "reset the password: owned by ops" (not
 * one). A pair counts when it is written like data: with `=`, with a quote around the key or the
 * value, with no space after the colon, with the key at the start of a line or after `{`, `,`, `;`,
 * `(`, or joined to a longer identifier (`DB_PASSWORD:`, `client_secret:`); or when the value does
 * not look like a word (it has a digit, a symbol or an inner capital). What stays unmasked is a
 * colon-and-space pair in the middle of a sentence whose value is a plain word.
 */
function looksLikeSecretPair(groups: Readonly<Record<string, string | undefined>>, text: string, offset: number): boolean {
  const pre = groups['pre'] ?? '';
  const secret = groups['secret'] ?? '';
  if (pre.includes('=') || /["']/.test(pre) || !/:\s/.test(pre)) return true;
  if (/[^A-Za-z]/.test(secret) || /[A-Z]/.test(secret.slice(1))) return true;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  if (/[\w.-]$/.test(before)) return true;
  return /^\s*(?:-\s*)?$|[{,;(]\s*$/.test(before);
}

/**
 * Object keys whose value is redacted whatever it looks like, compared after lowercasing and removing
 * `-`, `_`, `.` and spaces. A key matches when it equals or ends with one of these.
 */
export const DEFAULT_SENSITIVE_KEY_SUFFIXES: readonly string[] = [
  'password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'accesskey', 'secretkey', 'privatekey',
  'authorization', 'credential', 'credentials', 'cookie', 'sessionid', 'connectionstring',
];

/** Keys that look sensitive by their ending but are not (MCP progress tokens, pagination cursors). */
export const DEFAULT_NON_SENSITIVE_KEYS: readonly string[] = [
  'progresstoken', 'pagetoken', 'nextpagetoken', 'continuetoken', 'nexttoken', 'cursortoken', 'maxtoken',
];

/** Keys matched exactly (too short to match as an ending): docker's `auth`, `pass`. */
export const DEFAULT_SENSITIVE_KEYS_EXACT: readonly string[] = ['auth', 'pass'];
