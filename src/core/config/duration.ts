import { z } from 'zod';

/**
 * Durations as people write them in settings and `config.yaml`: `250ms`, `30s`, `5m`, `1h`, `1d`,
 * or a sum such as `1m30s`. The engine keeps milliseconds; the settings that took raw
 * milliseconds (`…Ms`) are still accepted, with a warning naming their replacement.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
/** JSON-schema pattern of a duration (the settings editor checks it as you type). */
export const DURATION_PATTERN = '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$';
export const DURATION_HINT = 'use 250ms, 30s, 5m, 1h';

/** Milliseconds of a duration text, or undefined when it is not one. Fractions round to whole ms. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text;
  if (trimmed === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < trimmed.length) {
    const at = PART.lastIndex;
    const m = PART.exec(trimmed);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** The shortest exact text of a duration in milliseconds: 600000 → `10m`, 1500 → `1500ms`, 90000 → `90s`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

export interface DurationBounds {
  /** Smallest accepted value, in milliseconds. */
  min: number;
  /** Largest accepted value, in milliseconds. */
  max?: number;
}

/**
 * A duration setting: a string in, milliseconds out. Errors say what to write:
 * `"5 minutes" is not a duration: use 250ms, 30s, 5m, 1h`, `"50ms" is less than the minimum, 1s`.
 */
export function durationSchema(bounds: DurationBounds) {
  return z
    .string({ error: (iss) => `${JSON.stringify(iss.input)} is not a duration: ${DURATION_HINT}` })
    .regex(new RegExp(DURATION_PATTERN), { error: (iss) => `${JSON.stringify(iss.input)} is not a duration: ${DURATION_HINT}` })
    .transform((text, ctx) => {
      const ms = parseDuration(text)!;
      if (ms < bounds.min) ctx.addIssue({ code: 'custom', message: `"${text}" is less than the minimum, ${formatDuration(bounds.min)}` });
      else if (bounds.max !== undefined && ms > bounds.max) ctx.addIssue({ code: 'custom', message: `"${text}" is more than the maximum, ${formatDuration(bounds.max)}` });
      return ms;
    });
}

/** One duration setting of a group: its human-unit key, the deprecated `…Ms` key it replaces, bounds and default. */
export interface DurationField extends DurationBounds {
  /** The deprecated key holding milliseconds, e.g. `callTimeoutMs`. */
  legacy: string;
  /** Default in milliseconds. */
  default: number;
  description: string;
}

type DurationTable = Record<string, DurationField>;
type LegacyKey<T extends DurationTable> = T[keyof T]['legacy'];

/**
 * The zod fields of a group's durations: `<key>` (a duration string) and its deprecated
 * `<key>Ms` (an integer), both optional; `resolveDurations` fills in the default afterwards, so
 * that a value given only under the old key is not overwritten by the new key's default.
 */
export function durationFields<T extends DurationTable>(group: string, table: T) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, f] of Object.entries(table)) {
    shape[key] = durationSchema(f)
      .optional()
      .describe(`${f.description} Default \`${formatDuration(f.default)}\`; write it as ${DURATION_HINT.replace('use ', '')}.`)
      .meta({ patternErrorMessage: `A duration: ${DURATION_HINT}.` });
    let legacy = z.number().int().min(f.min);
    if (f.max !== undefined) legacy = legacy.max(f.max);
    shape[f.legacy] = legacy
      .optional()
      .describe(`Deprecated: use \`${group}.${key}\` (a duration such as "${formatDuration(f.default)}"). ${f.description} In milliseconds.`);
  }
  return shape as { [K in keyof T]: z.ZodOptional<z.ZodType<number, string>> } & { [K in LegacyKey<T>]: z.ZodOptional<z.ZodNumber> };
}

/**
 * The group as the engine reads it: each duration in milliseconds under its `…Ms` name (the new key
 * wins over the old one; neither given: the default), the human-unit keys gone.
 */
export function resolveDurations<T extends DurationTable>(table: T) {
  return <I extends Record<string, unknown>>(input: I): Omit<I, keyof T | LegacyKey<T>> & { [K in LegacyKey<T>]: number } => {
    const out: Record<string, unknown> = { ...input };
    for (const [key, f] of Object.entries(table)) {
      const value = (input[key] as number | undefined) ?? (input[f.legacy] as number | undefined) ?? f.default;
      delete out[key];
      out[f.legacy] = value;
    }
    return out as Omit<I, keyof T | LegacyKey<T>> & { [K in LegacyKey<T>]: number };
  };
}

/** A deprecated key found in a configuration: where, and what to write instead. */
export interface DeprecatedDuration {
  path: string[];
  message: string;
}

/**
 * Deprecated `…Ms` keys in a raw (unvalidated) configuration, with the replacement each names;
 * `prefix` goes before the key in the message (`mcpControlPlane.` for VS Code settings).
 */
export function deprecatedDurations(raw: unknown, groups: Record<string, DurationTable>, prefix = ''): DeprecatedDuration[] {
  const found: DeprecatedDuration[] = [];
  if (!raw || typeof raw !== 'object') return found;
  for (const [group, table] of Object.entries(groups)) {
    const values = (raw as Record<string, unknown>)[group];
    if (!values || typeof values !== 'object') continue;
    for (const [key, f] of Object.entries(table)) {
      const old = (values as Record<string, unknown>)[f.legacy];
      if (old === undefined) continue;
      const now = (values as Record<string, unknown>)[key];
      const asText = typeof old === 'number' && Number.isInteger(old) && old >= 0 ? formatDuration(old) : formatDuration(f.default);
      found.push({
        path: [group, f.legacy],
        message:
          now !== undefined
            ? `${prefix}${group}.${f.legacy} is deprecated and ignored: ${prefix}${group}.${key} (${JSON.stringify(now)}) is also set and wins; remove ${prefix}${group}.${f.legacy}`
            : `${prefix}${group}.${f.legacy} is deprecated: write ${prefix}${group}.${key}: "${asText}" instead`,
      });
    }
  }
  return found;
}
