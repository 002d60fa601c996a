import { canonicalJson } from '../canonical-json';
import { ControlPlaneError } from '../errors';
import type { PgPool } from '../storage/postgres';
import { auditMac, type AuditKeyring } from './keys';
import { AUDIT_CHECKPOINTS_TABLE, AUDIT_RECORDS_TABLE, DB_CHECKPOINT_FORMAT, type DbCheckpoint } from './postgres';
import { GENESIS_HASH, auditRecordSchema, recordMac } from './record';

/** The first place where a writer's chain, or the checkpoint chain, does not hold. */
export interface PostgresAuditBreak {
  /** The writer whose chain breaks; `(checkpoints)` for the checkpoint chain. */
  readonly writer: string;
  /** The record's seq (the checkpoint's n); 0 when the chain as a whole is the problem. */
  readonly seq: number;
  readonly reason: string;
}

export interface PostgresWriterReport {
  readonly writer: string;
  /** Records verified before the first break (all of them when there is none). */
  readonly records: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  /** The highest head any checkpoint names for this writer. */
  readonly checkpointed?: { readonly seq: number; readonly n: number };
  readonly firstBroken?: PostgresAuditBreak;
}

export interface PostgresAuditVerifyResult {
  /** `intact` (exit 0) or `broken` (exit 1). A committed row cannot be torn: never `torn`. */
  readonly status: 'intact' | 'broken';
  readonly ok: boolean;
  readonly records: number;
  readonly writers: readonly PostgresWriterReport[];
  readonly checkpoints: number;
  /** The newest checkpoint: keep its `n` and `mac` outside the database to also catch a rollback of the newest checkpoints. */
  readonly latestCheckpoint?: { readonly n: number; readonly ts: string; readonly mac: string };
  /** The first break: the checkpoint chain first, then writers in name order. */
  readonly firstBroken?: PostgresAuditBreak;
}

export const CHECKPOINTS_WRITER = '(checkpoints)';
const PAGE = 5000;

interface RecordRow {
  writer_id: string;
  seq: string;
  ts: Date;
  type: string;
  server: string | null;
  tool: string | null;
  call_id: string | null;
  approval_id: string | null;
  decision: string | null;
  outcome: string | null;
  key_id: string;
  prev_mac: string;
  mac: string;
  record: string;
}

/**
 * Verifies the whole audit in the database with `keys`. The checkpoint chain: `n` runs 1, 2, 3…
 * without a gap, each row is signed (MAC under a key of the ring), carries the previous one's MAC,
 * and its columns match its signed body. Every writer's chain, streamed by seq: each row's record
 * parses, is canonical JSON, names this writer, has a MAC its key gives (else: edited, or forged
 * without the key), carries the previous record's MAC (else: a row was deleted or reordered), has
 * the next seq, keeps its key unless it is an `audit.key-rotated` record, and the row's columns
 * (seq, MAC, key, prev, time, type, the query columns) match the signed record (else: a column was
 * edited, e.g. to hide a record from queries, or rows were renumbered). Every head any checkpoint
 * names must be in the chain with that MAC: records cut off the end (or a writer's rows all gone)
 * are found. An `audit.checkpoint-mismatch` record (a writer found such a loss at open) is a break.
 * Records but no checkpoint at all is a break (every writer takes one at open, before its first
 * record). The first failure per writer is reported and that writer's walk stops there.
 */
