import type { JsonValue } from '../canonical-json';
import {
  DEFAULT_NON_SENSITIVE_KEYS,
  DEFAULT_SECRET_PATTERNS,
  DEFAULT_SENSITIVE_KEY_SUFFIXES,
  DEFAULT_SENSITIVE_KEYS_EXACT,
  type SecretPattern,
} from './patterns';

export interface RedactorOptions {
  /** Text put in place of a secret. Default `[REDACTED]`. */
  readonly replacement?: string;
  /** Shape-based patterns; default `DEFAULT_SECRET_PATTERNS`. Each must be global with a `secret` group. */
  readonly patterns?: readonly SecretPattern[];
  /** Normalised key endings whose values are always redacted; default `DEFAULT_SENSITIVE_KEY_SUFFIXES`. */
  readonly sensitiveKeySuffixes?: readonly string[];
  /** Normalised keys matched exactly; default `DEFAULT_SENSITIVE_KEYS_EXACT`. */
  readonly sensitiveKeysExact?: readonly string[];
  /** Normalised keys never treated as sensitive; default `DEFAULT_NON_SENSITIVE_KEYS`. */
  readonly nonSensitiveKeys?: readonly string[];
  /**
   * Known secret values shorter than this are ignored by `addSecret`: redacting every `abc` in a log
   * would destroy it and point at the secret. Default 4.
   */
  readonly minSecretLength?: number;
  /** Known secret values to start with. */
  readonly secrets?: Iterable<string>;
}

const MAX_DEPTH = 64;
/** Every default pattern needs at least this many characters to match. */
const SHORTEST_PATTERN_MATCH = 8;

/**
 * Removes secrets from text and from JSON-like values before they are written (audit) or leave a
 * server (tool output). Three mechanisms, applied in this order to every string:
 * 1. exact values the control plane knows to be secret (`addSecret`: gateway tokens, stored
 *    passwords), together with their URL-encoded and base64 forms;
 * 2. shape-based patterns (`DEFAULT_SECRET_PATTERNS`): PEM private keys, Authorization headers,
 *    bearer/basic credentials, passwords in URLs, AWS/GitHub/Slack/Google/LLM keys, JWTs, and
 *    `password=…`-style pairs in free text;
 * 3. in structured values, by key name: the value under `password`, `token`, `apiKey`,
 *    `authorization`, `clientSecret`… (see `isSensitiveKey`) is replaced whatever it is, and the
 *    `data`/`stringData` values of an object with `kind: "Secret"` (a Kubernetes Secret manifest).
 *
 * Patterns are compiled once; the exact-value matcher is rebuilt only when the set changes. The
 * instance holds only its own secret set (no shared state); build one in the composition root and
 * pass it to whoever writes or returns text.
 */
/** A value that only names a secret (`${secret:name}`, `${env:X}`, `${input:id}`): shown as it is. */
const SECRET_REFERENCE = /^\$\{(?:secret|env|input):[^}]+\}$/;

export class Redactor {
  readonly replacement: string;
  private readonly patterns: readonly { readonly regex: RegExp; readonly hint: RegExp | undefined; readonly accept: SecretPattern['accept'] }[];
  /** Any hint of any pattern: most strings fail it and skip the patterns altogether. */
  private readonly anyHint: RegExp | undefined;
  private readonly suffixes: readonly string[];
  private readonly exactKeys: ReadonlySet<string>;
  private readonly nonSensitive: ReadonlySet<string>;
  private readonly minSecretLength: number;
  private readonly secrets = new Map<string, readonly string[]>();
  /** Keys repeat endlessly (`server`, `args`…): remember the verdicts, up to a bound. */
  private readonly keyVerdicts = new Map<string, boolean>();
  private matcher: RegExp | undefined;
  private matcherStale = false;
  private shortestSecret = Number.POSITIVE_INFINITY;

