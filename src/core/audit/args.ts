import type { JsonValue } from '../canonical-json';
import type { Redactor } from '../redact';
import { DEFAULT_SECRET_PATTERNS } from '../redact/patterns';

/**
 * Credential shapes that never occur in ordinary words: every default pattern but the free-text
 * `key-value` one (`password: …`), which can take ordinary words and would make a replay differ.
 */
const SHAPES = DEFAULT_SECRET_PATTERNS.filter((p) => p.name !== 'key-value').map((p) => ({
  regex: new RegExp(p.regex.source, p.regex.flags),
  hint: p.hint !== undefined ? new RegExp(p.hint.source, 'i') : undefined,
}));

/**
 * A call's arguments as the audit keeps them for replay: exactly as sent, except the secret values
 * the control plane knows (and their encodings) and distinctive credential shapes (private keys,
 * bearer/basic credentials, passwords in URLs, cloud, GitHub, Slack, LLM keys, JWTs), replaced by
 * the redactor's replacement, in values and keys. No key-name rules and no free-text `key: value`
 * pattern: `force: true`, `branch: main` or a commit message "password: owned by ops" stay as they
 * were, so a what-if run evaluates the same inputs policy saw.
 */
export function maskArgs(args: Readonly<Record<string, unknown>>, redactor: Redactor): JsonValue {
  return shapes(redactor.redactKnown(args), redactor.replacement, 0);
}

function shapes(value: JsonValue, replacement: string, depth: number): JsonValue {
  if (typeof value === 'string') return maskShapes(value, replacement);
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => shapes(v, replacement, depth + 1));
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value)) out[maskShapes(k, replacement)] = shapes(v, replacement, depth + 1);
  return out;
}

function maskShapes(text: string, replacement: string): string {
  if (text.length < 8) return text;
  let out = text;
  for (const { regex, hint } of SHAPES) {
    if (hint !== undefined && !hint.test(out)) continue;
    regex.lastIndex = 0;
    out = out.replace(regex, (...args: unknown[]) => {
      const groups = args[args.length - 1] as Record<string, string | undefined>;
      return `${groups['pre'] ?? ''}${replacement}${groups['post'] ?? ''}`;
    });
  }
  return out;
}