export async function verifyPostgresAudit(pool: PgPool, options: { readonly keys: AuditKeyring }): Promise<PostgresAuditVerifyResult> {
  const keys = options.keys;
  const { rows: tables } = await pool.query<{ records: string | null; checkpoints: string | null }>(`SELECT to_regclass($1) AS records, to_regclass($2) AS checkpoints`, [AUDIT_RECORDS_TABLE, AUDIT_CHECKPOINTS_TABLE]);
  if (tables[0]?.records == null || tables[0]?.checkpoints == null) {
    throw new ControlPlaneError('AUDIT_NO_TABLES', `this database has no audit tables (${AUDIT_RECORDS_TABLE}, ${AUDIT_CHECKPOINTS_TABLE}): no replica has started with storage.postgres on it, or storage.postgres.url names another database`);
  }
  // 1. The checkpoint chain, and what it names.
  const highest = new Map<string, { seq: number; hash: string; n: number }>();
  let checkpoints = 0;
  let latest: PostgresAuditVerifyResult['latestCheckpoint'];
  let checkpointBreak: PostgresAuditBreak | undefined;
  {
    let prev = GENESIS_HASH;
    let after = 0;
    outer: for (;;) {
      const { rows } = await pool.query<{ n: string; ts: Date; taken_by: string; key_id: string; prev_mac: string; mac: string; checkpoint: string }>(
        `SELECT n, ts, taken_by, key_id, prev_mac, mac, checkpoint FROM ${AUDIT_CHECKPOINTS_TABLE} WHERE n > $1 ORDER BY n LIMIT ${PAGE}`,
        [after],
      );
      for (const row of rows) {
        const n = Number(row.n);
        const broken = (reason: string): void => {
          checkpointBreak = { writer: CHECKPOINTS_WRITER, seq: n, reason };
        };
        if (n !== checkpoints + 1) {
          broken(`checkpoint ${n} follows checkpoint ${checkpoints}: ${n > checkpoints + 1 ? `checkpoint ${checkpoints + 1} was deleted` : 'the numbering was changed'}`);
          break outer;
        }
        let cp: DbCheckpoint;
        try {
          cp = JSON.parse(row.checkpoint) as DbCheckpoint;
        } catch {
          broken(`checkpoint ${n} is not valid JSON`);
          break outer;
        }
        if (canonicalJson(cp as never) !== row.checkpoint) {
          broken(`checkpoint ${n} is not in canonical form: it was rewritten`);
          break outer;
        }
        if (cp.format !== DB_CHECKPOINT_FORMAT || typeof cp.heads !== 'object' || cp.heads === null) {
          broken(`checkpoint ${n} is not a checkpoint of this format`);
          break outer;
        }
        const key = keys.keys.get(cp.kid);
        if (key === undefined) {
          broken(`checkpoint ${n} is signed with key ${cp.kid}, which the key ring does not hold`);
          break outer;
        }
        const { mac, ...unsigned } = cp;
        if (auditMac(key, 'checkpoint', canonicalJson(unsigned as never)) !== mac) {
          broken(`checkpoint ${n} does not match its MAC: it was edited or forged without the key`);
          break outer;
        }
        if (cp.n !== n || cp.prev !== row.prev_mac || cp.mac !== row.mac || cp.kid !== row.key_id || cp.by !== row.taken_by || Date.parse(cp.ts) !== row.ts.getTime()) {
          broken(`checkpoint ${n}: its columns do not match its signed body (renumbered or edited)`);
          break outer;
        }
        if (cp.prev !== prev) {
          broken(`checkpoint ${n} does not follow checkpoint ${n - 1} (its prev MAC differs): a checkpoint was replaced`);
          break outer;
        }
        // Only each writer's highest named head is kept (memory stays per writer, not per
        // checkpoint): a chain that reaches it with that MAC holds every earlier named head too,
        // since without the key no other record can link up to it.
        for (const [writer, head] of Object.entries(cp.heads)) {
          const top = highest.get(writer);
          if (top !== undefined && head.seq === top.seq && head.hash !== top.hash) {
            broken(`checkpoints ${top.n} and ${n} name different records as seq ${head.seq} of writer ${writer}`);
            break outer;
          }
          if (top === undefined || head.seq > top.seq) highest.set(writer, { seq: head.seq, hash: head.hash, n });
        }
        prev = cp.mac;
        checkpoints = n;
        latest = { n, ts: cp.ts, mac: cp.mac };
      }
      if (rows.length < PAGE) break;
      after = checkpoints;
    }
  }

  // 2. Every writer's chain (writers in the records, and writers only a checkpoint still names).
  const { rows: writerRows } = await pool.query<{ writer_id: string }>(
    `WITH RECURSIVE w AS (
       (SELECT writer_id FROM ${AUDIT_RECORDS_TABLE} ORDER BY writer_id LIMIT 1)
       UNION ALL
       SELECT (SELECT r.writer_id FROM ${AUDIT_RECORDS_TABLE} r WHERE r.writer_id > w.writer_id ORDER BY r.writer_id LIMIT 1) FROM w WHERE w.writer_id IS NOT NULL
     ) SELECT writer_id FROM w WHERE writer_id IS NOT NULL`,
  );
  const writers = [...new Set([...writerRows.map((r) => r.writer_id), ...highest.keys()])].sort();
  const reports: PostgresWriterReport[] = [];
  for (const writer of writers) reports.push(await verifyWriter(pool, writer, keys, highest.get(writer)));
  const total = reports.reduce((n, r) => n + r.records, 0);
  let firstBroken: PostgresAuditBreak | undefined = checkpointBreak ?? reports.find((r) => r.firstBroken !== undefined)?.firstBroken;
  if (firstBroken === undefined && checkpoints === 0 && total > 0) {
    firstBroken = { writer: CHECKPOINTS_WRITER, seq: 0, reason: `there is no checkpoint for ${total} records (every writer takes one at open, before its first record): the checkpoints were deleted` };
  }
  return {
    status: firstBroken === undefined ? 'intact' : 'broken',
    ok: firstBroken === undefined,
    records: total,
    writers: reports,
    checkpoints,
    ...(latest !== undefined ? { latestCheckpoint: latest } : {}),
    ...(firstBroken !== undefined ? { firstBroken } : {}),
  };
}

