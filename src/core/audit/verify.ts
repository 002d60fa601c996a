import { canonicalJson } from '../canonical-json';
import { defaultCheckpointDir, listCheckpointInstances, readCheckpoint, type AuditCheckpoint } from './checkpoint';
import { auditFileIndex, auditFileName, listAuditFiles, listQuarantineFiles, readLines, type AuditFileRef } from './files';
import type { AuditKeyring } from './keys';
import { GENESIS_HASH, auditRecordSchema, recordHash, recordMac } from './record';

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
  /** Of those, records of the unkeyed format (plain SHA-256) at the start of the chain. */
  readonly unkeyedRecords: number;
  readonly lastSeq: number;
  /** MAC of the last verified record. */
  readonly lastHash: string;
  /** The head the instance's checkpoint names (absent: no checkpoint, for a chain of the unkeyed format only). */
  readonly checkpoint?: { readonly seq: number; readonly hash: string; readonly file: string; readonly ts: string };
  readonly firstBroken?: AuditBreak;
  readonly tornTail?: AuditTornTail;
  /** Files retention removed (per the checkpoint): the kept chain was checked to continue from their last record. */
  readonly removed?: { readonly files: number; readonly firstSeq: number; readonly lastSeq: number; readonly lastFile: string };
}

export interface AuditVerifyOptions {
  /** Every key the instances used (a rotation keeps the old ones in the ring). */
  readonly keys: AuditKeyring;
  /** Where the checkpoints are. Default: `audit-checkpoints` next to `dir`. */
  readonly checkpointDir?: string;
}

/** `intact`: every chain holds; `broken`: a break (exit 1); `torn`: intact, but a last line was cut short by a crash (exit 3). */
export type AuditVerifyStatus = 'intact' | 'broken' | 'torn';

