import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ControlPlaneError, errorMessage } from '../errors';
import { migrate, type Migration, type PgPool } from '../storage/postgres';
import { ROLES, type Role } from './principal';

/** Every API key starts with this, so the redactor and a secret scanner recognise it anywhere. */
export const API_KEY_PREFIX = 'mcpcp_key_';
/** The file of the file store, in the data directory (0600). */
export const API_KEYS_FILE = 'api-keys.json';

const KEY_RE = /^mcpcp_key_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** What is kept of an API key: never the key, only the SHA-256 of it. */
export interface ApiKeyRecord {
  /** Public id, part of the key (`mcpcp_key_<id>_<secret>`): names the key in lists, audit and revocation. */
  readonly id: string;
  /** SHA-256 (hex) of the whole key. */
  readonly hash: string;
  /** Who the key acts for (a person or a service): becomes the principal's name. */
  readonly owner: string;
  readonly roles: readonly Role[];
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly lastUsedAt?: string;
  readonly revokedAt?: string;
}

/** What lists show (no hash). */
export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>;

export interface NewApiKey {
  readonly owner: string;
  readonly roles: readonly Role[];
  /** Absent: never expires. */
  readonly expiresAt?: Date;
}

/** The outcome of presenting a key: its record, or why it is refused (wording safe to send back). */
export type ApiKeyCheck = { readonly ok: true; readonly record: ApiKeyRecord } | { readonly ok: false; readonly reason: string };

/**
 * Where API keys live: a file in the data directory, or PostgreSQL (`storage.postgres`) so replicas
 * share them. Keys are created by an admin (`mcpcp team api-key create`), shown once, stored hashed.
 */
export interface ApiKeyStore {
  /** Creates a key; the returned `key` is the only time it exists outside the caller's hands. */
  create(input: NewApiKey): Promise<{ key: string; info: ApiKeyInfo }>;
  list(): Promise<ApiKeyInfo[]>;
  /** Revokes a key by id (it stops working at once); false when there is no such key. */
  revoke(id: string): Promise<boolean>;
  /**
   * Checks a presented key: known, hash equal (constant time), not revoked, not expired. Records
   * its last use (at most once a minute per key).
   */
  verify(presented: string, now?: Date): Promise<ApiKeyCheck>;
  close(): Promise<void>;
}

/** A new random key: 72 bits of public id, 256 bits of secret. */
export function newApiKey(): { id: string; key: string; hash: string } {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  const id = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, hash: hashKey(key) };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True when a bearer value has the shape of an API key (it is then never tried as a JWT). */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/** The judgement shared by both stores: shape, hash, revocation, expiry. */
export function judgeKey(presented: string, record: ApiKeyRecord | undefined, now: Date): ApiKeyCheck {
  const m = KEY_RE.exec(presented);
  if (!m) return { ok: false, reason: 'malformed API key' };
  // Unknown id and wrong secret give the same answer, after the same comparison.
  const expected = Buffer.from(record?.hash ?? '0'.repeat(64), 'hex');
  const equal = timingSafeEqual(createHash('sha256').update(presented, 'utf8').digest(), expected);
  if (record === undefined || !equal) return { ok: false, reason: 'unknown API key' };
  if (record.revokedAt !== undefined) return { ok: false, reason: `API key ${record.id} was revoked` };
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) return { ok: false, reason: `API key ${record.id} expired at ${record.expiresAt}` };
  return { ok: true, record };
}

/** The public id inside a key, or undefined when it is not shaped like one. */
export function apiKeyId(presented: string): string | undefined {
  return KEY_RE.exec(presented)?.[1];
}

const LAST_USE_EVERY_MS = 60_000;

function info(record: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, ...rest } = record;
  return rest;
}

const recordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9]{12}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  owner: z.string().min(1),
  roles: z.array(z.enum(ROLES)),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  lastUsedAt: z.string().optional(),
  revokedAt: z.string().optional(),
});
const fileSchema = z.object({ version: z.literal(1), keys: z.array(recordSchema) });

/**
 * API keys in `<dataDir>/api-keys.json` (mode 0600, written by rename). The serving process reads
 * the file again when it changed, so keys created or revoked by `mcpcp team api-key` apply at once.
 * A file readable by others is refused.
 */
