import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ControlPlaneError, errorMessage } from '../errors';

/** Name of the credential file in the headless data directory. */
export const APPROVER_CREDENTIAL_FILE = 'approver-credential.json';

/** Every approver credential starts with this, so the redactor recognises it anywhere. */
export const APPROVER_CREDENTIAL_PREFIX = 'mcpcp_appr_';

const fileSchema = z.object({ version: z.literal(1), algorithm: z.literal('sha256'), hash: z.string().regex(/^[0-9a-f]{64}$/), createdAt: z.string() });

export type EnsuredCredential =
  | { readonly created: true; readonly file: string; readonly credential: string }
  | { readonly created: false; readonly file: string };

/**
 * Creates the headless approver credential at first start: a random 256-bit token, of which only the
 * SHA-256 is stored (`approver-credential.json`, mode 0600, in a 0700 directory). The token itself
 * is returned once, for the person starting the server to see and keep; it cannot be read back.
 * Later calls return `created: false`. It is separate from the client token that MCP clients hold,
 * which can never approve. Two processes starting at once cannot both create one (exclusive create).
 */
export async function ensureApproverCredential(dir: string): Promise<EnsuredCredential> {
  const file = join(dir, APPROVER_CREDENTIAL_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const credential = newCredential();
  try {
    await writeFile(file, serialise(credential), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { created: false, file };
    throw new ControlPlaneError('APPROVER_CREDENTIAL_FAILED', `cannot create ${file}: ${errorMessage(err)}`, { cause: err });
  }
  return { created: true, file, credential };
}

/** Replaces the credential (the old one stops working at once) and returns the new one, once. */
export async function rotateApproverCredential(dir: string): Promise<{ readonly file: string; readonly credential: string }> {
  const file = join(dir, APPROVER_CREDENTIAL_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const credential = newCredential();
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, serialise(credential), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return { file, credential };
}

/**
 * True when `presented` is the approver credential (constant-time comparison of hashes). Throws
 * `APPROVER_CREDENTIAL_MISSING` when none was created, `APPROVER_CREDENTIAL_INSECURE` when the file
 * can be read or written by others than its owner, `APPROVER_CREDENTIAL_INVALID` when it is damaged.
 */
export async function verifyApproverCredential(dir: string, presented: string): Promise<boolean> {
  const file = join(dir, APPROVER_CREDENTIAL_FILE);
  let text: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new ControlPlaneError('APPROVER_CREDENTIAL_INSECURE', `${file} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`);
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ControlPlaneError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ControlPlaneError('APPROVER_CREDENTIAL_MISSING', `no approver credential in ${dir}: start the server once to create it`);
    throw new ControlPlaneError('APPROVER_CREDENTIAL_FAILED', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  let stored: Buffer;
  try {
    stored = Buffer.from(fileSchema.parse(JSON.parse(text)).hash, 'hex');
  } catch (err) {
    throw new ControlPlaneError('APPROVER_CREDENTIAL_INVALID', `${file} is damaged: ${errorMessage(err)}`, { cause: err });
  }
  return timingSafeEqual(createHash('sha256').update(presented, 'utf8').digest(), stored);
}

function newCredential(): string {
  return `${APPROVER_CREDENTIAL_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function serialise(credential: string): string {
  const hash = createHash('sha256').update(credential, 'utf8').digest('hex');
  return `${JSON.stringify({ version: 1, algorithm: 'sha256', hash, createdAt: new Date().toISOString() })}\n`;
}
