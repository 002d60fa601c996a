import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../canonical-json';
import { errorMessage } from '../errors';
import { syncDir } from './files';
import { auditMac, type AuditKeyring } from './keys';

/**
 * A keyed checkpoint of one instance's chain, kept apart from the audit files (by default in the
 * sibling folder `audit-checkpoints`): the head (last durable record: seq, hash, file) and the
 * manifest of the instance's files (first and last record of each). Signed (HMAC-SHA256, key `kid`)
 * over its canonical JSON without `mac`. The writer replaces it atomically after records became
 * durable (coalesced, at most every `checkpointIntervalMs`), at open and at close.
 *
 * What it adds to the chain: a chain alone cannot show that records were cut off its end or that
 * its newest file was deleted; the checkpoint names a head the files must still reach, and files
 * that must still exist. It can lag the log (records after it are fine), never lead it.
 */
export interface AuditCheckpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly instance: string;
  readonly kid: string;
  readonly ts: string;
  readonly head: { readonly seq: number; readonly hash: string; readonly file: string };
  readonly files: readonly AuditManifestEntry[];
  /** Files retention removed so far (from the start of the chain); the kept chain continues from `lastSeq`/`lastHash`. */
  readonly removed?: AuditRemovedFiles;
  readonly mac: string;
}

/**
 * What retention removed from the start of a chain, cumulative: how many files, the seqs they
 * held, the last removed record's MAC (the `prev` of the first kept record) and the last removed
 * file (kept files are numbered after it).
 */
export interface AuditRemovedFiles {
  readonly files: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  readonly lastFile: string;
}

/** One audit file of the instance; a file without records yet has no seqs. */
export interface AuditManifestEntry {
  readonly name: string;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  readonly lastHash?: string;
}

export const CHECKPOINT_FORMAT = 'mcpcp-audit-checkpoint/1';

const checkpointSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  instance: z.string(),
  kid: z.string(),
  ts: z.string(),
  head: z.strictObject({ seq: z.number().int().nonnegative(), hash: z.string(), file: z.string() }),
  files: z.array(
    z.strictObject({ name: z.string(), firstSeq: z.number().int().positive().optional(), lastSeq: z.number().int().positive().optional(), lastHash: z.string().optional() }),
  ),
  removed: z
    .strictObject({ files: z.number().int().positive(), firstSeq: z.number().int().positive(), lastSeq: z.number().int().positive(), lastHash: z.string(), lastFile: z.string() })
    .optional(),
  mac: z.string(),
});

/** Where checkpoints live when nobody says: `audit-checkpoints` next to the audit folder. */
export function defaultCheckpointDir(auditDir: string): string {
  return join(dirname(auditDir), 'audit-checkpoints');
}

export function checkpointFileName(instance: string): string {
  return `checkpoint-${instance}.json`;
}

/** Instances that have a checkpoint in `dir`. */
export async function listCheckpointInstances(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).flatMap((n) => {
      const m = /^checkpoint-([A-Za-z0-9._-]{1,64})\.json$/.exec(n);
      return m?.[1] !== undefined ? [m[1]] : [];
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function signCheckpoint(keys: AuditKeyring, body: Omit<AuditCheckpoint, 'mac' | 'kid' | 'format'>): AuditCheckpoint {
  const key = keys.keys.get(keys.current);
  if (key === undefined) throw new Error(`audit key ${keys.current} missing from its keyring`);
  const unsigned = { format: CHECKPOINT_FORMAT as typeof CHECKPOINT_FORMAT, ...body, kid: keys.current };
  return { ...unsigned, mac: auditMac(key, 'checkpoint', canonicalJson(unsigned)) };
}

export type CheckpointRead =
  | { readonly status: 'missing' }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'ok'; readonly checkpoint: AuditCheckpoint };

/** Reads and checks an instance's checkpoint: parse, known key, MAC, instance. */
export async function readCheckpoint(dir: string, instance: string, keys: AuditKeyring): Promise<CheckpointRead> {
  let text: string;
  try {
    text = await readFile(join(dir, checkpointFileName(instance)), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'invalid', reason: `cannot read it: ${errorMessage(err)}` };
  }
  let cp: z.infer<typeof checkpointSchema>;
  try {
    cp = checkpointSchema.parse(JSON.parse(text));
  } catch {
    return { status: 'invalid', reason: 'it is not a checkpoint file' };
  }
  const key = keys.keys.get(cp.kid);
  if (key === undefined) return { status: 'invalid', reason: `it is signed with key ${cp.kid}, which the key ring does not hold` };
  const { mac, ...unsigned } = cp;
  if (auditMac(key, 'checkpoint', canonicalJson(unsigned)) !== mac) return { status: 'invalid', reason: 'its MAC does not match: it was edited or forged' };
  if (cp.instance !== instance) return { status: 'invalid', reason: `it belongs to instance ${cp.instance}` };
  return { status: 'ok', checkpoint: cp as AuditCheckpoint };
}

/** Replaces the checkpoint atomically (temp file, fsync, rename, fsync of the folder when `fsync`). */
export async function writeCheckpoint(dir: string, checkpoint: AuditCheckpoint, fsync: boolean): Promise<void> {
  const path = join(dir, checkpointFileName(checkpoint.instance));
  const tmp = `${path}.tmp`;
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(`${canonicalJson(checkpoint)}\n`, 'utf8');
      if (fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  if (fsync) await syncDir(dir);
}
