/**
 * Kubernetes objects as this server handles them: loosely typed JSON with safe accessors, output
 * shaping (managedFields stripped, YAML/JSON), secret redaction on every path, and ages.
 */
import { stringify } from 'yaml';

/** A JSON value from the API. Objects are read through the accessors below, never cast. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value at a dotted path (`metadata.name`, `spec.template.spec.containers`). */
export function at(obj: unknown, path: string): Json | undefined {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (!isJsonObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur as Json | undefined;
}

export function str(obj: unknown, path: string): string | undefined {
  const v = at(obj, path);
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

export function num(obj: unknown, path: string): number | undefined {
  const v = at(obj, path);
  return typeof v === 'number' ? v : undefined;
}

export function list(obj: unknown, path: string): JsonObject[] {
  const v = at(obj, path);
  return Array.isArray(v) ? v.filter(isJsonObject) : [];
}

export function record(obj: unknown, path: string): Record<string, string> {
  const v = at(obj, path);
  if (!isJsonObject(v)) return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]));
}

export function nameOf(obj: unknown): string {
  return str(obj, 'metadata.name') ?? '';
}

export function namespaceOf(obj: unknown): string | undefined {
  return str(obj, 'metadata.namespace');
}

export function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

// ---- output shaping -------------------------------------------------------------------------

/** A copy without metadata.managedFields (noise for a model; kubectl hides it too). */
export function stripManagedFields(obj: JsonObject): JsonObject {
  const copy = clone(obj);
  const meta = copy['metadata'];
  if (isJsonObject(meta)) delete meta['managedFields'];
  return copy;
}

export type OutputFormat = 'yaml' | 'json';

export function render(obj: Json, format: OutputFormat): string {
  return format === 'json' ? JSON.stringify(obj, null, 2) : stringify(obj, { lineWidth: 0 }).trimEnd();
}

// ---- secrets ----------------------------------------------------------------------------------

export const REDACTED = '[REDACTED]';
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * A copy of `obj` safe to show: a Secret's `data`/`stringData` values and, on any object, the
 * last-applied-configuration annotation (it repeats whatever was applied, secrets included) are
 * replaced by [REDACTED]. Lists are redacted item by item; typed list items carry no kind, so the
 * list kind (`SecretList`) or `kindHint` says what they are.
 */
export function redact(obj: JsonObject, kindHint?: string): JsonObject {
  const copy = clone(obj);
  redactInPlace(copy, kindHint);
  return copy;
}

function redactInPlace(obj: JsonObject, kindHint: string | undefined): void {
  const kind = typeof obj['kind'] === 'string' ? obj['kind'] : kindHint;
  const items = obj['items'];
  if (Array.isArray(items)) {
    const itemKind = kind?.endsWith('List') ? kind.slice(0, -4) : kindHint;
    for (const item of items) if (isJsonObject(item)) redactInPlace(item, itemKind);
  }
  const annotations = at(obj, 'metadata.annotations');
  if (isJsonObject(annotations) && typeof annotations[LAST_APPLIED] === 'string') annotations[LAST_APPLIED] = REDACTED;
  if (kind === 'Secret') {
    for (const field of ['data', 'stringData']) {
      const values = obj[field];
      if (isJsonObject(values)) for (const k of Object.keys(values)) values[k] = REDACTED;
    }
  }
}

/**
 * Both sides of a diff redacted, with a changed secret value shown as `[REDACTED: changed]`, so a
 * preview says what changes without showing either value.
 */
export function redactPair(before: JsonObject | undefined, after: JsonObject, kindHint?: string): [JsonObject | undefined, JsonObject] {
  const redactedAfter = redact(after, kindHint);
  const kind = typeof after['kind'] === 'string' ? after['kind'] : kindHint;
  if (kind === 'Secret') {
    for (const field of ['data', 'stringData']) {
      const next = at(after, field);
      const prev = before === undefined ? undefined : at(before, field);
      const out = redactedAfter[field];
      if (!isJsonObject(next) || !isJsonObject(out)) continue;
      for (const k of Object.keys(next)) {
        if (isJsonObject(prev) && prev[k] !== undefined && prev[k] !== next[k]) out[k] = `${REDACTED.slice(0, -1)}: changed]`;
      }
    }
  }
  return [before === undefined ? undefined : redact(before, kindHint), redactedAfter];
}

// ---- time ---------------------------------------------------------------------------------------

/** kubectl's age format (Go duration.HumanDuration): 45s, 5m10s, 3h, 12d, 2y. */
export function humanAge(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const ms = now - Date.parse(timestamp);
  if (Number.isNaN(ms)) return '<invalid>';
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (days < 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** `pods "web-1"`-style reference: `pod/web-1`, `deployment.apps/web`. */
export function ref(kind: string, group: string, name: string): string {
  return `${kind.toLowerCase()}${group ? `.${group}` : ''}/${name}`;
}
