/**
 * The audit in PostgreSQL (team deployments, docs/audit.md "PostgreSQL"): the same records, keys
 * and guarantees as the files, with one keyed chain per writer (each replica) and deployment-wide
 * keyed checkpoints over every writer's head.
 *
 * - `mcpcp_audit_records`: one row per record, `(writer_id, seq)` unique. `record` is the record's
 *   canonical JSON exactly as signed (the same line the file log writes); the other columns are
 *   copies for queries and indexes, which `verifyPostgresAudit` checks against it.
 * - `mcpcp_audit_checkpoints`: a chain of its own (`n` = 1, 2, 3…, each carrying the previous MAC),
 *   each row signing every writer's head (writer → seq, MAC) at the time it was taken.
 *
 * No lock is shared between writers on an append: a writer's chain head lives in its process, its
 * appends are serialised there (group commit: the appends queued while one INSERT runs go in the
 * next one), and they go through one connection of its own, which holds a session advisory lock on
 * the writer id for the writer's lifetime (taken once at open), so a second process with the same
 * id is refused. A checkpoint takes a transaction-scoped advisory lock that only checkpoint takers
 * contend for; appends never wait on it.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import type { Redactor } from '../redact';
import { migrate, type Migration, type PgClient, type PgPool } from '../storage/postgres';
import { ChainWriter, type ChainFailure, type ChainPending, type LostRecord, type SealedRecord } from './chain-writer';
import { INSTANCE_ID_RE } from './files';
import { auditMac, type AuditKeyring } from './keys';
import type { AuditHealth } from './log';
import { csvHeader, csvRow, type AuditFilter, type AuditPage, type AuditPageRequest } from './query';
import { GENESIS_HASH, auditRecordSchema, type AuditRecord } from './record';
import type { AuditAppendAck, AuditSink } from './sink';

export const AUDIT_RECORDS_TABLE = 'mcpcp_audit_records';
export const AUDIT_CHECKPOINTS_TABLE = 'mcpcp_audit_checkpoints';
export const DB_CHECKPOINT_FORMAT = 'mcpcp-audit-db-checkpoint/1';

/** The `audit` component's schema (run at start by `migrate`; never edit a shipped one, add the next). */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit records (one keyed chain per writer) and deployment-wide keyed checkpoints',
    sql: `
CREATE TABLE ${AUDIT_RECORDS_TABLE} (
  writer_id text NOT NULL,
  seq bigint NOT NULL,
  ts timestamptz NOT NULL,
  type text NOT NULL,
  server text,
  tool text,
  call_id text,
  approval_id text,
  decision text,
  outcome text,
  key_id text NOT NULL,
  prev_mac text NOT NULL,
  mac text NOT NULL,
  record text NOT NULL,
  PRIMARY KEY (writer_id, seq)
);
CREATE INDEX ${AUDIT_RECORDS_TABLE}_ts ON ${AUDIT_RECORDS_TABLE} (ts, writer_id, seq);
CREATE TABLE ${AUDIT_CHECKPOINTS_TABLE} (
  n bigint PRIMARY KEY,
  ts timestamptz NOT NULL,
  taken_by text NOT NULL,
  key_id text NOT NULL,
  prev_mac text NOT NULL,
  mac text NOT NULL,
  checkpoint text NOT NULL
);`,
  },
];

/** Runs the audit migrations (idempotent; safe when replicas start together). */
export async function migrateAudit(pool: PgPool): Promise<void> {
  await migrate(pool, 'audit', AUDIT_MIGRATIONS);
}

/** Only checkpoint takers contend for this transaction-scoped lock ("mcpcp-ck" in ASCII). */
const CHECKPOINT_LOCK = '7882267345214595947';

/** The session advisory lock key of a writer id: 64 bits of SHA-256, as a signed bigint (text). */
export function writerLockKey(writerId: string): string {
  return createHash('sha256').update(`mcpcp-audit-writer\n${writerId}`).digest().readBigInt64BE(0).toString();
}

