/**
 * Approval state shared by replicas in PostgreSQL (docs/team.md, "Approvals across replicas").
 *
 * - `mcpcp_approvals`: one row per approval (pending, then decided), held by the replica whose call
 *   waits for it (`holder`). It holds what the approvers see, never the arguments that run (those
 *   stay in the holder's memory): the display arguments with secret-looking values masked, the
 *   preview, the digest.
 * - `mcpcp_approval_decisions`: one row per human decision (approve or reject) with the deciding
 *   principal; a unique index makes the same principal's second approval impossible even for two
 *   replicas racing.
 * - `mcpcp_approval_replicas`: the live replicas (a heartbeat every few seconds per replica, not
 *   per call), so an approval whose replica died is ended as "caller gone" by another one.
 *
 * Every change is conditional (`WHERE status = 'pending'`, `WHERE consumed_at IS NULL`), made in
 * one transaction with the row locked, and followed by `NOTIFY mcpcp_approvals, '<id>'`. Each
 * replica LISTENs on its own connection and, on a notification, re-reads the row (the payload is
 * only a hint); after that connection drops it reconnects and re-reads every approval it holds, so
 * no decision is missed.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { JsonValue } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import { Emitter, type Event } from '../events';
import { migrate, type Migration, type PgPool } from '../storage/postgres';
import type { Principal } from '../team/principal';
import { judgeDecision, type ApprovalVote } from './rules';
import type { SharedApprovalStorage, SharedDecisionInput } from './shared';
import { digestMismatch, notPending, type Approval, type ApprovalDecision, type Decider } from './store';

export const APPROVALS_CHANNEL = 'mcpcp_approvals';

export const APPROVAL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'approvals, decisions and replicas',
    sql: `
CREATE TABLE mcpcp_approvals (
  id text PRIMARY KEY,
  holder text NOT NULL,
  writer_id text NOT NULL,
  kind text NOT NULL,
  server text NOT NULL,
  tool text NOT NULL,
  digest text NOT NULL,
  display_args jsonb NOT NULL,
  secret_paths jsonb,
  effect jsonb,
  preview jsonb NOT NULL,
  client jsonb,
  rule jsonb,
  reason text NOT NULL,
  call_id text,
  requester jsonb NOT NULL,
  requester_id text NOT NULL,
  approvers_required integer NOT NULL CHECK (approvers_required BETWEEN 1 AND 5),
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  decision jsonb,
  decided_at bigint,
  usable_until bigint,
  consumed_at bigint
);
CREATE INDEX mcpcp_approvals_pending ON mcpcp_approvals (created_at) WHERE status = 'pending';
CREATE INDEX mcpcp_approvals_decided ON mcpcp_approvals (decided_at DESC) WHERE status <> 'pending';
CREATE INDEX mcpcp_approvals_holder ON mcpcp_approvals (holder) WHERE status = 'pending';
CREATE TABLE mcpcp_approval_decisions (
  seq bigserial PRIMARY KEY,
  approval_id text NOT NULL REFERENCES mcpcp_approvals (id) ON DELETE CASCADE,
  principal_id text NOT NULL,
  principal jsonb NOT NULL,
  decided_by jsonb NOT NULL,
  approve boolean NOT NULL,
  self_approved boolean NOT NULL DEFAULT false,
  at bigint NOT NULL
);
CREATE UNIQUE INDEX mcpcp_approval_decisions_one_approval_each ON mcpcp_approval_decisions (approval_id, principal_id) WHERE approve;
CREATE TABLE mcpcp_approval_replicas (
  holder text PRIMARY KEY,
  writer_id text NOT NULL,
  pid integer NOT NULL,
  started_at bigint NOT NULL,
  seen_at bigint NOT NULL
);
`,
  },
];

/** Milliseconds since the epoch on the database's clock (one clock for every replica's expiry). */
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export interface PostgresApprovalStorageOptions {
  /** The replica's name (storage.postgres.writerId). */
  readonly writerId: string;
  /** The connection URL, for the LISTEN connection (the pool serves the rest). Never logged. */
  readonly url: string;
  /** A replica not seen for this long is gone: its pending approvals end as "caller gone". Default 15 s. */
  readonly orphanAfterMs?: number;
  /** How often this replica says it is alive and ends approvals of gone replicas. Default 3 s. */
  readonly heartbeatMs?: number;
  /** First wait before reconnecting the LISTEN connection (doubles up to 2 s). Default 50 ms. */
  readonly reconnectMs?: number;
  readonly log?: (message: string) => void;
}