async function verifyWriter(
  pool: PgPool,
  writer: string,
  keys: AuditKeyring,
  top: { seq: number; hash: string; n: number } | undefined,
): Promise<PostgresWriterReport> {
  let prev = GENESIS_HASH;
  let seq = 0;
  let records = 0;
  let kid: string | undefined;
  const report = (firstBroken?: PostgresAuditBreak): PostgresWriterReport => ({
    writer,
    records,
    lastSeq: seq,
    lastHash: prev,
    ...(top !== undefined ? { checkpointed: { seq: top.seq, n: top.n } } : {}),
    ...(firstBroken !== undefined ? { firstBroken } : {}),
  });
  for (;;) {
    const { rows } = await pool.query<RecordRow>(
      `SELECT writer_id, seq, ts, type, server, tool, call_id, approval_id, decision, outcome, key_id, prev_mac, mac, record
         FROM ${AUDIT_RECORDS_TABLE} WHERE writer_id = $1 AND seq > $2 ORDER BY seq LIMIT ${PAGE}`,
      [writer, seq],
    );
    for (const row of rows) {
      const rowSeq = Number(row.seq);
      const broken = (reason: string): PostgresWriterReport => report({ writer, seq: rowSeq, reason });
      let value: unknown;
      try {
        value = JSON.parse(row.record);
      } catch {
        return broken(`the row at seq ${rowSeq} does not hold a JSON record`);
      }
      let canonical: string;
      try {
        canonical = canonicalJson(value as never);
      } catch {
        return broken(`the row at seq ${rowSeq} does not hold a JSON record`);
      }
      if (canonical !== row.record) return broken(`the record at seq ${rowSeq} is not in canonical form: it was rewritten`);
      const parsed = auditRecordSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return broken(`the row at seq ${rowSeq} is not an audit record (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`);
      }
      const record = parsed.data;
      if (record.instance !== writer) return broken(`the row at seq ${rowSeq} holds a record of writer "${record.instance}"`);
      if (record.kid === undefined) return broken(`record seq ${record.seq} has no key id: it was written without the key`);
      const key = keys.keys.get(record.kid);
      if (key === undefined) return broken(`record seq ${record.seq} is signed with key ${record.kid}, which the key ring does not hold (verify with every key the deployment used)`);
      if (recordMac(key, value as Record<string, unknown>) !== record.hash) return broken(`record seq ${record.seq} does not match its MAC: it was edited, or forged without the key`);
      if (record.seq !== rowSeq) return broken(`the row at seq ${rowSeq} holds record seq ${record.seq}: rows were renumbered or reordered`);
      if (record.prev !== prev) {
        return broken(
          rowSeq > seq + 1
            ? `seq ${seq + 1}${rowSeq > seq + 2 ? `..${rowSeq - 1}` : ''} ${rowSeq > seq + 2 ? 'are' : 'is'} missing: record seq ${rowSeq} follows seq ${seq} (rows were deleted)`
            : `record seq ${rowSeq} does not follow the previous record (seq ${seq}): a record was replaced or reordered`,
        );
      }
      if (rowSeq !== seq + 1) return broken(`seq ${rowSeq} follows seq ${seq}`);
      const columns: [string, unknown, unknown][] = [
        ['mac', row.mac, record.hash],
        ['key_id', row.key_id, record.kid],
        ['prev_mac', row.prev_mac, record.prev],
        ['ts', row.ts.getTime(), Date.parse(record.ts)],
        ['type', row.type, record.type],
        ['server', row.server, record.server ?? null],
        ['tool', row.tool, record.tool ?? null],
        ['call_id', row.call_id, record.callId ?? null],
        ['approval_id', row.approval_id, record.approvalId ?? null],
        ['decision', row.decision, record.decision ?? null],
        ['outcome', row.outcome, record.outcome ?? null],
      ];
      const differs = columns.find(([, column, signed]) => column !== signed);
      if (differs !== undefined) return broken(`the ${differs[0]} column of seq ${rowSeq} differs from its signed record: the row was edited (queries would show it wrong)`);
      if (record.kid !== kid) {
        const detail = record.detail as { from?: unknown; to?: unknown } | undefined;
        const rotation = record.type === 'audit.key-rotated' && detail?.to === record.kid && (detail.from ?? null) === (kid ?? null);
        if (!rotation && !(kid === undefined && record.seq === 1)) return broken(`record seq ${record.seq} switches from key ${kid ?? '(none)'} to ${record.kid} without an audit.key-rotated record`);
        kid = record.kid;
      }
      if (top !== undefined && top.seq === record.seq && top.hash !== record.hash) return broken(`record seq ${record.seq} is not the one checkpoint ${top.n} names: the chain was rewritten`);
      if (record.type === 'audit.checkpoint-mismatch') return broken(`the writer found at open that ${record.reason ?? 'the checkpoint did not match the database'} (recorded as seq ${record.seq})`);
      prev = record.hash;
      seq = record.seq;
      records++;
    }
    if (rows.length < PAGE) break;
  }
  if (top !== undefined && top.seq > seq) {
    return report({ writer, seq: seq + 1, reason: `records were cut off the end: checkpoint ${top.n} names seq ${top.seq} of writer ${writer}, the chain ends at seq ${seq}` });
  }
  return report();
}
