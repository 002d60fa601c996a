import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ControlPlaneError, errorMessage } from '../errors';

/**
 * The keys that sign the audit chain and its checkpoints (HMAC-SHA256). A keyring holds every key
 * ever used (old records keep verifying after a rotation) and names the current one. Each key has an
 * id derived from the key itself (`k-` + 16 hex digits of SHA-256 over a label and the key), which
 * every record carries as `kid`, so a verifier finds the right key without trying them all.
 *
 * Where it lives: headless, `<dataDir>/keys/audit.key` (directory 0700, file 0600), outside the
 * audit folder so that whoever can read or ship the audit files cannot re-sign them; in VS Code,
 * SecretStorage (through the core `SecretStore` interface). The text form is the same in both and
 * in an exported key file: `{"format":"mcpcp-audit-keys/1","current":"k-…","keys":{"k-…":{"key":"<base64>","created":"<ISO>"}}}`.
 */
export interface AuditKeyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
  /** Creation time of each key (ISO). */
  readonly created: ReadonlyMap<string, string>;
}

/** Where a keyring's text is kept. */
export interface AuditKeyStorage {
  /** Human-readable location, for messages (a path, or "VS Code SecretStorage"). */
  readonly where: string;
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
  /** Stores `text` only if nothing is stored yet, atomically; false when something was. */
  create?(text: string): Promise<boolean>;
}

export const AUDIT_KEYRING_FORMAT = 'mcpcp-audit-keys/1';
const KEY_BYTES = 32;

const keyringSchema = z.strictObject({
  format: z.literal(AUDIT_KEYRING_FORMAT),
  current: z.string(),
  keys: z.record(z.string(), z.strictObject({ key: z.string(), created: z.string() })),
});

/** The id of a key: `k-` and 16 hex digits. */
export function auditKeyId(key: Buffer): string {
  return `k-${createHash('sha256').update('mcpcp-audit-key-id\n').update(key).digest('hex').slice(0, 16)}`;
}

/** HMAC-SHA256 (hex) of `text` under `key`, with a domain label so a record never passes for a checkpoint. */
export function auditMac(key: Buffer, domain: 'record' | 'checkpoint', text: string): string {
  return createHmac('sha256', key).update(`mcpcp-audit-${domain}\n`).update(text).digest('hex');
}

/** A keyring with one fresh random key. */
export function newAuditKeyring(now: Date = new Date()): AuditKeyring {
  const key = randomBytes(KEY_BYTES);
  const id = auditKeyId(key);
  return { current: id, keys: new Map([[id, key]]), created: new Map([[id, now.toISOString()]]) };
}

/** The keyring with a fresh key added and made current; the old keys stay (old records verify). */
export function rotateAuditKeyring(ring: AuditKeyring, now: Date = new Date()): AuditKeyring {
  const key = randomBytes(KEY_BYTES);
  const id = auditKeyId(key);
  return { current: id, keys: new Map([...ring.keys, [id, key]]), created: new Map([...ring.created, [id, now.toISOString()]]) };
}

/** Every key of `b` not in `a` added to `a` (the current key stays `a`'s). For verifying with several key files. */
export function mergeAuditKeyrings(a: AuditKeyring, b: AuditKeyring): AuditKeyring {
  return { current: a.current, keys: new Map([...b.keys, ...a.keys]), created: new Map([...b.created, ...a.created]) };
}

export function serializeAuditKeyring(ring: AuditKeyring): string {
  const keys: Record<string, { key: string; created: string }> = {};
  for (const [id, key] of ring.keys) keys[id] = { key: key.toString('base64'), created: ring.created.get(id) ?? '' };
  return `${JSON.stringify({ format: AUDIT_KEYRING_FORMAT, current: ring.current, keys }, null, 2)}\n`;
}