export interface PostgresAuditOptions {
  readonly pool: PgPool;
  /** This replica's chain (`storage.postgres.writerId`): letters, digits, `.`, `_`, `-`. */
  readonly writerId: string;
  /** Applied to every event before it is signed and written, `args` included. */
  readonly redactor: Redactor;
  /** Every replica of a deployment needs the same key ring (see `keys.ts`). */
  readonly keys: AuditKeyring;
  /** A checkpoint is taken at most this often while records arrive (ms). Default 5000. */
  readonly checkpointIntervalMs?: number;
  /** While writes fail, how often a write is tried again (ms). Default 2000. */
  readonly probeIntervalMs?: number;
  /** Upper bound of records in one INSERT. Default 500. */
  readonly maxBatch?: number;
  /** Epoch milliseconds for `ts`. Default `Date.now`. */
  readonly now?: () => number;
  /** Problems that do not stop appends (a checkpoint that could not be taken). */
  readonly log?: (message: string) => void;
}

/** One record as sealed: the row to insert. */
interface Row {
  readonly seq: number;
  readonly ts: string;
  readonly type: string;
  readonly server: string | null;
  readonly tool: string | null;
  readonly callId: string | null;
  readonly approvalId: string | null;
  readonly decision: string | null;
  readonly outcome: string | null;
  readonly kid: string;
  readonly prev: string;
  readonly mac: string;
  readonly text: string;
}

interface Pending extends ChainPending<AuditAppendAck> {
  readonly row: Row;
}

/** A writer's head in the database. */
interface DbHead {
  readonly seq: number;
  readonly mac: string;
  readonly kid: string | undefined;
}

/** The signed body of a deployment-wide checkpoint. */
export interface DbCheckpoint {
  readonly format: typeof DB_CHECKPOINT_FORMAT;
  readonly n: number;
  readonly ts: string;
  /** The writer that took it. */
  readonly by: string;
  readonly kid: string;
  /** MAC of checkpoint `n - 1` (`GENESIS_HASH` for the first). */
  readonly prev: string;
  /** Every writer's last committed record when it was taken. */
  readonly heads: Readonly<Record<string, { readonly seq: number; readonly hash: string }>>;
  readonly mac: string;
}

/**
 * One replica's audit chain in PostgreSQL. Same contract as `AuditLog` (see `AuditSink`):
 * `append` resolves only after the INSERT holding the record committed; order, redaction, keys,
 * key rotation records and the failing state work as they do for the files. A crash cannot tear a
 * record (a row is committed or absent), so there is no torn tail to repair: a restart with the
 * same writer id continues the chain from its last committed row.
 */
export class PostgresAuditLog extends ChainWriter<AuditAppendAck, Pending> implements AuditSink {
  private readonly pool: PgPool;
  private readonly maxBatch: number;
  private readonly log: ((message: string) => void) | undefined;
  private client: PgClient | undefined;
  private inserts = 0;
  /** Set at open when the last checkpoint names more of this chain than the database holds. */
  readonly openMismatch: string | undefined;

  private constructor(options: PostgresAuditOptions, client: PgClient, head: DbHead, mismatch: string | undefined) {
    super({
      instanceId: options.writerId,
      redactor: options.redactor,
      keys: options.keys,
      now: options.now ?? Date.now,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 5000,
      probeIntervalMs: options.probeIntervalMs ?? 2000,
      head: { seq: head.seq, hash: head.mac, kid: head.kid },
    });
    this.pool = options.pool;
    this.maxBatch = options.maxBatch ?? 500;
    this.log = options.log;
    this.client = client;
    this.openMismatch = mismatch;
  }

