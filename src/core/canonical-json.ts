import { createHash } from 'node:crypto';
import { ControlPlaneError } from './errors';

/** A JSON value as it travels on the wire (what `JSON.parse` can return). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deeper nesting than this is refused rather than risking a stack overflow on hostile input. */
const MAX_DEPTH = 1000;

/**
 * Canonical JSON in the manner of RFC 8785 (JCS): object members sorted by key (UTF-16 code units),
 * no whitespace, numbers in ECMAScript shortest form, strings escaped as `JSON.stringify` does. The
 * same value always gives the same text, so hashes over it are stable: approval digests and the
 * audit hash chain both rest on this.
 *
 * Accepts JSON values only: null, booleans, finite numbers, strings, arrays and plain objects.
 * Object members whose value is `undefined` are left out (as `JSON.stringify` does). Anything else
 * (`undefined` elsewhere, NaN, ±Infinity, bigint, functions, symbols, class instances such as `Date`,
 * cycles, nesting deeper than 1000) throws `ControlPlaneError` with code `CANONICAL_JSON_INVALID`.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, 0, new Set<object>(), '$');
  return parts.join('');
}

/** SHA-256 (lowercase hex) of `text` as UTF-8. */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

function invalid(path: string, what: string): ControlPlaneError {
  return new ControlPlaneError('CANONICAL_JSON_INVALID', `${path}: ${what} is not a JSON value`, { details: { path } });
}

function write(value: unknown, out: string[], depth: number, stack: Set<object>, path: string): void {
  if (depth > MAX_DEPTH) throw invalid(path, `nesting deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(path, String(value));
      out.push(JSON.stringify(value));
      return;
    case 'object': {
      if (value === null) {
        out.push('null');
        return;
      }
      if (stack.has(value)) throw invalid(path, 'a cycle');
      stack.add(value);
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          write(value[i], out, depth + 1, stack, `${path}[${i}]`);
        }
        out.push(']');
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) throw invalid(path, `an instance of ${value.constructor?.name ?? 'a class'}`);
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
        out.push('{');
        keys.forEach((key, i) => {
          if (i > 0) out.push(',');
          out.push(JSON.stringify(key), ':');
          write(record[key], out, depth + 1, stack, `${path}.${key}`);
        });
        out.push('}');
      }
      stack.delete(value);
      return;
    }
    default:
      throw invalid(path, typeof value);
  }
}
