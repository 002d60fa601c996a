import { DEFAULT_SECRET_PATTERNS, Redactor } from '../redact';

/** A secret found in a configuration value: the span `[start, end)` of the value that is secret. */
export interface SecretHit {
  start: number;
  end: number;
  /** The redactor pattern that recognised it, or `sensitive-key` / `sensitive-flag` / `url-query`. */
  detector: string;
  /**
   * Recognised by a token format (GitHub, Slack, AWS, JWT, PEM…) rather than by the name of the
   * key that holds it: certain, and reported as critical.
   */
  knownFormat: boolean;
}

/** Patterns that recognise a token by its own format; the others need context (a key name, a scheme). */
const FORMAT_PATTERNS = new Set(['pem-private-key', 'aws-access-key-id', 'github-token', 'mcpcp-approver-credential', 'slack-token', 'slack-webhook', 'jwt', 'google-api-key', 'llm-api-key']);

/** `${secret:x}`, `${env:X}`, `${input:x}`, `${workspaceFolder}`: references, never plaintext. */
const REFERENCE = /\$\{[^}]*\}/g;

/**
 * Finds plaintext secrets in configuration values with the redactor's own detection: its token
 * shapes (`DEFAULT_SECRET_PATTERNS`) and its sensitive key names (`Redactor.isSensitiveKey`).
 * References (`${…}`) are never reported. Holds compiled patterns only; build one and reuse it.
 */
export class SecretScanner {
  private readonly redactor = new Redactor();
  private readonly patterns = DEFAULT_SECRET_PATTERNS.map((p) => ({ name: p.name, regex: new RegExp(p.regex.source, `${p.regex.flags.replace('d', '')}d`) }));

  /** Secrets in a value stored under `key` (an env variable, a header, a JSON field). */
  scanValue(value: string, key?: string): SecretHit[] {
    const masked = value.replace(REFERENCE, (m) => ' '.repeat(m.length));
    const hits = this.byShape(masked);
    if (hits.length > 0 || key === undefined || !this.redactor.isSensitiveKey(key)) return hits;
    // The key says secret: the value is, but an auth scheme in front stays readable.
    const scheme = /^\s*(?:bearer|basic|token|apikey)\s+/i.exec(masked);
    const start = scheme ? scheme[0].length : masked.length - masked.trimStart().length;
    const end = masked.trimEnd().length;
    const candidate = masked.slice(start, end);
    return plausibleSecret(candidate) ? [{ start, end, detector: 'sensitive-key', knownFormat: false }] : [];
  }

  /** Secrets in a command's arguments: token shapes, `--token=x`, and the value after `--api-key`. */
  scanArgs(args: readonly string[]): Array<{ index: number; hit: SecretHit }> {
    const out: Array<{ index: number; hit: SecretHit }> = [];
    args.forEach((arg, index) => {
      const flag = /^--?([A-Za-z][\w.-]*)=/.exec(arg);
      if (flag) {
        const hits = this.scanValue(arg.slice(flag[0].length), flag[1]);
        for (const h of hits) out.push({ index, hit: { ...h, start: h.start + flag[0].length, end: h.end + flag[0].length } });
        if (hits.length > 0) return;
      }
      const previous = index > 0 ? /^--?([A-Za-z][\w.-]*)$/.exec(args[index - 1]!) : null;
      if (previous && !arg.startsWith('-') && this.redactor.isSensitiveKey(previous[1]!)) {
        const hits = this.scanValue(arg, previous[1]);
        for (const h of hits) out.push({ index, hit: { ...h, detector: h.detector === 'sensitive-key' ? 'sensitive-flag' : h.detector } });
        return;
      }
      for (const h of this.scanValue(arg)) out.push({ index, hit: h });
      // A URL as an argument (a bridge's upstream) may carry a password or a token parameter.
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
        for (const h of this.scanUrlQuery(arg)) out.push({ index, hit: h });
      }
    });
    return dedupe(out);
  }

  /** Secrets in a URL: a password in its user part, token-like query parameters, token shapes. */
  scanUrl(url: string): SecretHit[] {
    return dedupe([...this.scanValue(url), ...this.scanUrlQuery(url)].map((hit) => ({ index: 0, hit }))).map((h) => h.hit);
  }

  private scanUrlQuery(url: string): SecretHit[] {
    const q = url.indexOf('?');
    if (q === -1) return [];
    const hits: SecretHit[] = [];
    const query = url.slice(q + 1).split('#')[0] ?? '';
    let offset = q + 1;
    for (const part of query.split('&')) {
      const eq = part.indexOf('=');
      if (eq > 0) {
        const name = decodeURIComponentSafe(part.slice(0, eq));
        const value = part.slice(eq + 1);
        if (this.redactor.isSensitiveKey(name) || /^(?:key|sig|signature|code)$/i.test(name)) {
          if (!value.startsWith('${') && plausibleSecret(decodeURIComponentSafe(value))) {
            hits.push({ start: offset + eq + 1, end: offset + part.length, detector: 'url-query', knownFormat: false });
          }
        }
      }
      offset += part.length + 1;
    }
    return hits;
  }

  private byShape(text: string): SecretHit[] {
    const all: SecretHit[] = [];
    for (const { name, regex } of this.patterns) {
      regex.lastIndex = 0;
      for (const m of text.matchAll(regex)) {
        const span = (m as RegExpMatchArray & { indices?: { groups?: Record<string, [number, number] | undefined> } }).indices?.groups?.['secret'];
        if (!span || text.slice(span[0], span[1]).trim() === '') continue;
        all.push({ start: span[0], end: span[1], detector: name, knownFormat: FORMAT_PATTERNS.has(name) });
      }
    }
    // Where patterns overlap (`Bearer ghp_…` is a bearer token and a GitHub token), the token
    // format wins, then the longer span.
    all.sort((a, b) => Number(b.knownFormat) - Number(a.knownFormat) || b.end - b.start - (a.end - a.start));
    const hits: SecretHit[] = [];
    for (const h of all) if (!hits.some((k) => h.start < k.end && h.end > k.start)) hits.push(h);
    return hits.sort((a, b) => a.start - b.start);
  }
}

/**
 * Whether a value under a secret-sounding name is really a secret: not empty, not a switch
 * (`true`, `1`), not a path to a credentials file, at least 6 characters.
 */
export function plausibleSecret(value: string): boolean {
  const v = value.trim();
  if (v.length < 6) return false;
  if (/^(?:true|false|yes|no|on|off|none|null|undefined|changeme|required|optional)$/i.test(v)) return false;
  if (/^(?:[/~.]|[A-Za-z]:[\\/])/.test(v)) return false;
  if (/^<[^>]*>$|^your[-_ ]|^x{6,}$/i.test(v)) return false;
  return true;
}

/** A safe rendering of a secret for messages: its detector and length, never a character of it. */
export function describeSecret(value: string, detector: string): string {
  return `${detector}, ${value.length} characters`;
}

function dedupe(hits: Array<{ index: number; hit: SecretHit }>): Array<{ index: number; hit: SecretHit }> {
  const out: Array<{ index: number; hit: SecretHit }> = [];
  for (const h of hits) {
    if (out.some((o) => o.index === h.index && h.hit.start < o.hit.end && h.hit.end > o.hit.start)) continue;
    out.push(h);
  }
  return out;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