  /**
   * Runs the migrations, takes the writer's lock (refused with `AUDIT_LOCKED` while another live
   * session holds this writer id), resumes the chain from its last row, takes a checkpoint, and
   * records what the previous checkpoint names that the database no longer holds
   * (`audit.checkpoint-mismatch`) and a key change (`audit.key-rotated`).
   */
  static async open(options: PostgresAuditOptions): Promise<PostgresAuditLog> {
    if (!INSTANCE_ID_RE.test(options.writerId)) {
      throw new ControlPlaneError('AUDIT_BAD_INSTANCE', `audit writer id "${options.writerId}" must match ${INSTANCE_ID_RE} (storage.postgres.writerId)`);
    }
    if (!options.keys.keys.has(options.keys.current)) throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring has no key ${options.keys.current}`);
    let client: PgClient | undefined;
    try {
      await migrateAudit(options.pool);
      client = await options.pool.connect();
      await lockWriter(client, options.writerId);
      const head = await readHead(client, options.writerId);
      const mismatch = await checkpointMismatch(client, options.writerId, head);
      const log = new PostgresAuditLog(options, client, head, mismatch);
      client = undefined;
      try {
        await log.checkpoint();
        const opening: Promise<AuditAppendAck>[] = [];
        // The key change first: every record after it is signed with the new key.
        if (head.seq > 0 && head.kid !== options.keys.current) opening.push(log.append({ type: 'audit.key-rotated', reason: 'the key ring names another current key', detail: { from: head.kid ?? null, to: options.keys.current } }));
        if (mismatch !== undefined) opening.push(log.append({ type: 'audit.checkpoint-mismatch', reason: mismatch, detail: { found: { seq: head.seq, hash: head.mac } } }));
        await Promise.all(opening);
      } catch (err) {
        await log.close();
        throw err;
      }
      return log;
    } catch (err) {
      client?.release(true);
      if (err instanceof ControlPlaneError) throw err;
      throw new ControlPlaneError('AUDIT_OPEN_FAILED', `cannot open the PostgreSQL audit of writer ${options.writerId}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Records acknowledged, and the INSERTs (each one commit) they took. */
  get stats(): { readonly records: number; readonly writes: number } {
    return { records: this.records, writes: this.inserts };
  }

  /**
   * Takes a deployment-wide checkpoint now: every writer's committed head, signed and chained to
   * the previous checkpoint. Skipped (returns undefined) when no head moved since the last one, or
   * when another replica is taking one at this moment.
   */
  checkpoint(): Promise<DbCheckpoint | undefined> {
    const run = (this.checkpointing ?? Promise.resolve()).catch(() => undefined).then(() => takeCheckpoint(this.pool, this.keys, this.instanceId, this.now));
    this.checkpointing = run;
    this.lastCheckpointAt = this.now();
    return run.finally(() => {
      if (this.checkpointing === run) this.checkpointing = undefined;
    });
  }

  // ---- Writing --------------------------------------------------------------------------------

  protected startDrain(): void {
    if (!this.writing) {
      // Started after the current turn's other appends (a call's `call.requested` and
      // `policy.decided` come microtasks apart): they share one INSERT, one round trip, one commit.
      this.writing = true;
      setImmediate(() => void this.drain());
    }
  }

  protected pending(sealed: SealedRecord, lost: LostRecord, resolve: (ack: AuditAppendAck) => void, reject: (err: unknown) => void): Pending {
    return { row: toRow(sealed), seq: sealed.seq, hash: sealed.mac, lost, resolve, reject };
  }

  protected ack(p: Pending): AuditAppendAck {
    return { seq: p.row.seq, hash: p.row.mac };
  }

  protected takeBatch(): Pending[] {
    return this.queue.splice(0, this.maxBatch);
  }

  /** One INSERT (see `commit`); the batch is durable once it committed. */
  protected async writeBatch(batch: readonly Pending[]): Promise<void> {
    await this.commit(batch.map((p) => p.row));
    const last = batch[batch.length - 1]!.row;
    this.durableSeq = last.seq;
    this.durableHash = last.mac;
    this.durableKid = last.kid;
    this.records += batch.length;
    this.scheduleCheckpoint();
  }

  /**
   * Commits `rows`. When the writer's connection was lost (a database restart or failover, a cut
   * connection), reconnects once at once, takes the writer's lock again and reads the chain's head:
   * still the last acknowledged record, the rows go in on the new connection; already the batch's
   * last row, the commit went through before the cut. Anything else, or no connection, fails (the
   * sink is then failing and probes).
   */
  private async commit(rows: readonly Row[]): Promise<void> {
    try {
      await this.insert(rows);
      return;
    } catch (err) {
      if (!connectionLost(err)) throw err;
      let head: DbHead;
      try {
        head = await this.reconnect();
      } catch {
        throw err;
      }
      const last = rows[rows.length - 1]!;
      if (head.seq === last.seq && head.mac === last.mac) {
        this.inserts++;
        return;
      }
      if (head.seq !== this.durableSeq || head.mac !== this.durableHash) {
        throw new ControlPlaneError('AUDIT_WRITE_FAILED', `after reconnecting, writer ${this.instanceId}'s chain in the database ends at seq ${head.seq}, neither the last acknowledged record (${this.durableSeq}) nor this batch's last (${last.seq})`);
      }
      await this.insert(rows);
    }
  }

  /** A fresh connection holding the writer's lock, and the chain's head in the database. */
  private async reconnect(): Promise<DbHead> {
    // The pool may hand out idle connections the outage killed too: each one found dead is dropped
    // and the next tried, until the pool must open a fresh one.
    const attempts = (this.pool.options.max ?? 10) + 1;
    for (let attempt = 1; ; attempt++) {
      const client = this.client ?? (await this.pool.connect());
      try {
        if (this.client === undefined) await lockWriter(client, this.instanceId);
        const head = await readHead(client, this.instanceId);
        this.client = client;
        return head;
      } catch (err) {
        this.client = undefined;
        client.release(true);
        if (attempt >= attempts || !connectionLost(err)) throw err;
      }
    }
  }

  /** One INSERT (one commit) of `rows`, through the writer's own connection. */
  private async insert(rows: readonly Row[]): Promise<void> {
    const client = this.client;
    if (client === undefined) throw new Error('the writer has no database connection');
    const col = <K extends keyof Row>(k: K): Row[K][] => rows.map((r) => r[k]);
    try {
      // A named statement: parsed and planned once per connection, not per append.
      await client.query({
        name: 'mcpcp-audit-append',
        text: `INSERT INTO ${AUDIT_RECORDS_TABLE} (writer_id, seq, ts, type, server, tool, call_id, approval_id, decision, outcome, key_id, prev_mac, mac, record)
         SELECT $1::text, * FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])`,
        values: [this.instanceId, col('seq'), col('ts'), col('type'), col('server'), col('tool'), col('callId'), col('approvalId'), col('decision'), col('outcome'), col('kid'), col('prev'), col('mac'), col('text')],
      });
    } catch (err) {
      // The connection (and with it the writer's lock) may be gone: drop it; recovery starts afresh.
      this.client = undefined;
      client.release(true);
      throw err;
    }
    this.inserts++;
  }

  protected writeCheckpoint(): Promise<DbCheckpoint | undefined> {
    return this.checkpoint();
  }

  protected checkpointFailed(err: unknown, when: 'scheduled' | 'closing'): void {
    if (when === 'closing') this.log?.(`audit: the closing checkpoint could not be taken: ${errorMessage(err)}`);
    else this.log?.(`audit: a checkpoint could not be taken (appends go on; the next one covers them): ${errorMessage(err)}`);
  }

  /** Releases the writer's lock and connection (after the last checkpoint). */
  protected async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [writerLockKey(this.instanceId)]);
        client.release();
      } catch {
        client.release(true);
      }
    }
  }

  // ---- Failure and recovery -------------------------------------------------------------------

  protected unavailable(): ControlPlaneError {
    if (this.state === 'failing') {
      return new ControlPlaneError('AUDIT_WRITE_FAILED', `the PostgreSQL audit of writer ${this.instanceId} cannot be written: ${this.failure?.lastError ?? 'unknown error'}`);
    }
    return new ControlPlaneError('AUDIT_CLOSED', `the PostgreSQL audit of writer ${this.instanceId} is closed`);
  }

  /** The key goes back too, to the key of the last committed row (what `rotateKey` names as `from`). */
  protected override rewind(): void {
    super.rewind();
    this.kid = this.durableKid;
  }

  protected override afterResume(): void {
    this.scheduleCheckpoint();
  }

  /**
   * Reconnects, takes the writer's lock again, resumes from the chain's head in the database (an
   * INSERT whose commit was cut off may have committed: the database says), and writes the
   * `audit.write-resumed` record of the gap.
   */
  protected async resume(f: ChainFailure): Promise<Extract<AuditHealth, { state: 'ok' }>['resumed']> {
    const head = await this.reconnect();
    this.seq = this.durableSeq = head.seq;
    this.lastHash = this.durableHash = head.mac;
    this.kid = this.durableKid = head.kid;
    const until = this.now();
    const row = toRow(
      this.seal(
        this.gapEvent(f, until, `the audit could not be written to PostgreSQL for ${Math.round((until - f.since) / 1000)} s (${f.firstError}); ${f.refused} calls were refused and ${f.lostCount} records were not acknowledged meanwhile`),
      ),
    );
    await this.insert([row]);
    this.durableSeq = row.seq;
    this.durableHash = row.mac;
    this.durableKid = row.kid;
    this.records++;
    return { since: f.since, until, refusedCount: f.refused, lostRecords: f.lostCount, seq: row.seq };
  }
}