interface ApprovalRow {
  id: string;
  holder: string;
  writer_id: string;
  kind: Approval['kind'];
  server: string;
  tool: string;
  digest: string;
  display_args: Record<string, JsonValue>;
  secret_paths: string[] | null;
  effect: Record<string, JsonValue> | null;
  preview: Approval['preview'];
  client: Approval['client'] | null;
  rule: Approval['rule'] | null;
  reason: string;
  call_id: string | null;
  requester: Principal;
  approvers_required: number;
  status: Approval['status'];
  created_at: string;
  expires_at: string;
  decision: ApprovalDecision | null;
  consumed_at: string | null;
}

interface DecisionRow {
  approval_id: string;
  principal: Principal;
  decided_by: ApprovalVote['by'];
  self_approved: boolean;
  at: string;
}

/** Shared approval state in PostgreSQL; see the module comment. Open with `PostgresApprovalStorage.open`. */
export class PostgresApprovalStorage implements SharedApprovalStorage {
  /** This process's identity as a holder of calls: writer id, pid and a random part (a restarted replica is another holder). */
  readonly holder: string;
  private readonly changes = new Emitter<Approval>();
  readonly onDidChange: Event<Approval> = this.changes.event;
  private readonly orphans = new Emitter<Approval>();
  /** This replica ended approvals whose replica is gone (the caller that waited for them is gone with it). */
  readonly onDidEndOrphans: Event<Approval> = this.orphans.event;
  private readonly reconnected = new Emitter<void>();
  /** The LISTEN connection is back after a drop (the approvals held here were re-read). */
  readonly onDidReconnect: Event<void> = this.reconnected.event;
  /** Approvals this replica holds that are not settled yet: re-read after a reconnect. */
  private readonly held = new Set<string>();
  private listener: pg.Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly orphanAfterMs: number;
  private readonly heartbeatMs: number;
  private readonly reconnectMs: number;

