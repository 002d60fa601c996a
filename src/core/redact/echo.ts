/**
 * Echo filtering: nothing a server received as a secret goes back to the agent. Given the secret
 * values the control plane handed one server (its resolved `${secret:}` values in env, arguments
 * and headers), `EchoFilter` masks them, and their common encodings, in anything that server sends
 * towards a client: raw; base64 and base64url, also inside a longer encoded string (the three
 * alignments of the secret in the byte stream); URL-encoded (both hex cases, `+` for spaces);
 * JSON-escaped. A server that encrypts or otherwise transforms a secret on purpose is not covered:
 * this stops echo, not exfiltration by a hostile server.
 */

/** What replaces an echoed secret. */
export const ECHO_MASK = '[SECRET]';

/** Secrets shorter than this are not matched: masking every `abc` would wreck output and point at the secret. */
export const MIN_ECHO_SECRET_LENGTH = 6;

/** A base64 core shorter than this is too likely to occur by chance. */
const MIN_ENCODED_LENGTH = 8;
const MAX_DEPTH = 64;

export class EchoFilter {
  private readonly matcher: RegExp | undefined;

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_ECHO_SECRET_LENGTH) continue;
      for (const form of encodedForms(secret)) forms.add(form);
    }
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    this.matcher = sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** True when there is nothing to mask (no secrets long enough). */
  get empty(): boolean {
    return this.matcher === undefined;
  }

  /** The text with every known secret form masked, and how many were. */
  filterString(text: string): { text: string; masked: number } {
    if (this.matcher === undefined) return { text, masked: 0 };
    let masked = 0;
    const out = text.replace(this.matcher, () => {
      masked++;
      return ECHO_MASK;
    });
    return { text: out, masked };
  }

  /** A copy of a JSON-like value with every string (object keys included) filtered. */
  filter<T>(value: T): { value: T; masked: number } {
    if (this.matcher === undefined) return { value, masked: 0 };
    let masked = 0;
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') {
        const r = this.filterString(v);
        masked += r.masked;
        return r.text;
      }
      if (v === null || typeof v !== 'object') return v;
      // Deeper than any MCP message: dropped rather than passed unchecked.
      if (depth > MAX_DEPTH) return null;
      if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) out[walk(key, depth + 1) as string] = walk(item, depth + 1);
      return out;
    };
    const out = walk(value, 0) as T;
    return { value: masked > 0 ? out : value, masked };
  }
}

/** The forms of a secret an echo may take. */
export function encodedForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const uri = encodeURIComponent(secret);
  forms.add(uri);
  forms.add(uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  forms.add(uri.replace(/%20/g, '+'));
  forms.add(JSON.stringify(secret).slice(1, -1));
  const bytes = Buffer.from(secret, 'utf8');
  for (const core of base64Cores(bytes)) {
    if (core.length < MIN_ENCODED_LENGTH) continue;
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  forms.delete('');
  return [...forms];
}

/**
 * The part of the base64 text that the secret alone determines, for each of the three positions
 * it can have in the encoded byte stream (after 0, 1 or 2 bytes of a 3-byte group): any base64
 * text that contains the secret's bytes contains one of these.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64').replace(/=+$/, '');
    // Characters before `start` carry bits of the k leading bytes; after `end`, of what follows.
    const start = k === 0 ? 0 : k === 1 ? 2 : 3;
    const end = Math.floor(((k + bytes.length) * 8) / 6);
    cores.push(encoded.slice(start, end));
  }
  return cores;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
