import { canonicalJson } from '../canonical-json';
import { auditFileName, listAuditFiles, listQuarantineFiles, readLines, type AuditFileRef } from './files';
import { GENESIS_HASH, auditRecordSchema, recordHash } from './record';

/** The first place where an instance's chain does not hold. `line` is 1-based; 0 means the file itself. */
export interface AuditBreak {
  readonly instance: string;
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

/** A last line without its newline: a write cut short (or in progress). Not part of the chain. */
export interface AuditTornTail {
  readonly instance: string;
  readonly file: string;
  readonly line: number;
  readonly bytes: number;
}

export interface AuditInstanceReport {
  readonly instance: string;
  readonly files: number;
  /** Records verified before the first break (all of them when there is none). */
  readonly records: number;
  readonly lastSeq: number;
  /**
   * Hash of the last verified record. Keep it somewhere else (a ticket, a log shipper): a later
   * verify that no longer reaches it shows that records were cut from the end, which a hash chain
   * alone cannot reveal.
   */
  readonly lastHash: string;
  readonly firstBroken?: AuditBreak;
  readonly tornTail?: AuditTornTail;
}

export interface AuditVerifyResult {
  /** No broken link in any instance (torn tails do not count: they are reported separately). */
  readonly ok: boolean;
  readonly files: number;
  readonly records: number;
  readonly instances: readonly AuditInstanceReport[];
  /** The first break, instances in name order. */
  readonly firstBroken?: AuditBreak;
  readonly tornTails: readonly AuditTornTail[];
  /** Quarantined torn tails (`*.jsonl.torn-*`), each documented by an `audit.tail-quarantined` record. */
  readonly quarantineFiles: readonly string[];
}

/**
 * Verifies every instance's chain in `dir`. Per instance, files must be numbered 1, 2, 3… without
 * gaps, and every line must: parse as JSON; be in canonical form (the writer only writes canonical
 * JSON, so any other spelling is an edit); be an audit record of that instance; hash to its `hash`
 * (else: edited); carry the previous record's hash in `prev` (else: a record was deleted, inserted or
 * reordered, or a file was swapped); and have the next `seq`. The first failure per instance is
 * reported and that instance's verification stops there. Streams the files; memory stays flat.
 */
export async function verifyAudit(dir: string): Promise<AuditVerifyResult> {
  const files = await listAuditFiles(dir);
  const byInstance = new Map<string, AuditFileRef[]>();
  for (const f of files) byInstance.set(f.instance, [...(byInstance.get(f.instance) ?? []), f]);
  const instances: AuditInstanceReport[] = [];
  for (const [instance, list] of byInstance) instances.push(await verifyInstance(instance, list));
  const firstBroken = instances.find((i) => i.firstBroken !== undefined)?.firstBroken;
  return {
    ok: firstBroken === undefined,
    files: files.length,
    records: instances.reduce((n, i) => n + i.records, 0),
    instances,
    ...(firstBroken !== undefined ? { firstBroken } : {}),
    tornTails: instances.flatMap((i) => (i.tornTail !== undefined ? [i.tornTail] : [])),
    quarantineFiles: await listQuarantineFiles(dir),
  };
}

async function verifyInstance(instance: string, files: readonly AuditFileRef[]): Promise<AuditInstanceReport> {
  let prev = GENESIS_HASH;
  let seq = 0;
  let records = 0;
  const report = (extra: { firstBroken?: AuditBreak; tornTail?: AuditTornTail } = {}): AuditInstanceReport => ({
    instance,
    files: files.length,
    records,
    lastSeq: seq,
    lastHash: prev,
    ...extra,
  });
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    if (file === undefined) continue;
    if (file.index !== i + 1) {
      return report({ firstBroken: { instance, file: file.name, line: 0, reason: `${auditFileName(instance, i + 1)} is missing: the chain has no file before ${file.name}` } });
    }
    const isLastFile = i === files.length - 1;
    for await (const { text, line, terminated } of readLines(file.path)) {
      const broken = (reason: string): AuditInstanceReport => report({ firstBroken: { instance, file: file.name, line, reason } });
      if (!terminated) {
        if (isLastFile) return report({ tornTail: { instance, file: file.name, line, bytes: Buffer.byteLength(text) } });
        return broken('an incomplete line in a file that is not the newest');
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return broken('not valid JSON');
      }
      let canonical: string;
      try {
        canonical = canonicalJson(value);
      } catch {
        return broken('not a JSON record');
      }
      if (canonical !== text) return broken('not in canonical form: the line was rewritten');
      const parsed = auditRecordSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return broken(`not an audit record (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`);
      }
      const record = parsed.data;
      if (record.instance !== instance) return broken(`record of instance "${record.instance}" in a file of "${instance}"`);
      if (recordHash(value as Record<string, unknown>) !== record.hash) return broken(`record seq ${record.seq} does not match its hash: it was edited`);
      if (record.prev !== prev) {
        return broken(`record seq ${record.seq} does not follow the previous record (seq ${seq}): a record was deleted, inserted or reordered`);
      }
      if (record.seq !== seq + 1) return broken(`seq ${record.seq} follows seq ${seq}`);
      prev = record.hash;
      seq = record.seq;
      records++;
    }
  }
  return report();
}
