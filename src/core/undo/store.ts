// Undo handles at rest: one file per call, `<dir>/<callId>.bin`, AES-256-GCM under a key kept in
// the secret store (created on first use), outside the audit log. The audit record of the call
// holds only the handle's id and digest.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlPlaneError, errorMessage } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { undoableSchema, type Undoable } from './handle';
import { z } from 'zod';

/** The secret-store entry that holds the handles' key (base64 of 32 random bytes). */
export const UNDO_KEY_SECRET = 'mcpcp-undo-key';
const MAGIC = Buffer.from('MCPCPUNDO1');
const CALL_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/;

/** What a handle file holds (encrypted): the handle and the call it belongs to. */
const storedSchema = z.strictObject({
  v: z.literal(1),
  callId: z.string(),
  server: z.string(),
  tool: z.string(),
  sessionId: z.string().optional(),
  createdAt: z.number(),
  handle: undoableSchema,
});
export type StoredUndo = z.infer<typeof storedSchema>;

export interface UndoStoreOptions {
  dir: string;
  secrets: SecretStore;
  maxHandleBytes: number;
  retentionDays: number;
  now?: () => number;
}

export type SaveResult = { saved: true; id: string; digest: string; bytes: number } | { saved: false; reason: string };

export class UndoStore {
  private keyPromise: Promise<Buffer> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: UndoStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get retentionMs(): number {
    return this.options.retentionDays * 86_400_000;
  }

  /** The key from the secret store, created (and stored there) on first use. */
  private key(): Promise<Buffer> {
    this.keyPromise ??= (async () => {
      const existing = await this.options.secrets.get(UNDO_KEY_SECRET);
      if (existing !== undefined) {
        const key = Buffer.from(existing, 'base64');
        if (key.length !== 32) throw new ControlPlaneError('UNDO_KEY_INVALID', `the secret "${UNDO_KEY_SECRET}" is not a 32-byte base64 key; delete it to have a new one made (existing undo handles are then lost)`);
        return key;
      }
      const key = randomBytes(32);
      await this.options.secrets.set(UNDO_KEY_SECRET, key.toString('base64'));
      return key;
    })();
    this.keyPromise.catch(() => (this.keyPromise = undefined));
    return this.keyPromise;
  }

  private file(callId: string): string {
    if (!CALL_ID.test(callId)) throw new ControlPlaneError('UNDO_NOT_FOUND', `"${callId}" is not a call id (letters, digits and dashes, as in the audit log)`);
    return join(this.options.dir, `${callId}.bin`);
  }

  /**
   * Encrypts and writes the handle of `callId`. Beyond `maxHandleBytes` nothing is written and the
   * reason ("not undoable: too large") is returned, for the call's result and audit record.
   */
  async save(entry: Omit<StoredUndo, 'v' | 'createdAt'>): Promise<SaveResult> {
    const plain = Buffer.from(JSON.stringify({ v: 1, createdAt: this.now(), ...entry }), 'utf8');
    if (plain.length > this.options.maxHandleBytes) {
      return { saved: false, reason: `not undoable: too large (the prior state takes ${plain.length} bytes, the limit is ${this.options.maxHandleBytes}: setting undo.maxHandleBytes)` };
    }
    const file = this.file(entry.callId);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await this.key(), iv);
    cipher.setAAD(Buffer.from(entry.callId, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    return { saved: true, id: entry.callId, digest: createHash('sha256').update(plain).digest('hex'), bytes: plain.length };
  }

  /** Reads and decrypts the handle of `callId`; UNDO_NOT_FOUND, UNDO_EXPIRED or UNDO_CORRUPT otherwise. */
  async load(callId: string, expectedDigest?: string): Promise<StoredUndo> {
    let raw: Buffer;
    try {
      raw = await readFile(this.file(callId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ControlPlaneError('UNDO_NOT_FOUND', `call ${callId} has no undo handle (not a destructive call of a built-in server, not undoable, or removed after ${this.options.retentionDays} days)`);
      throw err;
    }
    let plain: Buffer;
    try {
      if (!raw.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an undo handle file');
      const iv = raw.subarray(MAGIC.length, MAGIC.length + 12);
      const tag = raw.subarray(MAGIC.length + 12, MAGIC.length + 28);
      const decipher = createDecipheriv('aes-256-gcm', await this.key(), iv);
      decipher.setAAD(Buffer.from(callId, 'utf8'));
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(raw.subarray(MAGIC.length + 28)), decipher.final()]);
    } catch (err) {
      throw new ControlPlaneError('UNDO_CORRUPT', `the undo handle of call ${callId} cannot be read (${errorMessage(err)}): it was changed, or the key "${UNDO_KEY_SECRET}" is not the one it was written with`);
    }
    if (expectedDigest !== undefined && createHash('sha256').update(plain).digest('hex') !== expectedDigest) {
      throw new ControlPlaneError('UNDO_CORRUPT', `the undo handle of call ${callId} does not match the digest in the audit record`);
    }
    const stored = storedSchema.parse(JSON.parse(plain.toString('utf8')));
    if (stored.callId !== callId) throw new ControlPlaneError('UNDO_CORRUPT', `the undo handle file of call ${callId} belongs to call ${stored.callId}`);
    if (this.now() - stored.createdAt > this.retentionMs) {
      await rm(this.file(callId), { force: true });
      throw new ControlPlaneError('UNDO_EXPIRED', `the undo handle of call ${callId} expired (kept ${this.options.retentionDays} days: setting undo.retentionDays)`);
    }
    return stored;
  }

  /** The handles of one client session, newest first (unreadable ones are skipped). */
  async ofSession(sessionId: string): Promise<StoredUndo[]> {
    const found: StoredUndo[] = [];
    for (const name of await this.names()) {
      const stored = await this.load(name).catch(() => undefined);
      if (stored?.sessionId === sessionId) found.push(stored);
    }
    return found.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Removes handles older than the retention period; returns how many. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const name of await this.names()) {
      const file = join(this.options.dir, `${name}.bin`);
      const info = await stat(file).catch(() => undefined);
      if (info !== undefined && this.now() - info.mtimeMs > this.retentionMs) {
        await rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async remove(callId: string): Promise<void> {
    await rm(this.file(callId), { force: true });
  }

  private async names(): Promise<string[]> {
    const entries = await readdir(this.options.dir).catch(() => [] as string[]);
    return entries.filter((e) => e.endsWith('.bin')).map((e) => e.slice(0, -4)).filter((n) => CALL_ID.test(n));
  }
}