/** The connection broke (no SQLSTATE, a socket error, class 08 or an admin shutdown 57P0x), as opposed to the statement failing. */
function connectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code !== 'string' || /^(08|57P0)/.test(code) || /^E[A-Z]+$/.test(code);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The row of a sealed record: the record's text, and copies of its fields for queries and indexes. */
function toRow(sealed: SealedRecord): Row {
  const r = sealed.redacted;
  return {
    seq: sealed.seq,
    ts: sealed.ts,
    type: String(r.type),
    server: str(r.server),
    tool: str(r.tool),
    callId: str(r.callId),
    approvalId: str(r.approvalId),
    decision: str(r.decision),
    outcome: str(r.outcome),
    kid: sealed.kid,
    prev: sealed.prev,
    mac: sealed.mac,
    text: sealed.text,
  };
}

/** Takes the writer id's session lock on `client`, or fails with `AUDIT_LOCKED` naming the holder. */
async function lockWriter(client: PgClient, writerId: string): Promise<void> {
  // The writer keeps this connection checked out for its lifetime: an error while it is idle (a
  // database restart) is emitted on it, and unhandled it would end the process. The next INSERT
  // fails and reconnects (see `commit`).
  if (client.listenerCount('error') === 0) client.on('error', () => undefined);
  const key = writerLockKey(writerId);
  await client.query(`SELECT set_config('application_name', $1, false)`, [`mcpcp-audit:${writerId}`.slice(0, 63)]);
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
  if (rows[0]?.locked === true) return;
  const holder = await client
    .query<{ pid: number; addr: string | null; app: string | null; since: Date | null }>(
      `SELECT a.pid, host(a.client_addr) AS addr, a.application_name AS app, a.backend_start AS since
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
      [key],
    )
    .then((r) => r.rows[0])
    .catch(() => undefined);
  const who = holder !== undefined ? ` (database session ${holder.pid}${holder.addr ? ` from ${holder.addr}` : ''}${holder.since ? `, connected since ${holder.since.toISOString()}` : ''})` : '';
  throw new ControlPlaneError(
    'AUDIT_LOCKED',
    `audit writer "${writerId}" is already being written by another running replica${who}: each replica needs its own storage.postgres.writerId (a restart of the same replica may reuse its id once the old process is gone)`,
    { details: { writerId } },
  );
}

async function readHead(client: PgClient, writerId: string): Promise<DbHead> {
  const { rows } = await client.query<{ seq: string; mac: string; key_id: string }>(`SELECT seq, mac, key_id FROM ${AUDIT_RECORDS_TABLE} WHERE writer_id = $1 ORDER BY seq DESC LIMIT 1`, [writerId]);
  const row = rows[0];
  return row === undefined ? { seq: 0, mac: GENESIS_HASH, kid: undefined } : { seq: Number(row.seq), mac: row.mac, kid: row.key_id };
}

/** Why the newest checkpoint and this writer's chain in the database disagree, if they do (not verified here: `verify` does). */
async function checkpointMismatch(client: PgClient, writerId: string, head: DbHead): Promise<string | undefined> {
  const { rows } = await client.query<{ n: string; checkpoint: string }>(`SELECT n, checkpoint FROM ${AUDIT_CHECKPOINTS_TABLE} ORDER BY n DESC LIMIT 1`);
  const row = rows[0];
  if (row === undefined) return undefined;
  let named: { seq?: unknown; hash?: unknown } | undefined;
  try {
    named = (JSON.parse(row.checkpoint) as { heads?: Record<string, { seq?: unknown; hash?: unknown }> }).heads?.[writerId];
  } catch {
    return `checkpoint ${row.n} is not valid JSON`;
  }
  if (named === undefined || typeof named.seq !== 'number') return undefined;
  if (named.seq > head.seq) return `records were cut off: checkpoint ${row.n} names seq ${named.seq} of writer ${writerId}, the database ends at seq ${head.seq}`;
  if (named.seq === head.seq && named.hash !== head.mac) return `the last record of writer ${writerId} (seq ${head.seq}) is not the one checkpoint ${row.n} names`;
  return undefined;
}

/** Every writer's committed head (one index probe per writer). */
export async function readAllHeads(client: PgPool | PgClient): Promise<Map<string, { seq: number; hash: string }>> {
  const { rows } = await client.query<{ writer_id: string; seq: string; mac: string }>(
    `WITH RECURSIVE w AS (
       (SELECT writer_id FROM ${AUDIT_RECORDS_TABLE} ORDER BY writer_id LIMIT 1)
       UNION ALL
       SELECT (SELECT r.writer_id FROM ${AUDIT_RECORDS_TABLE} r WHERE r.writer_id > w.writer_id ORDER BY r.writer_id LIMIT 1) FROM w WHERE w.writer_id IS NOT NULL
     )
     SELECT w.writer_id, h.seq, h.mac FROM w
     CROSS JOIN LATERAL (SELECT seq, mac FROM ${AUDIT_RECORDS_TABLE} r WHERE r.writer_id = w.writer_id ORDER BY seq DESC LIMIT 1) h
     WHERE w.writer_id IS NOT NULL`,
  );
  return new Map(rows.map((r) => [r.writer_id, { seq: Number(r.seq), hash: r.mac }]));
}

/** Signs a checkpoint body with the key ring's current key. */
export function signDbCheckpoint(keys: AuditKeyring, body: Omit<DbCheckpoint, 'format' | 'kid' | 'mac'>): DbCheckpoint {
  const key = keys.keys.get(keys.current);
  if (key === undefined) throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring has no key ${keys.current}`);
  const unsigned = { format: DB_CHECKPOINT_FORMAT as typeof DB_CHECKPOINT_FORMAT, ...body, kid: keys.current };
  return { ...unsigned, mac: auditMac(key, 'checkpoint', canonicalJson(unsigned)) };
}

