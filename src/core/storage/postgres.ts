/**
 * PostgreSQL for a team deployment's shared state (docs/team.md). One pool per replica; each
 * component (approvals, audit, API keys, sessions) declares its own versioned migrations and runs
 * them at start through `migrate`, which is idempotent and safe when replicas start together
 * (a transaction-scoped advisory lock serialises them).
 */
import pg from 'pg';
import { ControlPlaneError, errorMessage } from '../errors';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export interface Migration {
  /** 1, 2, 3…: applied in order, each once per database. Never edit one that has shipped: add the next. */
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export interface OpenPostgresOptions {
  /** Shown in `pg_stat_activity` (the replica's writer id is a good choice). */
  readonly applicationName?: string;
  readonly poolSize?: number;
  /** Give up connecting after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/**
 * A pool on `url`. Errors never carry the URL (it holds a password). An idle client that loses its
 * connection is dropped by the pool; the error is swallowed here so it cannot crash the process.
 */
export async function openPostgres(url: string, options: OpenPostgresOptions = {}): Promise<PgPool> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ControlPlaneError('storage.invalid-url', 'storage.postgres.url is not a URL: expected postgres://user:password@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ControlPlaneError('storage.invalid-url', `storage.postgres.url must start with postgres:// (got ${parsed.protocol}//)`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'mcpcp',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  pool.on('error', () => {
    /* an idle client died (server restart, network); the pool replaces it on next use */
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new ControlPlaneError('storage.unreachable', `cannot connect to PostgreSQL at ${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}: ${redactUrl(errorMessage(err), url)}`);
  }
  return pool;
}

function redactUrl(message: string, url: string): string {
  const password = (() => {
    try {
      return decodeURIComponent(new URL(url).password);
    } catch {
      return '';
    }
  })();
  let out = message.split(url).join('postgres://[REDACTED]');
  if (password) out = out.split(password).join('[REDACTED]');
  return out;
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS mcpcp_migrations (
  component text NOT NULL,
  version integer NOT NULL,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, version)
)`;

/** Advisory lock key for migrations (any constant; "mcpcp" in ASCII). */
const MIGRATION_LOCK = 0x6d63706370;

/**
 * Applies `component`'s migrations that are not applied yet, in version order, each in the same
 * transaction as its bookkeeping row. Returns the versions applied now (empty when up to date).
 * Refuses a database that has a newer version than this build knows (a downgrade would misread it).
 */
export async function migrate(pool: PgPool, component: string, migrations: readonly Migration[]): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${component} migrations must be numbered 1..n without gaps (found ${m.version} at position ${i + 1})`);
  });
  const client = await pool.connect();
  // A checked-out client whose connection drops emits 'error'; unheard, it would end the process.
  // The query under way fails on its own and the migration rolls back.
  const onError = (): void => undefined;
  client.on('error', onError);
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(MIGRATIONS_TABLE);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM mcpcp_migrations WHERE component = $1', [component]);
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    if (newest > sorted.length) {
      throw new ControlPlaneError('storage.schema-too-new', `the database's ${component} schema is at version ${newest}, newer than this build knows (${sorted.length}): run the newer release, or restore a backup taken before the upgrade`);
    }
    for (const m of sorted) {
      if (done.has(m.version)) continue;
      try {
        await client.query(m.sql);
      } catch (err) {
        throw new ControlPlaneError('storage.migration-failed', `${component} migration ${m.version} (${m.description}) failed: ${errorMessage(err)}`);
      }
      await client.query('INSERT INTO mcpcp_migrations (component, version, description) VALUES ($1, $2, $3)', [component, m.version, m.description]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release();
  }
  return applied;
}