export class FileApiKeyStore implements ApiKeyStore {
  private readonly file: string;
  private cache: { mtimeMs: number; size: number; keys: ApiKeyRecord[] } | undefined;
  private readonly lastUseWritten = new Map<string, number>();
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly dir: string) {
    this.file = join(dir, API_KEYS_FILE);
  }

  async create(input: NewApiKey): Promise<{ key: string; info: ApiKeyInfo }> {
    const { id, key, hash } = newApiKey();
    const record: ApiKeyRecord = {
      id,
      hash,
      owner: input.owner,
      roles: [...input.roles],
      createdAt: new Date().toISOString(),
      ...(input.expiresAt ? { expiresAt: input.expiresAt.toISOString() } : {}),
    };
    await this.update((keys) => [...keys, record]);
    return { key, info: info(record) };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.read()).map(info);
  }

  async revoke(id: string): Promise<boolean> {
    let found = false;
    await this.update((keys) =>
      keys.map((k) => {
        if (k.id !== id || k.revokedAt !== undefined) {
          if (k.id === id) found = true;
          return k;
        }
        found = true;
        return { ...k, revokedAt: new Date().toISOString() };
      }),
    );
    return found;
  }

  async verify(presented: string, now = new Date()): Promise<ApiKeyCheck> {
    const id = apiKeyId(presented);
    const record = id === undefined ? undefined : (await this.read()).find((k) => k.id === id);
    const check = judgeKey(presented, record, now);
    if (check.ok) {
      const last = this.lastUseWritten.get(check.record.id) ?? 0;
      if (now.getTime() - last >= LAST_USE_EVERY_MS) {
        this.lastUseWritten.set(check.record.id, now.getTime());
        const at = now.toISOString();
        void this.update((keys) => keys.map((k) => (k.id === check.record.id ? { ...k, lastUsedAt: at } : k))).catch(() => undefined);
      }
    }
    return check;
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  private async read(): Promise<ApiKeyRecord[]> {
    let info;
    try {
      info = await stat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ControlPlaneError('API_KEYS_UNREADABLE', `cannot read ${this.file}: ${errorMessage(err)}`, { cause: err });
    }
    if ((info.mode & 0o077) !== 0) {
      throw new ControlPlaneError('API_KEYS_INSECURE', `${this.file} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`);
    }
    if (this.cache && this.cache.mtimeMs === info.mtimeMs && this.cache.size === info.size) return this.cache.keys;
    let keys: ApiKeyRecord[];
    try {
      keys = fileSchema.parse(JSON.parse(await readFile(this.file, 'utf8'))).keys;
    } catch (err) {
      throw new ControlPlaneError('API_KEYS_INVALID', `${this.file} is damaged: ${errorMessage(err)}`, { cause: err });
    }
    this.cache = { mtimeMs: info.mtimeMs, size: info.size, keys };
    return keys;
  }

  /** Read-modify-write, one at a time in this process, replaced by rename (readers never see half a file). */
  private update(change: (keys: ApiKeyRecord[]) => ApiKeyRecord[]): Promise<void> {
    const run = this.writing.then(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.cache = undefined;
      const next = change(await this.read());
      const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ version: 1, keys: next }, null, 2)}\n`, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.file);
      this.cache = undefined;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}

export const API_KEY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'api_keys table',
    sql: `CREATE TABLE api_keys (
      id text PRIMARY KEY,
      hash text NOT NULL,
      owner text NOT NULL,
      roles text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      last_used_at timestamptz,
      revoked_at timestamptz
    )`,
  },
];

interface Row {
  id: string;
  hash: string;
  owner: string;
  roles: string[];
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function fromRow(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    hash: row.hash,
    owner: row.owner,
    roles: ROLES.filter((r) => row.roles.includes(r)),
    createdAt: row.created_at.toISOString(),
    ...(row.expires_at ? { expiresAt: row.expires_at.toISOString() } : {}),
    ...(row.last_used_at ? { lastUsedAt: row.last_used_at.toISOString() } : {}),
    ...(row.revoked_at ? { revokedAt: row.revoked_at.toISOString() } : {}),
  };
}

/** API keys in PostgreSQL (table `api_keys`, migrations of component `api-keys`), shared by replicas. */
export class PostgresApiKeyStore implements ApiKeyStore {
  private readonly lastUseWritten = new Map<string, number>();

  private constructor(private readonly pool: PgPool) {}

  /** Runs the migrations, then serves keys from `pool` (which the caller owns and ends). */
  static async open(pool: PgPool): Promise<PostgresApiKeyStore> {
    await migrate(pool, 'api-keys', API_KEY_MIGRATIONS);
    return new PostgresApiKeyStore(pool);
  }

  async create(input: NewApiKey): Promise<{ key: string; info: ApiKeyInfo }> {
    const { id, key, hash } = newApiKey();
    const { rows } = await this.pool.query<Row>(
      'INSERT INTO api_keys (id, hash, owner, roles, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [id, hash, input.owner, [...input.roles], input.expiresAt ?? null],
    );
    return { key, info: info(fromRow(rows[0]!)) };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM api_keys ORDER BY created_at, id');
    return rows.map((r) => info(fromRow(r)));
  }

  async revoke(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  async verify(presented: string, now = new Date()): Promise<ApiKeyCheck> {
    const id = apiKeyId(presented);
    const record = id === undefined ? undefined : await this.pool.query<Row>('SELECT * FROM api_keys WHERE id = $1', [id]).then((r) => (r.rows[0] ? fromRow(r.rows[0]) : undefined));
    const check = judgeKey(presented, record, now);
    if (check.ok) {
      const last = this.lastUseWritten.get(check.record.id) ?? 0;
      if (now.getTime() - last >= LAST_USE_EVERY_MS) {
        this.lastUseWritten.set(check.record.id, now.getTime());
        void this.pool.query('UPDATE api_keys SET last_used_at = $2 WHERE id = $1', [check.record.id, now]).catch(() => undefined);
      }
    }
    return check;
  }

  async close(): Promise<void> {
    /* the pool belongs to the caller */
  }
}
