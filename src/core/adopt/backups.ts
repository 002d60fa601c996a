import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ControlPlaneError } from '../errors';

/**
 * Backups of the files the control plane edits (adoption, remediations) live in its data
 * directory, never next to the file: a workspace is a repository, and a backup there is one
 * `git add -A` away from being committed.
 *
 * Layout: `<dataDir>/adopt-backups/<16 hex of sha256(file path)>/` holds `source` (the file's
 * absolute path) and `<name>.mcpcp-backup-<UTC timestamp>` files; folders 0700, files 0600.
 */
export const BACKUPS_FOLDER = 'adopt-backups';

/** The backups folder of a data directory. */
export function backupRoot(dataDir: string): string {
  return join(dataDir, BACKUPS_FOLDER);
}

/** The folder that holds one file's backups. */
export function backupFolder(root: string, file: string): string {
  return join(root, createHash('sha256').update(resolve(file)).digest('hex').slice(0, 16));
}

/** `<name>.mcpcp-backup-<UTC timestamp>`, e.g. `mcp.json.mcpcp-backup-20250101T120000123Z`. */
export function backupFileName(file: string, at: Date): string {
  return `${basename(file)}.mcpcp-backup-${at.toISOString().replace(/[-:.]/g, '')}`;
}

/** A secret a change moved into the store: in a backup its value is replaced by `${secret:name}`. */
export interface MovedSecret {
  name: string;
  value: string;
}

/** `text` with every moved secret's value replaced by its `${secret:name}` reference (longest first). */
export function referenceMovedSecrets(text: string, moved: readonly MovedSecret[]): string {
  let out = text;
  for (const s of [...moved].filter((m) => m.value !== '').sort((a, b) => b.value.length - a.value.length)) out = out.split(s.value).join(`\${secret:${s.name}}`);
  return out;
}

/**
 * Writes a backup of `file`'s `text` (owner-only, never overwriting one) with the moved secrets
 * replaced by their references, and returns its path.
 */
export async function writeBackup(root: string, file: string, text: string, at: Date, moved: readonly MovedSecret[] = []): Promise<string> {
  const folder = backupFolder(root, file);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await chmod(root, 0o700).catch(() => undefined);
  await chmod(folder, 0o700).catch(() => undefined);
  const source = join(folder, 'source');
  const known = await readFile(source, 'utf8').catch(() => undefined);
  if (known === undefined) await writePrivate(source, resolve(file), 'w');
  else if (known !== resolve(file)) throw new ControlPlaneError('BACKUP_INVALID', `${folder} holds backups of ${known}, not of ${file}`);
  let backup = join(folder, backupFileName(file, at));
  for (let n = 2; ; n++) {
    try {
      await writePrivate(backup, referenceMovedSecrets(text, moved), 'wx');
      return backup;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
      backup = join(folder, `${backupFileName(file, at)}-${n}`);
    }
  }
}

/** Backups of a file, newest first. */
export async function listBackups(root: string, file: string): Promise<string[]> {
  const folder = backupFolder(root, file);
  const prefix = `${basename(file)}.mcpcp-backup-`;
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(prefix)).sort().reverse().map((n) => join(folder, n));
}

/** The file a backup was taken of (from its folder's `source`). */
export async function backupSource(backup: string): Promise<string> {
  if (!/\.mcpcp-backup-\d{8}T\d{9}Z(?:-\d+)?$/.test(backup)) throw new ControlPlaneError('BACKUP_INVALID', `${backup} is not a control-plane backup (<name>.mcpcp-backup-<timestamp>)`);
  const source = await readFile(join(dirname(backup), 'source'), 'utf8').catch(() => undefined);
  if (source === undefined) throw new ControlPlaneError('BACKUP_INVALID', `${backup} has no "source" file beside it: it is not in a control-plane backups folder`);
  return source;
}

async function writePrivate(path: string, text: string, flags: 'w' | 'wx'): Promise<void> {
  const handle = await open(path, flags, 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
