// State as a `check` read call shows it, compared for drift and shown as a three-way difference.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { canonicalJson } from '../canonical-json';

/** A state: a JSON document (a Kubernetes object), text (a configuration), or absent (the read failed: not found). */
export type StateView = { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'absent'; text: string };

/** Fields the Kubernetes API server sets: not part of what "restored" means. */
const SERVER_SET = ['uid', 'resourceVersion', 'managedFields', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** The state a `check` call's result shows. */
export function stateOfResult(result: CallToolResult): StateView {
  const text = result.content.filter((c): c is { type: 'text'; text: string } => c.type === 'text').map((c) => c.text).join('\n');
  if (result.isError === true) return { kind: 'absent', text };
  return stateOf(text);
}

/** A handle's `before`/`after`: an object is JSON, a string is parsed as JSON when it is JSON. */
export function stateOf(value: unknown): StateView {
  if (value !== null && typeof value === 'object' && 'kind' in value && ((value as StateView).kind === 'absent' || (value as StateView).kind === 'json' || (value as StateView).kind === 'text')) return value as StateView;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return { kind: 'json', value: JSON.parse(trimmed) };
      } catch {
        // plain text
      }
    }
    return { kind: 'text', text: value };
  }
  if (value === null || value === undefined) return { kind: 'absent', text: 'absent' };
  return { kind: 'json', value };
}

/** The part of a state that counts: without server-set fields and status. */
export function comparable(state: StateView): string {
  if (state.kind === 'absent') return 'absent';
  if (state.kind === 'text') return `text:${state.text.replace(/\r\n/g, '\n').replace(/\s+$/g, '')}`;
  return `json:${canonicalJson(withoutServerFields(state.value) as never)}`;
}

export function withoutServerFields(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const obj = { ...(value as Record<string, unknown>) };
  if (typeof obj['apiVersion'] === 'string' && typeof obj['kind'] === 'string') {
    delete obj['status'];
    const meta = obj['metadata'];
    if (meta !== null && typeof meta === 'object') {
      const m = { ...(meta as Record<string, unknown>) };
      for (const f of SERVER_SET) delete m[f];
      obj['metadata'] = m;
    }
  }
  return obj;
}

/** Whether the state changed since `after` (server-set fields ignored). */
export function drifted(after: StateView, now: StateView): boolean {
  return comparable(after) !== comparable(now);
}

const MAX_LINES = 60;

/**
 * The three-way difference before the call / after the call / now: for JSON, one line per field
 * that differs among the three (`path: before | after | now`); for text, the lines that differ.
 */
export function threeWay(before: StateView, after: StateView, now: StateView): string[] {
  if (before.kind !== 'text' && after.kind !== 'text' && now.kind !== 'text') {
    const flat = [before, after, now].map((s) => (s.kind === 'json' ? flatten(withoutServerFields(s.value)) : new Map<string, string>()));
    const paths = [...new Set(flat.flatMap((m) => [...m.keys()]))].sort();
    const states = [before, after, now];
    const present = states.map((s) => s.kind !== 'absent');
    const rows: string[] = [];
    // An absent object is said once; fields are listed where the present states differ.
    if (present.some((p) => !p)) rows.push(`  (object): ${present.map((p) => (p ? 'present' : 'absent')).join(' | ')}`);
    for (const p of paths) {
      const values = flat.map((m, i) => (present[i] ? (m.get(p) ?? '(unset)') : '-'));
      const compared = values.filter((_, i) => present[i]);
      if (compared.every((v) => v === compared[0])) continue;
      rows.push(`  ${p}: ${values[0]} | ${values[1]} | ${values[2]}`);
    }
    return cap(['  field: before | after | now', ...rows]);
  }
  const lines = [before, after, now].map((s) => textOf(s).split('\n'));
  const all = [...new Set(lines.flat())];
  const rows: string[] = [];
  for (const line of all) {
    const marks = lines.map((l) => (l.includes(line) ? 'x' : '-'));
    if (marks.every((m) => m === 'x')) continue;
    rows.push(`  [${marks.join('')}] ${line}`);
  }
  return cap(['  lines present in [before after now] (x = present):', ...(rows.length > 0 ? rows : ['  (no line differs)'])]);
}

function textOf(s: StateView): string {
  if (s.kind === 'json') return JSON.stringify(s.value, null, 2);
  return s.kind === 'absent' ? '(absent)' : s.text;
}

function cap(rows: string[]): string[] {
  return rows.length <= MAX_LINES ? rows : [...rows.slice(0, MAX_LINES), `  [${rows.length - MAX_LINES} more lines not shown]`];
}

function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.set(prefix || '(root)', Array.isArray(value) ? '[]' : '{}');
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  const shown = JSON.stringify(value);
  out.set(prefix || '(root)', shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
  return out;
}
