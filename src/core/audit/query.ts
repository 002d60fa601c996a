import { ControlPlaneError } from '../errors';
import { listAuditFiles, readLines, type AuditFileRef } from './files';
import { auditRecordSchema, type AuditRecord } from './record';

type OneOrMore<T> = T | readonly T[];

/**
 * Which records to return. Every field given must match; a list matches any of its values. `from`
 * is inclusive, `to` exclusive; both take a Date, epoch milliseconds or an ISO string.
 */
export interface AuditFilter {
  readonly from?: Date | number | string;
  readonly to?: Date | number | string;
  readonly type?: OneOrMore<string>;
  readonly server?: OneOrMore<string>;
  readonly tool?: OneOrMore<string>;
  readonly decision?: OneOrMore<string>;
  readonly outcome?: OneOrMore<string>;
  readonly instance?: OneOrMore<string>;
  readonly callId?: OneOrMore<string>;
  readonly approvalId?: OneOrMore<string>;
}

export interface AuditPageRequest {
  /** Records per page: default 100, at most 10,000. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** `asc` (oldest first, default) or `desc` (newest first). */
  readonly order?: 'asc' | 'desc';
}

export interface AuditPage {
  readonly records: readonly AuditRecord[];
  /** Present when more records match; pass it back as `cursor`. */
  readonly nextCursor?: string;
}

/** Total order of records across instances: time, then instance, then seq. */
type Key = readonly [ms: number, instance: string, seq: number];

function compareKeys(a: Key, b: Key): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}

function keyOf(record: AuditRecord): Key {
  return [Date.parse(record.ts), record.instance, record.seq];
}

function encodeCursor(key: Key, order: 'asc' | 'desc'): string {
  return Buffer.from(JSON.stringify([...key, order])).toString('base64url');
}

function decodeCursor(cursor: string, order: 'asc' | 'desc'): Key {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 4 && typeof value[0] === 'number' && typeof value[1] === 'string' && typeof value[2] === 'number' && value[3] === order) {
      return [value[0], value[1], value[2]];
    }
  } catch {
    // Reported below.
  }
  throw new ControlPlaneError('AUDIT_BAD_CURSOR', 'invalid audit cursor (it must come from a query with the same order)');
}

function toMs(value: Date | number | string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(ms)) throw new ControlPlaneError('AUDIT_BAD_FILTER', `audit filter "${name}" is not a time: ${String(value)}`);
  return ms;
}

/** Compiles a filter into a predicate (and the instances worth reading). */
function compileFilter(filter: AuditFilter): { instances?: ReadonlySet<string>; test: (record: AuditRecord) => boolean } {
  const from = toMs(filter.from, 'from');
  const to = toMs(filter.to, 'to');
  const sets: [keyof AuditRecord, ReadonlySet<string>][] = [];
  for (const field of ['type', 'server', 'tool', 'decision', 'outcome', 'instance', 'callId', 'approvalId'] as const) {
    const wanted = filter[field];
    if (wanted !== undefined) sets.push([field, new Set(typeof wanted === 'string' ? [wanted] : wanted)]);
  }
  const instances = sets.find(([f]) => f === 'instance')?.[1];
  return {
    ...(instances !== undefined ? { instances } : {}),
    test: (record) => {
      if (from !== undefined || to !== undefined) {
        const ms = Date.parse(record.ts);
        if (from !== undefined && ms < from) return false;
        if (to !== undefined && ms >= to) return false;
      }
      return sets.every(([field, values]) => {
        const v = record[field];
        return typeof v === 'string' && values.has(v);
      });
    },
  };
}

interface Scanned {
  readonly record: AuditRecord;
  readonly text: string;
}

/** One instance's complete, well-formed records in seq order (torn or foreign lines are skipped). */
async function* scanInstance(files: readonly AuditFileRef[]): AsyncGenerator<Scanned> {
  for (const file of files) {
    for await (const { text, terminated } of readLines(file.path)) {
      if (!terminated) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        continue;
      }
      const parsed = auditRecordSchema.safeParse(value);
      if (parsed.success) yield { record: parsed.data, text };
    }
  }
}

async function instanceStreams(dir: string, instances: ReadonlySet<string> | undefined): Promise<AsyncGenerator<Scanned>[]> {
  const byInstance = new Map<string, AuditFileRef[]>();
  for (const f of await listAuditFiles(dir)) {
    if (instances !== undefined && !instances.has(f.instance)) continue;
    byInstance.set(f.instance, [...(byInstance.get(f.instance) ?? []), f]);
  }
  return [...byInstance.values()].map((files) => scanInstance(files));
}