  private constructor(
    private readonly pool: PgPool,
    private readonly options: PostgresApprovalStorageOptions,
  ) {
    this.holder = `${options.writerId}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.orphanAfterMs = options.orphanAfterMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? 3_000;
    this.reconnectMs = options.reconnectMs ?? 50;
  }

  /** Runs the migrations, registers this replica, and starts listening. */
  static async open(pool: PgPool, options: PostgresApprovalStorageOptions): Promise<PostgresApprovalStorage> {
    await migrate(pool, 'approvals', APPROVAL_MIGRATIONS);
    const storage = new PostgresApprovalStorage(pool, options);
    await pool.query(`INSERT INTO mcpcp_approval_replicas (holder, writer_id, pid, started_at, seen_at) VALUES ($1, $2, $3, ${NOW_MS}, ${NOW_MS})`, [storage.holder, options.writerId, process.pid]);
    await storage.listen();
    storage.heartbeat = setInterval(() => void storage.beat(), storage.heartbeatMs);
    storage.heartbeat.unref();
    return storage;
  }

  async insert(approval: Approval): Promise<void> {
    const a = approval;
    await this.pool.query(
      `WITH inserted AS (
         INSERT INTO mcpcp_approvals (id, holder, writer_id, kind, server, tool, digest, display_args, secret_paths, effect, preview, client, rule, reason, call_id, requester, requester_id, approvers_required, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'pending', $19, $20) RETURNING id)
       SELECT pg_notify('${APPROVALS_CHANNEL}', id) FROM inserted`,
      [
        a.id,
        this.holder,
        this.options.writerId,
        a.kind,
        a.server,
        a.tool,
        a.digest,
        JSON.stringify(maskSecrets(a.displayArgs, a.secretPaths ?? [])),
        a.secretPaths ? JSON.stringify(a.secretPaths) : null,
        a.effect ? JSON.stringify(a.effect) : null,
        JSON.stringify(a.preview),
        a.client ? JSON.stringify(a.client) : null,
        a.rule ? JSON.stringify(a.rule) : null,
        a.reason,
        a.callId ?? null,
        JSON.stringify(a.requester),
        a.requester.id,
        a.approversRequired,
        a.createdAt,
        a.expiresAt,
      ],
    );
    this.held.add(a.id);
  }

  async decide(id: string, input: SharedDecisionInput): Promise<Approval> {
    const client = await this.checkout();
    let committed = false;
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<ApprovalRow & { now: string }>(`SELECT *, ${NOW_MS} AS now FROM mcpcp_approvals WHERE id = $1 FOR UPDATE`, [id]);
      const row = rows[0];
      if (row === undefined) throw new ControlPlaneError('APPROVAL_NOT_FOUND', `no approval ${id}`);
      const now = Number(row.now);
      if (row.status === 'pending' && now >= Number(row.expires_at)) {
        // Too late: it expires now, here, and the decision is refused.
        await this.settleRow(client, id, 'expired', 'expired: nobody approved it in time', { kind: 'system' }, now, 0);
        await client.query('COMMIT');
        committed = true;
        throw notPending((await this.get(id)) ?? this.toApproval(row, []));
      }
      const votes = await this.votesOf(client, [id]);
      const current = this.toApproval(row, votes.get(id) ?? []);
      if (current.status !== 'pending') throw notPending(current);
      if (input.digest !== undefined && input.digest !== current.digest) throw digestMismatch(id, current.digest);
      const judged = judgeDecision(current, { approve: input.approve, principal: input.principal, by: input.by, at: now }, { allowSelfApproval: input.allowSelfApproval });
      const self = input.principal.id === current.requester.id;
      await client.query(
        `INSERT INTO mcpcp_approval_decisions (approval_id, principal_id, principal, decided_by, approve, self_approved, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, input.principal.id, JSON.stringify(input.principal), JSON.stringify(input.by), input.approve, self, now],
      );
      if (judged.kind === 'settle') {
        const reason = input.reason ?? (input.approve ? 'approved' : 'rejected by the approver');
        const decision: ApprovalDecision = {
          approved: judged.status === 'approved',
          reason,
          by: input.by,
          principal: input.principal,
          ...(judged.selfApproved ? { selfApproved: true as const } : {}),
          at: now,
          usableUntil: now + input.decisionTtlMs,
        };
        await client.query(`UPDATE mcpcp_approvals SET status = $2, decision = $3, decided_at = $4, usable_until = $5 WHERE id = $1 AND status = 'pending'`, [id, judged.status, JSON.stringify(decision), now, decision.usableUntil]);
      }
      await client.query(`SELECT pg_notify('${APPROVALS_CHANNEL}', $1)`, [id]);
      await client.query('COMMIT');
    } catch (err) {
      broken = err instanceof ControlPlaneError ? undefined : err;
      if (!committed) await client.query('ROLLBACK').catch(() => undefined);
      if (err instanceof ControlPlaneError) throw err;
      if ((err as { code?: string }).code === '23505') {
        // Two replicas raced the same principal's second approval: the unique index refused it.
        throw new ControlPlaneError('APPROVAL_ALREADY_APPROVED', `${input.principal.name || input.principal.id} already approved ${id}; another approver must approve it`);
      }
      throw new ControlPlaneError('APPROVAL_SHARED_FAILED', `cannot record the decision in the shared approval state: ${errorMessage(err)}`, { cause: err });
    } finally {
      this.checkin(client, broken);
    }
    const after = await this.get(id);
    if (after === undefined) throw new ControlPlaneError('APPROVAL_NOT_FOUND', `no approval ${id}`);
    return after;
  }

  async settleBySystem(id: string, status: 'rejected' | 'expired', reason: string, by: Decider): Promise<Approval | undefined> {
    const client = await this.checkout();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ now: string }>(`SELECT ${NOW_MS} AS now`);
      await this.settleRow(client, id, status, reason, by, Number(rows[0]!.now), 0);
      await client.query('COMMIT');
    } catch (err) {
      broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      this.checkin(client, broken);
    }
    return this.get(id);
  }

  async consume(id: string, digest: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH spent AS (
         UPDATE mcpcp_approvals SET consumed_at = ${NOW_MS}
         WHERE id = $1 AND digest = $2 AND status = 'approved' AND consumed_at IS NULL AND usable_until > ${NOW_MS}
         RETURNING id)
       SELECT id, pg_notify('${APPROVALS_CHANNEL}', id) FROM spent`,
      [id, digest],
    );
    this.held.delete(id);
    return rows.length === 1;
  }

  async get(id: string): Promise<Approval | undefined> {
    return (await this.select('a.id = $1', [id]))[0];
  }

  async listPending(): Promise<Approval[]> {
    return this.select(`a.status = 'pending' ORDER BY a.created_at LIMIT 1000`, []);
  }

  async history(limit: number): Promise<Approval[]> {
    return this.select(`a.status <> 'pending' ORDER BY a.decided_at DESC LIMIT $1`, [limit]);
  }

  /** Approvals with their approvals-so-far, in one round trip (the wake-up path reads this way). */
  private async select(where: string, params: unknown[]): Promise<Array<Approval & { readonly holder: string }>> {
    const { rows } = await this.read<ApprovalRow & { votes: Array<{ principal: Principal; by: ApprovalVote['by']; at: string | number; self: boolean }> }>(
      `SELECT a.*, COALESCE((SELECT json_agg(json_build_object('principal', d.principal, 'by', d.decided_by, 'at', d.at, 'self', d.self_approved) ORDER BY d.seq)
                              FROM mcpcp_approval_decisions d WHERE d.approval_id = a.id AND d.approve), '[]'::json) AS votes
       FROM mcpcp_approvals a WHERE ${where}`,
      params,
    );
    return rows.map((r) =>
      this.toApproval(
        r,
        r.votes.map((v) => Object.freeze({ principal: v.principal, by: v.by, at: Number(v.at), ...(v.self ? { selfApproved: true as const } : {}) })),
      ),
    );
  }

  /** Stops listening and the heartbeat and unregisters this replica. The pool stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.query('DELETE FROM mcpcp_approval_replicas WHERE holder = $1', [this.holder]).catch(() => undefined);
    this.changes.dispose();
    this.orphans.dispose();
    this.reconnected.dispose();
  }

  /** The backend pid of the LISTEN connection (tests terminate it to prove a reconnect misses nothing). */
  async listenerPid(): Promise<number | undefined> {
    const listener = this.listener;
    if (listener === undefined) return undefined;
    const { rows } = await listener.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return rows[0]?.pid;
  }

  // ---- internals -------------------------------------------------------------------------------

  /** A read-only query, repeated once when the pooled connection it used was dropped by the server (a restart): a read is safe to repeat. */
  private async read<R extends pg.QueryResultRow>(text: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, params);
    } catch (err) {
      if (!connectionLost(err)) throw err;
      return await this.pool.query<R>(text, params);
    }
  }

  /**
   * A pooled connection for a transaction. While checked out, a connection the server drops
   * (restart, terminated backend) emits `error` on the client: without a listener that would crash
   * the process, so it is caught here and the query in flight fails instead.
   */
  private async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    client.on('error', ignoreClientError);
    return client;
  }

  /** Back to the pool, or destroyed when it failed (a broken connection is never reused). */
  private checkin(client: pg.PoolClient, failure: unknown): void {
    client.off('error', ignoreClientError);
    client.release(failure instanceof Error ? failure : undefined);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: `mcpcp-approvals-${this.options.writerId}`, keepAlive: true, connectionTimeoutMillis: 10_000 });
    let dropped = false;
    const drop = (err?: unknown): void => {
      if (dropped) return;
      dropped = true;
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.options.log?.(`approvals: the LISTEN connection to PostgreSQL dropped${err ? ` (${redacted(errorMessage(err), this.options.url)})` : ''}; reconnecting`);
      this.scheduleReconnect(this.reconnectMs);
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (message) => {
      if (message.channel !== APPROVALS_CHANNEL || !message.payload) return;
      void this.reread([message.payload]);
    });
    await client.connect();
    await client.query(`LISTEN ${APPROVALS_CHANNEL}`);
    this.listener = client;
  }

  private scheduleReconnect(delayMs: number): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      void (async () => {
        if (this.closed) return;
        try {
          await this.listen();
        } catch (err) {
          this.options.log?.(`approvals: cannot reconnect the LISTEN connection yet (${redacted(errorMessage(err), this.options.url)})`);
          this.scheduleReconnect(Math.min(2_000, delayMs * 2));
          return;
        }
        // Notifications sent while the connection was down are lost: re-read what this replica holds.
        await this.reread([...this.held]);
        this.options.log?.('approvals: the LISTEN connection is back; the approvals held here were re-read');
        this.reconnected.fire();
      })();
    }, delayMs);
  }

  /** Re-reads approvals from the table (never trusting a notification's payload) and reports them. */
  private async reread(ids: readonly string[]): Promise<void> {
    if (ids.length === 0 || this.closed) return;
    let approvals: Array<Approval & { readonly holder: string }>;
    try {
      approvals = await this.select('a.id = ANY($1)', [ids]);
    } catch (err) {
      this.options.log?.(`approvals: cannot re-read ${ids.length} approval(s): ${redacted(errorMessage(err), this.options.url)}`);
      return;
    }
    for (const a of approvals) {
      // Settled for good (rejected, expired, or approved and spent): nothing more to re-read after a reconnect.
      if (a.status !== 'pending' && (a.status !== 'approved' || a.consumedAt !== undefined)) this.held.delete(a.id);
      if (!this.closed) this.changes.fire(a);
    }
  }

  /** Heartbeat of this replica, and the end of approvals whose replica is gone or that expired unattended. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      await this.pool.query(
        `INSERT INTO mcpcp_approval_replicas (holder, writer_id, pid, started_at, seen_at) VALUES ($1, $2, $3, ${NOW_MS}, ${NOW_MS})
         ON CONFLICT (holder) DO UPDATE SET seen_at = EXCLUDED.seen_at`,
        [this.holder, this.options.writerId, process.pid],
      );
      // Others are judged only once this replica has itself been heard from for a whole timeout
      // (since it started, or since its last failed heartbeat): after a database outage every
      // replica was silent, and the first one back would otherwise take the others, which were
      // merely waiting for the database too, for gone. Within that window each live replica beats.
      const now = Date.now();
      this.beatingSince ??= now;
      if (now - this.beatingSince < this.orphanAfterMs) return;
      const gone = await this.pool.query<{ id: string }>(
        `WITH now AS (SELECT ${NOW_MS} AS ms),
         swept AS (
           UPDATE mcpcp_approvals a SET
             status = CASE WHEN a.expires_at <= now.ms THEN 'expired' ELSE 'rejected' END,
             decided_at = now.ms,
             usable_until = now.ms,
             decision = jsonb_build_object(
               'approved', false,
               'reason', CASE WHEN a.expires_at <= now.ms THEN 'expired: nobody approved it in time'
                              ELSE 'the replica holding the call (' || a.writer_id || ') is gone: the caller cannot receive a decision, so it was cancelled and nothing ran' END,
               'by', jsonb_build_object('kind', 'system', 'name', CASE WHEN a.expires_at <= now.ms THEN 'expiry' ELSE 'caller-gone' END),
               'at', now.ms, 'usableUntil', now.ms)
           FROM now
           WHERE a.status = 'pending' AND a.holder <> $1
             AND (a.expires_at + $2 <= now.ms
                  OR NOT EXISTS (SELECT 1 FROM mcpcp_approval_replicas r WHERE r.holder = a.holder AND r.seen_at > now.ms - $2))
           RETURNING a.id)
         SELECT id, pg_notify('${APPROVALS_CHANNEL}', id) FROM swept`,
        [this.holder, this.orphanAfterMs],
      );
      await this.pool.query(`DELETE FROM mcpcp_approval_replicas WHERE seen_at < ${NOW_MS} - 86400000`);
      for (const { id } of gone.rows) {
        const a = await this.get(id);
        if (a !== undefined && !this.closed) this.orphans.fire(a);
      }
    } catch (err) {
      this.beatingSince = undefined;
      this.options.log?.(`approvals: heartbeat failed: ${redacted(errorMessage(err), this.options.url)}`);
    }
  }

  /** Local time of this replica's first heartbeat after it started or after one failed (see `beat`). */
  private beatingSince: number | undefined;

  private async settleRow(client: pg.PoolClient, id: string, status: 'rejected' | 'expired', reason: string, by: Decider, now: number, ttlMs: number): Promise<void> {
    const decision: ApprovalDecision = { approved: false, reason, by, at: now, usableUntil: now + ttlMs };
    const { rowCount } = await client.query(`UPDATE mcpcp_approvals SET status = $2, decision = $3, decided_at = $4, usable_until = $5 WHERE id = $1 AND status = 'pending'`, [
      id,
      status,
      JSON.stringify(decision),
      now,
      decision.usableUntil,
    ]);
    if (rowCount === 1) await client.query(`SELECT pg_notify('${APPROVALS_CHANNEL}', $1)`, [id]);
  }

  private async votesOf(db: Pick<PgPool, 'query'>, ids: readonly string[]): Promise<Map<string, ApprovalVote[]>> {
    const out = new Map<string, ApprovalVote[]>();
    if (ids.length === 0) return out;
    const { rows } = await db.query<DecisionRow>('SELECT approval_id, principal, decided_by, self_approved, at FROM mcpcp_approval_decisions WHERE approval_id = ANY($1) AND approve ORDER BY seq', [ids]);
    for (const r of rows) {
      const list = out.get(r.approval_id) ?? [];
      list.push(Object.freeze({ principal: r.principal, by: r.decided_by, at: Number(r.at), ...(r.self_approved ? { selfApproved: true as const } : {}) }));
      out.set(r.approval_id, list);
    }
    return out;
  }

  private toApproval(row: ApprovalRow, votes: readonly ApprovalVote[]): Approval & { readonly holder: string } {
    return Object.freeze({
      id: row.id,
      holder: row.holder,
      kind: row.kind,
      server: row.server,
      tool: row.tool,
      displayArgs: row.display_args,
      ...(row.secret_paths ? { secretPaths: row.secret_paths } : {}),
      ...(row.effect ? { effect: row.effect } : {}),
      digest: row.digest,
      preview: row.preview,
      ...(row.client ? { client: row.client } : {}),
      ...(row.rule ? { rule: row.rule } : {}),
      reason: row.reason,
      ...(row.call_id !== null ? { callId: row.call_id } : {}),
      requester: row.requester,
      approversRequired: row.approvers_required,
      votes: Object.freeze([...votes]),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      status: row.status,
      ...(row.decision ? { decision: row.decision } : {}),
      ...(row.consumed_at !== null ? { consumedAt: Number(row.consumed_at) } : {}),
    });
  }
}

/** The display arguments with the values at `paths` (argLeaves form) masked: the shared row never holds a secret-looking value. */
export function maskSecrets(args: Readonly<Record<string, JsonValue>>, paths: readonly string[]): Record<string, JsonValue> {
  if (paths.length === 0) return { ...args };
  const secret = new Set(paths);
  const walk = (value: JsonValue, path: string): JsonValue => {
    if (secret.has(path)) return '[REDACTED]';
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, path === '' ? k : `${path}.${k}`)]));
    return value;
  };
  // The same path spelling as argLeaves (src/core/display), which secretPaths uses.
  return walk(args as JsonValue, '') as Record<string, JsonValue>;
}

/** This replica's writer id when the configuration names none: host name and process id. */
export function defaultWriterId(): string {
  return `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48) || 'replica'}-${process.pid}`;
}

/** The connection broke (it can be retried on another one), as opposed to an error in the statement. */
function connectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^(57P0[123]|08\d{3})$/.test(code)) return true;
  return code === undefined && /Connection terminated|ECONNRESET|EPIPE|not queryable/i.test(errorMessage(err));
}

function ignoreClientError(): void {
  /* the query in flight rejects with the same error */
}

function redacted(message: string, url: string): string {
  let out = message.split(url).join('postgres://[REDACTED]');
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) out = out.split(password).join('[REDACTED]');
  } catch {
    /* not a URL: nothing more to hide */
  }
  return out;
}