/**
 * Takes a deployment-wide checkpoint (see `PostgresAuditLog.checkpoint`). In one transaction: the
 * checkpoint takers' lock (try-lock: a replica taking one now makes this one unnecessary), the
 * previous checkpoint, every writer's head, the signed row. Appends never wait on it.
 */
export async function takeCheckpoint(pool: PgPool, keys: AuditKeyring, by: string, now: () => number = Date.now): Promise<DbCheckpoint | undefined> {
  const client = await pool.connect();
  const ignore = (): void => undefined;
  client.on('error', ignore);
  let broken = false;
  try {
    await client.query('BEGIN');
    const { rows: locked } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${CHECKPOINT_LOCK}::bigint) AS ok`);
    if (locked[0]?.ok !== true) {
      await client.query('ROLLBACK');
      return undefined;
    }
    const { rows } = await client.query<{ n: string; mac: string; checkpoint: string }>(`SELECT n, mac, checkpoint FROM ${AUDIT_CHECKPOINTS_TABLE} ORDER BY n DESC LIMIT 1`);
    const last = rows[0];
    const heads = await readAllHeads(client);
    const headsObject = Object.fromEntries([...heads].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    if (last !== undefined) {
      const previous = (JSON.parse(last.checkpoint) as { heads?: unknown }).heads;
      if (canonicalJson(previous as never) === canonicalJson(headsObject)) {
        await client.query('ROLLBACK');
        return undefined;
      }
    }
    const n = last === undefined ? 1 : Number(last.n) + 1;
    const ts = new Date(now()).toISOString();
    const cp = signDbCheckpoint(keys, { n, ts, by, prev: last?.mac ?? GENESIS_HASH, heads: headsObject });
    await client.query(`INSERT INTO ${AUDIT_CHECKPOINTS_TABLE} (n, ts, taken_by, key_id, prev_mac, mac, checkpoint) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      n,
      ts,
      by,
      cp.kid,
      cp.prev,
      cp.mac,
      canonicalJson(cp as never),
    ]);
    await client.query('COMMIT');
    return cp;
  } catch (err) {
    broken = connectionLost(err);
    if (!broken) await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', ignore);
    // A connection that broke is not handed to the next user.
    client.release(broken ? true : undefined);
  }
}

