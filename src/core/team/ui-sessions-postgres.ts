import { createHash, randomBytes } from 'node:crypto';
import { migrate, type Migration, type PgPool } from '../storage/postgres';
import type { UiSession, UiSessionStore } from '../web-ui/sessions';
import type { Principal } from './principal';

export const UI_SESSION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'ui_sessions table',
    sql: `CREATE TABLE ui_sessions (
      id_hash text PRIMARY KEY,
      csrf_token text NOT NULL,
      principal jsonb,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      last_seen timestamptz NOT NULL
    );
    CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at)`,
  },
];

interface Row {
  csrf_token: string;
  principal: Principal | null;
  created_at: Date;
  expires_at: Date;
  last_seen: Date;
}

/**
 * `/ui` sessions in PostgreSQL (component `ui-sessions`), so a person signed in through one replica
 * is signed in on all. The table keys sessions by the SHA-256 of the cookie value: reading the
 * database does not give anyone a usable cookie. Idle and absolute expiry as in memory.
 */
export class PostgresUiSessionStore implements UiSessionStore {
  private constructor(
    private readonly pool: PgPool,
    private readonly idleMs: number,
    private readonly maxAgeMs: number,
  ) {}

  static async open(pool: PgPool, options: { idleMs?: number; maxAgeMs?: number } = {}): Promise<PostgresUiSessionStore> {
    await migrate(pool, 'ui-sessions', UI_SESSION_MIGRATIONS);
    return new PostgresUiSessionStore(pool, options.idleMs ?? 30 * 60_000, options.maxAgeMs ?? 12 * 3_600_000);
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.maxAgeMs / 1000);
  }

  async create(principal?: Principal): Promise<UiSession> {
    const now = Date.now();
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    await this.pool.query('DELETE FROM ui_sessions WHERE expires_at <= now() OR last_seen <= now() - make_interval(secs => $1)', [this.idleMs / 1000]);
    await this.pool.query('INSERT INTO ui_sessions (id_hash, csrf_token, principal, created_at, expires_at, last_seen) VALUES ($1, $2, $3, $4, $5, $4)', [
      hashId(id),
      csrfToken,
      principal ? JSON.stringify(principal) : null,
      new Date(now),
      new Date(now + this.maxAgeMs),
    ]);
    return { id, csrfToken, createdAt: now, expiresAt: now + this.maxAgeMs, lastSeen: now, ...(principal ? { principal } : {}) };
  }

  async get(id: string | undefined): Promise<UiSession | undefined> {
    if (id === undefined || id.length === 0 || id.length > 128) return undefined;
    const { rows } = await this.pool.query<Row>(
      `UPDATE ui_sessions SET last_seen = now()
        WHERE id_hash = $1 AND expires_at > now() AND last_seen > now() - make_interval(secs => $2)
        RETURNING csrf_token, principal, created_at, expires_at, last_seen`,
      [hashId(id), this.idleMs / 1000],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { id, csrfToken: row.csrf_token, createdAt: row.created_at.getTime(), expiresAt: row.expires_at.getTime(), lastSeen: row.last_seen.getTime(), ...(row.principal ? { principal: row.principal } : {}) };
  }

  async isAlive(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM ui_sessions WHERE id_hash = $1 AND expires_at > now() AND last_seen > now() - make_interval(secs => $2)', [hashId(id), this.idleMs / 1000]);
    return (rowCount ?? 0) > 0;
  }

  async delete(id: string): Promise<void> {
    await this.pool.query('DELETE FROM ui_sessions WHERE id_hash = $1', [hashId(id)]);
  }
}

function hashId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}
