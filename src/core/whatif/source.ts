import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { auditRecordSchema, exportAudit, verifyAudit, type AuditKeyring, type AuditRecord } from '../audit';
import { ControlPlaneError } from '../errors';

/** Where the replayed records came from, for the report's header. */
export interface WhatIfSource {
  /** `live`: the audit folder, verified with the key; `file`: an exported JSONL file, not verified (no key). */
  readonly kind: 'live' | 'file';
  readonly path: string;
  readonly records: number;
  /** Lines of the file that are not audit records (a CSV export, a torn line): skipped and counted. */
  readonly skipped: number;
  readonly verified: boolean;
}

/** Parses a duration such as `7d`, `12h`, `30m` into milliseconds. */
export function parseSince(text: string): number {
  const m = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (!m) throw new ControlPlaneError('BAD_ARGUMENT', `--since takes a duration such as 7d, 12h or 30m, not "${text}"`);
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

/**
 * The records of an exported audit (`mcpcp audit export`, JSONL: one stored record a line). No key
 * is needed and none is checked: the file is what a policy repository's CI holds. A CSV export has
 * no arguments, so it is refused (its header line is recognised).
 */
export async function readExportedAudit(path: string): Promise<{ records: AuditRecord[]; source: WhatIfSource }> {
  const records: AuditRecord[] = [];
  let skipped = 0;
  let lineNo = 0;
  let stream;
  try {
    stream = createReadStream(path, { encoding: 'utf8' });
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '') continue;
      if (lineNo === 1 && line.startsWith('ts,instance,seq,type')) {
        throw new ControlPlaneError('WHATIF_BAD_AUDIT', `${path} is a CSV export, which has no call arguments: export with \`mcpcp audit export --format jsonl\``);
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      const parsed = auditRecordSchema.safeParse(value);
      if (parsed.success) records.push(parsed.data);
      else skipped++;
    }
  } catch (err) {
    if (err instanceof ControlPlaneError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ControlPlaneError('WHATIF_BAD_AUDIT', code === 'ENOENT' ? `no audit file at ${path}` : `cannot read ${path}: ${(err as Error).message}`);
  } finally {
    stream?.destroy();
  }
  if (records.length === 0 && skipped > 0) throw new ControlPlaneError('WHATIF_BAD_AUDIT', `${path} holds no audit records (${skipped} lines are not records): give a file written by \`mcpcp audit export\``);
  return { records, source: { kind: 'file', path, records: records.length, skipped, verified: false } };
}

/**
 * The records of the live audit folder since `sinceMs` ago, after verifying the whole chain with
 * the key: a broken chain is refused (replaying edited history would test the draft against a lie).
 */
export async function readLiveAudit(dir: string, keys: AuditKeyring, sinceMs: number, now = Date.now()): Promise<{ records: AuditRecord[]; source: WhatIfSource }> {
  const verified = await verifyAudit(dir, { keys });
  if (verified.status === 'broken') {
    const b = verified.firstBroken;
    throw new ControlPlaneError('WHATIF_AUDIT_BROKEN', `the audit log in ${dir} does not verify${b ? ` (${b.file}${b.line > 0 ? `:${b.line}` : ''}: ${b.reason})` : ''}: run \`mcpcp audit verify\`; a what-if run needs intact history`);
  }
  const records: AuditRecord[] = [];
  for await (const line of exportAudit(dir, 'jsonl', { from: new Date(now - sinceMs).toISOString() })) {
    const parsed = auditRecordSchema.safeParse(JSON.parse(line));
    if (parsed.success) records.push(parsed.data);
  }
  return { records, source: { kind: 'live', path: dir, records: records.length, skipped: 0, verified: true } };
}