  constructor(options: RedactorOptions = {}) {
    this.replacement = options.replacement ?? '[REDACTED]';
    const patterns = options.patterns ?? DEFAULT_SECRET_PATTERNS;
    for (const p of patterns) {
      if (!p.regex.global) throw new TypeError(`secret pattern ${p.name} must have the g flag`);
    }
    // Own copies: a global RegExp carries `lastIndex`, which must not be shared between instances.
    this.patterns = patterns.map((p) => ({ regex: new RegExp(p.regex.source, p.regex.flags), hint: p.hint !== undefined ? new RegExp(p.hint.source, 'i') : undefined, accept: p.accept }));
    const hints = patterns.flatMap((p) => (p.hint !== undefined ? [`(?:${p.hint.source})`] : []));
    this.anyHint = hints.length > 0 ? new RegExp(hints.join('|'), 'i') : undefined;
    this.suffixes = options.sensitiveKeySuffixes ?? DEFAULT_SENSITIVE_KEY_SUFFIXES;
    this.exactKeys = new Set(options.sensitiveKeysExact ?? DEFAULT_SENSITIVE_KEYS_EXACT);
    this.nonSensitive = new Set(options.nonSensitiveKeys ?? DEFAULT_NON_SENSITIVE_KEYS);
    this.minSecretLength = options.minSecretLength ?? 4;
    for (const s of options.secrets ?? []) this.addSecret(s);
  }

  /**
   * Registers a value that must never appear in output. Returns false (and ignores it) when it is
   * shorter than `minSecretLength`. Also covers its URL-encoded and base64 forms.
   */
  addSecret(value: string): boolean {
    if (value.length < this.minSecretLength || this.secrets.has(value)) return value.length >= this.minSecretLength;
    const forms = new Set([value, encodeURIComponent(value)]);
    // Short values in base64 are too likely to occur by chance.
    if (value.length >= 8) forms.add(Buffer.from(value, 'utf8').toString('base64'));
    this.secrets.set(value, [...forms]);
    this.matcherStale = true;
    return true;
  }

  /** Forgets a value registered with `addSecret` (a rotated token). */
  removeSecret(value: string): void {
    if (this.secrets.delete(value)) this.matcherStale = true;
  }

  /** How many exact values are registered. */
  get secretCount(): number {
    return this.secrets.size;
  }

  /** Text with every known secret value and every secret-shaped part replaced. */
  redactString(text: string): string {
    const matcher = this.exactMatcher();
    let out = text;
    if (matcher !== undefined && text.length >= this.shortestSecret) out = out.replace(matcher, this.replacement);
    if (out.length < SHORTEST_PATTERN_MATCH) return out;
    const hinted = this.anyHint === undefined || this.anyHint.test(out);
    for (const { regex, hint, accept } of this.patterns) {
      if (hint !== undefined && (!hinted || !hint.test(out))) continue;
      regex.lastIndex = 0;
      out = out.replace(regex, (...args: unknown[]) => {
        const groups = args[args.length - 1] as Record<string, string | undefined>;
        if (accept !== undefined && !accept(groups, args[args.length - 2] as string, args[args.length - 3] as number)) return args[0] as string;
        return `${groups.pre ?? ''}${this.replacement}${groups.post ?? ''}`;
      });
    }
    return out;
  }

  /**
   * True when a value under this key is redacted whatever it looks like. The key is compared after
   * lowercasing and removing `-`, `_`, `.` and spaces: `api_key`, `X-Api-Key`, `dbPassword`,
   * `client.secret` and `GITHUB_TOKEN` match; `progressToken`, `nextPageToken`, `maxTokens`,
   * `secretName` do not.
   */
  isSensitiveKey(key: string): boolean {
    const known = this.keyVerdicts.get(key);
    if (known !== undefined) return known;
    const k = key.toLowerCase().replace(/[-_. ]/g, '');
    const verdict = !this.nonSensitive.has(k) && (this.exactKeys.has(k) || this.suffixes.some((s) => k.endsWith(s)));
    if (this.keyVerdicts.size >= 4096) this.keyVerdicts.clear();
    this.keyVerdicts.set(key, verdict);
    return verdict;
  }

  /**
   * A redacted, JSON-safe deep copy of `value`: strings go through `redactString` (object keys too),
   * values under sensitive keys become the replacement (null and booleans are kept: they reveal
   * nothing), Kubernetes Secret `data`/`stringData` values are replaced. Non-JSON values are made
   * JSON-safe: `Date` → ISO string, `Error` → `{name, message}`, bytes → `[binary N bytes]`, bigint →
   * string, `Map` → object, `Set` → array, non-finite numbers → null, functions and symbols dropped,
   * cycles → `[Circular]`, nesting deeper than 64 → `[Too deep]`. Never throws for ordinary values;
   * the result always serialises with `canonicalJson`.
   */
  redact(value: unknown): JsonValue {
    return this.walk(value, 0, new Set<object>()) ?? null;
  }