/** Parses a keyring's text; `where` names it in errors. Each key must hash to its id. */
export function parseAuditKeyring(text: string, where: string): AuditKeyring {
  let parsed: z.infer<typeof keyringSchema>;
  try {
    parsed = keyringSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring in ${where} is not valid (${errorMessage(err).split('\n')[0]}); it must be a file written by mcpcp or exported by the VS Code command "Export Audit Key"`);
  }
  const keys = new Map<string, Buffer>();
  const created = new Map<string, string>();
  for (const [id, entry] of Object.entries(parsed.keys)) {
    const key = Buffer.from(entry.key, 'base64');
    if (key.length !== KEY_BYTES || auditKeyId(key) !== id) {
      throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring in ${where}: key ${id} is damaged (its bytes do not match its id)`);
    }
    keys.set(id, key);
    created.set(id, entry.created);
  }
  if (!keys.has(parsed.current)) throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring in ${where} names a current key ${parsed.current} it does not hold`);
  return { current: parsed.current, keys, created };
}

/** Reads the keyring; creates and stores one on first use. */
export async function loadOrCreateAuditKeyring(storage: AuditKeyStorage): Promise<AuditKeyring> {
  const text = await storage.read();
  if (text !== undefined) return parseAuditKeyring(text, storage.where);
  const ring = newAuditKeyring();
  // Two first starts at once (two windows, two serves) must end up with one key ring: the one
  // stored first wins and both use it (nothing is signed before this returns).
  if (storage.create !== undefined) {
    if (await storage.create(serializeAuditKeyring(ring))) return ring;
  } else {
    await storage.write(serializeAuditKeyring(ring));
  }
  const stored = await storage.read();
  if (stored === undefined) throw new ControlPlaneError('AUDIT_KEY_UNREADABLE', `the audit key ring written to ${storage.where} cannot be read back`);
  return parseAuditKeyring(stored, storage.where);
}

/** Adds a fresh current key to the stored keyring (creating it if absent). Writers switch at their next open. */
export async function rotateStoredAuditKeyring(storage: AuditKeyStorage): Promise<AuditKeyring> {
  const text = await storage.read();
  const ring = text === undefined ? newAuditKeyring() : rotateAuditKeyring(parseAuditKeyring(text, storage.where));
  await storage.write(serializeAuditKeyring(ring));
  return ring;
}

/** The headless default: `<dataDir>/keys/audit.key`. */
export function defaultAuditKeyFile(dataDir: string): string {
  return join(dataDir, 'keys', 'audit.key');
}

/**
 * An owner-only key file (directory 0700, file 0600, replaced atomically). Reading refuses a file
 * that group or others can read or write: a key others can read signs nothing.
 */
export function fileAuditKeyStorage(path: string): AuditKeyStorage {
  return {
    where: path,
    async read() {
      let handle;
      try {
        handle = await open(path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ControlPlaneError('AUDIT_KEY_UNREADABLE', `cannot read the audit key file ${path}: ${errorMessage(err)}`, { cause: err });
      }
      try {
        const st = await handle.stat();
        if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
          throw new ControlPlaneError('AUDIT_KEY_EXPOSED', `the audit key file ${path} is readable or writable by others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${path}`);
        }
        return await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    },
    async write(text) {
      await writeOwnerOnly(path, text);
    },
    async create(text) {
      return createOwnerOnly(path, text);
    },
  };
}

/** Like `writeOwnerOnly`, but only when `path` does not exist yet (a hard link is atomic): false if it did. */
async function createOwnerOnly(path: string, text: string): Promise<boolean> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return true;
}

/** A keyring kept as one secret of a `SecretStore` (VS Code SecretStorage). */
export function secretStoreAuditKeyStorage(store: { get(name: string): Promise<string | undefined>; set(name: string, value: string): Promise<void> }, name = 'mcpcp.audit-keys'): AuditKeyStorage {
  return { where: `the secret store (${name})`, read: () => store.get(name), write: (text) => store.set(name, text) };
}

/**
 * A keyring kept in a secret named by configuration (`audit.keyring: ${secret:name}`), shared by
 * every replica of a deployment (a Kubernetes Secret as `MCPCP_SECRET_<NAME>`). Read-only: a
 * replica never creates or rotates it (each would make its own); the operator does, once.
 */
export function secretReferenceAuditKeyStorage(name: string, store: { get(name: string): Promise<string | undefined> }, envName: string): AuditKeyStorage {
  const how = `create one with \`mcpcp audit rotate-key --key-file audit.key\` and store that file's content as the secret ${name} (headless: the environment variable ${envName}, e.g. from a Kubernetes Secret)`;
  return {
    where: `the secret ${name}`,
    read: () => store.get(name),
    write: () => Promise.reject(new ControlPlaneError('AUDIT_KEY_READONLY', `the audit key ring comes from the secret ${name} (audit.keyring): rotate it where that secret is kept (\`mcpcp audit rotate-key --key-file F\`, then update the secret) and restart the replicas`)),
    create: () => Promise.reject(new ControlPlaneError('AUDIT_KEY_MISSING', `audit.keyring names the secret ${name}, which is not set: ${how}`)),
  };
}

/** Writes `text` to `path` owner-only (0600 file, 0700 parent created if needed), atomically, fsync'd. */
export async function writeOwnerOnly(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