// ---- Queries ------------------------------------------------------------------------------------

function toIso(value: Date | number | string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(ms)) throw new ControlPlaneError('AUDIT_BAD_FILTER', `audit filter "${name}" is not a time: ${String(value)}`);
  return new Date(ms).toISOString();
}

const FILTER_COLUMNS = { type: 'type', server: 'server', tool: 'tool', decision: 'decision', outcome: 'outcome', instance: 'writer_id', callId: 'call_id', approvalId: 'approval_id' } as const;

function cursorKey(cursor: string, order: 'asc' | 'desc'): [number, string, number] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 4 && typeof value[0] === 'number' && typeof value[1] === 'string' && typeof value[2] === 'number' && value[3] === order) return [value[0], value[1], value[2]];
  } catch {
    // Reported below.
  }
  throw new ControlPlaneError('AUDIT_BAD_CURSOR', 'invalid audit cursor (it must come from a query with the same order)');
}

/**
 * Records of every writer that match `filter`, one page at a time, ordered by time, then writer,
 * then seq: the same filter, order and cursors as `queryAudit` over the files. Rows whose record
 * does not parse are skipped (`verifyPostgresAudit` reports them).
 */
export async function queryPostgresAudit(pool: PgPool, filter: AuditFilter = {}, page: AuditPageRequest = {}): Promise<AuditPage> {
  const { records, nextCursor } = await queryRows(pool, filter, page);
  return { records: records.map((r) => r.record), ...(nextCursor !== undefined ? { nextCursor } : {}) };
}