export interface AuditVerifyResult {
  readonly status: AuditVerifyStatus;
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

/** The `mcpcp audit verify` exit code of a result: 0 intact, 1 broken, 3 torn tail after a crash. */
export function auditVerifyExitCode(result: Pick<AuditVerifyResult, 'status'>): 0 | 1 | 3 {
  return result.status === 'broken' ? 1 : result.status === 'torn' ? 3 : 0;
}

/**
 * Verifies every instance's chain in `dir` against the keys and the checkpoints. Per instance, files
 * must be numbered 1, 2, 3… without gaps, and every line must: parse as JSON; be in canonical form
 * (the writer only writes canonical JSON, so any other spelling is an edit); be an audit record of
 * that instance; carry a MAC (`hash`) that its key (`kid`) gives over the record (else: edited, or
 * re-signed without the key); carry the previous record's MAC in `prev` (else: a record was deleted,
 * inserted or reordered, or a file was swapped); have the next `seq`; and keep the chain's key
 * unless it is an `audit.key-rotated` record. Records of the unkeyed format are accepted only as the
 * start of a chain. Then the checkpoint: it must be signed, the records it names (the head, the last
 * record of each listed file) must be in the files, in the files it says, and every file it lists
 * must exist — so records cut off the end and deleted files are found. An instance with records
 * and no checkpoint, or a checkpoint with no files, is broken; so is an
 * `audit.checkpoint-mismatch` record (the writer found such a loss at open). The first failure per
 * instance is reported and that instance's verification stops there. Streams the files.
 */
export async function verifyAudit(dir: string, options: AuditVerifyOptions): Promise<AuditVerifyResult> {
  const checkpointDir = options.checkpointDir ?? defaultCheckpointDir(dir);
  const files = await listAuditFiles(dir);
  const byInstance = new Map<string, AuditFileRef[]>();
  for (const f of files) byInstance.set(f.instance, [...(byInstance.get(f.instance) ?? []), f]);
  for (const instance of await listCheckpointInstances(checkpointDir)) if (!byInstance.has(instance)) byInstance.set(instance, []);
  const instances: AuditInstanceReport[] = [];
  for (const instance of [...byInstance.keys()].sort()) instances.push(await verifyInstance(instance, byInstance.get(instance) ?? [], options.keys, checkpointDir));
  const firstBroken = instances.find((i) => i.firstBroken !== undefined)?.firstBroken;
  const tornTails = instances.flatMap((i) => (i.tornTail !== undefined ? [i.tornTail] : []));
  return {
    status: firstBroken !== undefined ? 'broken' : tornTails.length > 0 ? 'torn' : 'intact',
    ok: firstBroken === undefined,
    files: files.length,
    records: instances.reduce((n, i) => n + i.records, 0),
    instances,
    ...(firstBroken !== undefined ? { firstBroken } : {}),
    tornTails,
    quarantineFiles: await listQuarantineFiles(dir),
  };
}

async function verifyInstance(instance: string, allFiles: readonly AuditFileRef[], keys: AuditKeyring, checkpointDir: string): Promise<AuditInstanceReport> {
  let files = allFiles;
  let prev = GENESIS_HASH;
  let seq = 0;
  let records = 0;
  let unkeyed = 0;
  let kid: string | undefined;
  const read = await readCheckpoint(checkpointDir, instance, keys);
  const cp: AuditCheckpoint | undefined = read.status === 'ok' ? read.checkpoint : undefined;
  // Retention removed files from the start: the kept chain continues from the last removed record,
  // and files the checkpoint records as removed that a crash left on disk are not part of it.
  const removed = cp?.removed;
  const removedThrough = removed !== undefined ? (auditFileIndex(removed.lastFile) ?? 0) : 0;
  if (removed !== undefined) {
    prev = removed.lastHash;
    seq = removed.lastSeq;
    files = files.filter((f, i) => f.index > removedThrough || i === files.length - 1);
  }
  /** The `detail.total` of the last `audit.files-removed` record: it must match the checkpoint's `removed`. */
  let recordedRemoval: { files?: unknown; lastSeq?: unknown; lastHash?: unknown } | undefined;
  const report = (extra: { firstBroken?: AuditBreak; tornTail?: AuditTornTail } = {}): AuditInstanceReport => ({
    instance,
    files: files.length,
    records,
    unkeyedRecords: unkeyed,
    lastSeq: seq,
    lastHash: prev,
    ...(cp !== undefined ? { checkpoint: { seq: cp.head.seq, hash: cp.head.hash, file: cp.head.file, ts: cp.ts } } : {}),
    ...(removed !== undefined ? { removed: { files: removed.files, firstSeq: removed.firstSeq, lastSeq: removed.lastSeq, lastFile: removed.lastFile } } : {}),
    ...extra,
  });
  const cpFile = `checkpoint of ${instance}`;
  if (read.status === 'invalid') return report({ firstBroken: { instance, file: cpFile, line: 0, reason: `the checkpoint is not valid: ${read.reason}` } });
  if (cp !== undefined && files.length === 0 && cp.head.seq > 0) {
    return report({ firstBroken: { instance, file: cp.head.file, line: 0, reason: `every audit file of ${instance} is gone: the checkpoint names seq ${cp.head.seq} in ${cp.head.file}` } });
  }
  // Records the checkpoint names: the head and the last record of each file it lists.
  const expected = new Map<number, { hash: string; file: string }>();
  if (cp !== undefined) {
    for (const e of cp.files) if (e.lastSeq !== undefined && e.lastHash !== undefined) expected.set(e.lastSeq, { hash: e.lastHash, file: e.name });
    if (cp.head.seq > 0) expected.set(cp.head.seq, { hash: cp.head.hash, file: cp.head.file });
    const present = new Set(files.map((f) => f.name));
    const gone = cp.files.find((e) => e.lastSeq !== undefined && !present.has(e.name));
    if (gone !== undefined) return report({ firstBroken: { instance, file: gone.name, line: 0, reason: `${gone.name} is missing: the checkpoint lists it with records ${gone.firstSeq ?? '?'}–${gone.lastSeq ?? '?'} (a whole file was deleted)` } });
  }
  let tornTail: AuditTornTail | undefined;
  outer: for (let i = 0; i < files.length; i++) {
    const file = files[i];
    if (file === undefined) continue;
    if (file.index !== removedThrough + i + 1) {
      return report({ firstBroken: { instance, file: file.name, line: 0, reason: `${auditFileName(instance, removedThrough + i + 1)} is missing: the chain has no file before ${file.name}` } });
    }
    const isLastFile = i === files.length - 1;
    for await (const { text, line, terminated } of readLines(file.path)) {
      const broken = (reason: string): AuditInstanceReport => report({ firstBroken: { instance, file: file.name, line, reason } });
      if (!terminated) {
        if (isLastFile) {
          tornTail = { instance, file: file.name, line, bytes: Buffer.byteLength(text) };
          break outer;
        }
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
      const linked = (): AuditInstanceReport | undefined =>
        record.prev !== prev
          ? broken(`record seq ${record.seq} does not follow the previous record (seq ${seq}): a record was deleted, inserted or reordered`)
          : record.seq !== seq + 1
            ? broken(`seq ${record.seq} follows seq ${seq}`)
            : undefined;
      if (record.kid === undefined) {
        if (kid !== undefined) return broken(`record seq ${record.seq} has no key id after keyed records: it was rewritten without the key`);
        if (recordHash(value as Record<string, unknown>) !== record.hash) return broken(`record seq ${record.seq} does not match its hash: it was edited`);
        const unlinked = linked();
        if (unlinked !== undefined) return unlinked;
        unkeyed++;
      } else {
        const key = keys.keys.get(record.kid);
        if (key === undefined) return broken(`record seq ${record.seq} is signed with key ${record.kid}, which the key ring does not hold (verify with the key of the instance that wrote it: --key-file)`);
        if (recordMac(key, value as Record<string, unknown>) !== record.hash) return broken(`record seq ${record.seq} does not match its MAC: it was edited (or re-signed without the key)`);
        const unlinked = linked();
        if (unlinked !== undefined) return unlinked;
        if (record.kid !== kid) {
          const detail = record.detail as { from?: unknown; to?: unknown } | undefined;
          const rotation = record.type === 'audit.key-rotated' && detail?.to === record.kid && (detail.from ?? null) === (kid ?? null);
          // The first record of a new chain, or the first kept after retention, may use any key of the ring.
          const start = kid === undefined && (record.seq === 1 || (removed !== undefined && record.seq === removed.lastSeq + 1));
          if (!rotation && !start) {
            return broken(`record seq ${record.seq} switches from key ${kid ?? '(unkeyed)'} to ${record.kid} without an audit.key-rotated record`);
          }
          kid = record.kid;
        }
      }
      const named = expected.get(record.seq);
      if (named !== undefined && (named.hash !== record.hash || named.file !== file.name)) {
        return broken(`record seq ${record.seq} is not the one the checkpoint names (${named.file}): the chain was rewritten`);
      }
      if (record.type === 'audit.files-removed') recordedRemoval = (record.detail as { total?: typeof recordedRemoval } | undefined)?.total;
      if (record.type === 'audit.checkpoint-mismatch') return broken(`the writer found at open that ${record.reason ?? 'the checkpoint did not match the files'} (recorded as seq ${record.seq})`);
      prev = record.hash;
      seq = record.seq;
      records++;
    }
  }
  if (cp === undefined && seq > 0) {
    return report({
      firstBroken: { instance, file: cpFile, line: 0, reason: `there is no checkpoint for ${instance} (it was deleted, --checkpoint-dir is wrong, or the log predates checkpoints and was never reopened): records cut off the end could not be found` },
      ...(tornTail !== undefined ? { tornTail } : {}),
    });
  }
  if (removed !== undefined && (recordedRemoval?.files !== removed.files || recordedRemoval.lastSeq !== removed.lastSeq || recordedRemoval.lastHash !== removed.lastHash)) {
    return report({
      firstBroken: { instance, file: cpFile, line: 0, reason: `the checkpoint records ${removed.files} files removed by retention (seq ${removed.firstSeq}..${removed.lastSeq}), but no audit.files-removed record in the kept chain says so` },
      ...(tornTail !== undefined ? { tornTail } : {}),
    });
  }
  if (cp !== undefined && cp.head.seq > seq) {
    return report({
      firstBroken: { instance, file: cp.head.file, line: 0, reason: `records were cut off the end: the checkpoint names seq ${cp.head.seq} in ${cp.head.file}, the chain ends at seq ${seq}` },
      ...(tornTail !== undefined ? { tornTail } : {}),
    });
  }
  return report(tornTail !== undefined ? { tornTail } : {});
}