  /** `redact` for an object, typed as one (arguments, audit details). */
  redactRecord(value: Readonly<Record<string, unknown>>): Record<string, JsonValue> {
    const out = this.redact(value);
    return out !== null && typeof out === 'object' && !Array.isArray(out) ? out : {};
  }

  /**
   * A JSON-safe deep copy of `value` with only the known secret values (`addSecret`, and their
   * encodings) replaced, in strings and keys: no patterns, no key names. For the audit's record of
   * a call's policy inputs, which must stay replayable (a what-if run evaluates them again).
   */
  redactKnown(value: unknown, depth = 0): JsonValue {
    if (typeof value === 'string') {
      const matcher = this.exactMatcher();
      return matcher !== undefined && value.length >= this.shortestSecret ? value.replace(matcher, this.replacement) : value;
    }
    if (typeof value === 'number') return Number.isFinite(value) ? value : null;
    if (typeof value === 'boolean' || value === null) return value;
    if (typeof value !== 'object') return null;
    if (depth >= MAX_DEPTH) return '[Too deep]';
    if (Array.isArray(value)) return value.map((v) => this.redactKnown(v, depth + 1));
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[this.redactKnown(k) as string] = this.redactKnown(v, depth + 1);
    return out;
  }

  private exactMatcher(): RegExp | undefined {
    if (this.matcherStale) {
      const forms = [...this.secrets.values()].flat().sort((a, b) => b.length - a.length);
      this.matcher = forms.length === 0 ? undefined : new RegExp(forms.map(escapeRegExp).join('|'), 'g');
      this.shortestSecret = forms.length === 0 ? Number.POSITIVE_INFINITY : (forms[forms.length - 1]?.length ?? 0);
      this.matcherStale = false;
    }
    return this.matcher;
  }

  private walk(value: unknown, depth: number, stack: Set<object>): JsonValue | undefined {
    switch (typeof value) {
      case 'string':
        return this.redactString(value);
      case 'number':
        return Number.isFinite(value) ? value : null;
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'object':
        break;
      default:
        return undefined;
    }
    if (value === null) return null;
    if (depth >= MAX_DEPTH) return '[Too deep]';
    if (stack.has(value)) return '[Circular]';
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
    stack.add(value);
    try {
      if (Array.isArray(value) || value instanceof Set) {
        return Array.from(value as Iterable<unknown>, (item) => this.walk(item, depth + 1, stack) ?? null);
      }
      const entries: [string, unknown][] =
        value instanceof Map
          ? Array.from(value, ([k, v]: [unknown, unknown]) => [String(k), v])
          : value instanceof Error
            ? errorEntries(value)
            : Object.entries(value);
      const isSecretManifest = entries.some(([k, v]) => k === 'kind' && v === 'Secret');
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of entries) {
        const outKey = this.redactString(key);
        if (item === null || typeof item === 'boolean') {
          out[outKey] = item;
        } else if (this.isSensitiveKey(key) && !(typeof item === 'string' && SECRET_REFERENCE.test(item))) {
          if (item !== undefined && typeof item !== 'function' && typeof item !== 'symbol') out[outKey] = this.replacement;
        } else if (isSecretManifest && (key === 'data' || key === 'stringData') && typeof item === 'object') {
          out[outKey] = this.redactSecretData(item);
        } else {
          const walked = this.walk(item, depth + 1, stack);
          if (walked !== undefined) out[outKey] = walked;
        }
      }
      return out;
    } finally {
      stack.delete(value);
    }
  }

  private redactSecretData(data: object): JsonValue {
    const out: Record<string, JsonValue> = {};
    for (const key of Object.keys(data)) out[this.redactString(key)] = this.replacement;
    return out;
  }
}

function errorEntries(err: Error): [string, unknown][] {
  const entries: [string, unknown][] = [['name', err.name], ['message', err.message]];
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') entries.push(['code', code]);
  return entries;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