async function queryRows(pool: PgPool, filter: AuditFilter, page: AuditPageRequest): Promise<{ records: { record: AuditRecord; text: string }[]; nextCursor?: string }> {
  const limit = Math.max(1, Math.min(page.limit ?? 100, 10_000));
  const order = page.order ?? 'asc';
  const where: string[] = [];
  const params: unknown[] = [];
  const from = toIso(filter.from, 'from');
  const to = toIso(filter.to, 'to');
  if (from !== undefined) where.push(`ts >= $${params.push(from)}::timestamptz`);
  if (to !== undefined) where.push(`ts < $${params.push(to)}::timestamptz`);
  for (const [field, column] of Object.entries(FILTER_COLUMNS) as [keyof typeof FILTER_COLUMNS, string][]) {
    const wanted = filter[field];
    if (wanted !== undefined) where.push(`${column} = ANY($${params.push(typeof wanted === 'string' ? [wanted] : [...wanted])}::text[])`);
  }
  if (page.cursor !== undefined) {
    const [ms, writer, seq] = cursorKey(page.cursor, order);
    where.push(`(ts, writer_id, seq) ${order === 'asc' ? '>' : '<'} ($${params.push(new Date(ms).toISOString())}::timestamptz, $${params.push(writer)}::text, $${params.push(seq)}::bigint)`);
  }
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  const { rows } = await pool.query<{ record: string; ts: Date; writer_id: string; seq: string }>(
    `SELECT record, ts, writer_id, seq FROM ${AUDIT_RECORDS_TABLE} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts ${dir}, writer_id ${dir}, seq ${dir} LIMIT ${limit + 1}`,
    params,
  );
  const page1 = rows.slice(0, limit);
  const records = page1.flatMap((r) => {
    const record = parseRecord(r.record);
    return record !== undefined ? [{ record, text: r.record }] : [];
  });
  // The cursor is the last row's key (its columns), so a row whose record does not parse cannot stall paging.
  const last = page1[page1.length - 1];
  return rows.length > limit && last !== undefined
    ? { records, nextCursor: Buffer.from(JSON.stringify([last.ts.getTime(), last.writer_id, Number(last.seq), order])).toString('base64url') }
    : { records };
}

function parseRecord(text: string): AuditRecord | undefined {
  try {
    const parsed = auditRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The matching records of every writer as JSONL (each line the stored record, so MACs still check)
 * or CSV, oldest first, read a page at a time.
 */
export async function* exportPostgresAudit(pool: PgPool, format: 'jsonl' | 'csv', filter: AuditFilter = {}): AsyncGenerator<string> {
  if (format === 'csv') yield csvHeader();
  let cursor: string | undefined;
  do {
    const page = await queryRows(pool, filter, { limit: 1000, order: 'asc', ...(cursor !== undefined ? { cursor } : {}) });
    for (const r of page.records) yield format === 'jsonl' ? `${r.text}\n` : csvRow(r.record);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}