/**
 * Records of every instance in `dir` that match `filter`, one page at a time, ordered by time, then
 * instance, then seq. Reads the files as a stream and keeps at most a few pages in memory; each page
 * rescans, so deep paging over very large logs is linear per page. Records that are not well-formed
 * (a torn tail, an edited line) are skipped: `verifyAudit` is what reports them.
 */
export async function queryAudit(dir: string, filter: AuditFilter = {}, page: AuditPageRequest = {}): Promise<AuditPage> {
  const limit = Math.max(1, Math.min(page.limit ?? 100, 10_000));
  const order = page.order ?? 'asc';
  const sign = order === 'asc' ? 1 : -1;
  const after = page.cursor !== undefined ? decodeCursor(page.cursor, order) : undefined;
  const { instances, test } = compileFilter(filter);
  const compare = (a: Scanned, b: Scanned): number => sign * compareKeys(keyOf(a.record), keyOf(b.record));
  let best: Scanned[] = [];
  for (const stream of await instanceStreams(dir, instances)) {
    for await (const item of stream) {
      if (!test(item.record)) continue;
      if (after !== undefined && sign * compareKeys(keyOf(item.record), after) <= 0) continue;
      best.push(item);
      // Keep memory bounded: only the first `limit + 1` in order can be on this page.
      if (best.length > 4 * (limit + 1)) best = best.sort(compare).slice(0, limit + 1);
    }
  }
  best.sort(compare);
  const records = best.slice(0, limit).map((s) => s.record);
  const last = records[records.length - 1];
  return best.length > limit && last !== undefined ? { records, nextCursor: encodeCursor(keyOf(last), order) } : { records };
}

/** Columns of the CSV export, in order. */
export const AUDIT_CSV_COLUMNS = [
  'ts', 'instance', 'seq', 'type', 'kind', 'server', 'tool', 'client', 'actor', 'decision', 'outcome', 'reason', 'rule',
  'durationMs', 'resultBytes', 'error', 'callId', 'approvalId', 'detail', 'prev', 'hash',
] as const;

/**
 * The matching records of every instance as JSONL (each line exactly as stored, so per-record
 * hashes still check) or CSV (RFC 4180, with a header; cells that a spreadsheet would run as a
 * formula are prefixed with `'`). Streams: instances are merged by time, each in seq order, so
 * memory stays flat for any log size.
 */
export async function* exportAudit(dir: string, format: 'jsonl' | 'csv', filter: AuditFilter = {}): AsyncGenerator<string> {
  const { instances, test } = compileFilter(filter);
  const streams = await instanceStreams(dir, instances);
  const heads: (Scanned | undefined)[] = [];
  const advance = async (i: number): Promise<void> => {
    const stream = streams[i];
    for (let next = await stream?.next(); next !== undefined && next.done !== true; next = await stream?.next()) {
      if (test(next.value.record)) {
        heads[i] = next.value;
        return;
      }
    }
    heads[i] = undefined;
  };
  for (let i = 0; i < streams.length; i++) await advance(i);
  if (format === 'csv') yield csvHeader();
  for (;;) {
    let min = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      const m = min === -1 ? undefined : heads[min];
      if (h !== undefined && (m === undefined || compareKeys(keyOf(h.record), keyOf(m.record)) < 0)) min = i;
    }
    const item = heads[min];
    if (item === undefined) return;
    yield format === 'jsonl' ? `${item.text}\n` : csvRow(item.record);
    await advance(min);
  }
}

/** The CSV export's header line. */
export function csvHeader(): string {
  return `${AUDIT_CSV_COLUMNS.join(',')}\r\n`;
}

/** One record as a CSV export line. */
export function csvRow(record: AuditRecord): string {
  const cells = AUDIT_CSV_COLUMNS.map((column) => {
    const value: unknown = record[column];
    if (value === undefined || value === null) return '';
    if (column === 'client' && typeof value === 'object') {
      const c = value as { name: string; version?: string };
      return csvCell(c.version !== undefined ? `${c.name}@${c.version}` : c.name);
    }
    if (column === 'actor' && typeof value === 'object') {
      const a = value as { kind: string; name?: string };
      return csvCell(a.name !== undefined ? `${a.kind}:${a.name}` : a.kind);
    }
    if (column === 'rule' && typeof value === 'object') {
      const r = value as { source: string; index?: number; id?: string };
      return csvCell(`${r.source}${r.index !== undefined ? `#${r.index + 1}` : ''}${r.id !== undefined ? ` ${r.id}` : ''}`);
    }
    return csvCell(typeof value === 'string' ? value : JSON.stringify(value));
  });
  return `${cells.join(',')}\r\n`;
}

function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
