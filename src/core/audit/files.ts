import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** `audit-<instance>-<index>.jsonl`, index from 000001 up; names sort by instance, then file order. */
const FILE_RE = /^audit-([A-Za-z0-9._-]+)-(\d{6})\.jsonl$/;
/** Instance ids are file-name safe: letters, digits, `.`, `_`, `-`, at most 64. */
export const INSTANCE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export interface AuditFileRef {
  readonly name: string;
  readonly path: string;
  readonly instance: string;
  readonly index: number;
}

export function auditFileName(instance: string, index: number): string {
  return `audit-${instance}-${String(index).padStart(6, '0')}.jsonl`;
}

/** The index of an audit file name (`audit-<instance>-000042.jsonl` → 42); undefined for another name. */
export function auditFileIndex(name: string): number | undefined {
  const m = FILE_RE.exec(name);
  return m?.[2] !== undefined ? Number(m[2]) : undefined;
}

export function lockFileName(instance: string): string {
  return `audit-${instance}.lock`;
}

/** Quarantined torn tails: `<file>.torn-<epoch ms>`, outside the chain and never listed as records. */
export function quarantineFileName(file: string, at: number): string {
  return `${file}.torn-${at}`;
}

/** Audit files of a directory (all instances, or one), sorted by instance then index. Missing dir → []. */
export async function listAuditFiles(dir: string, instance?: string): Promise<AuditFileRef[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: AuditFileRef[] = [];
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (m === null) continue;
    const ref = { name, path: join(dir, name), instance: m[1] ?? '', index: Number(m[2]) };
    if (instance === undefined || ref.instance === instance) files.push(ref);
  }
  return files.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : a.index - b.index));
}

/** Names of quarantine files in a directory. */
export async function listQuarantineFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => /\.jsonl\.torn-\d+$/.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface FileLine {
  readonly text: string;
  /** 1-based. */
  readonly line: number;
  /** Byte offset of the line's start. */
  readonly offset: number;
  /** False only for a last line without its newline (a torn write, or one in progress). */
  readonly terminated: boolean;
}

/** Streams a file's lines with their byte offsets, without loading it whole. */
export async function* readLines(path: string): AsyncGenerator<FileLine> {
  let rest: Buffer = Buffer.alloc(0);
  let restOffset = 0;
  let line = 0;
  // Chunks of a line longer than a chunk, joined once its end arrives (not once per chunk).
  let pending: Buffer[] = [];
  for await (const data of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const chunk = data as Buffer;
    if (chunk.indexOf(10) === -1) {
      if (rest.length > 0) pending.push(rest);
      rest = Buffer.alloc(0);
      pending.push(chunk);
      continue;
    }
    if (pending.length > 0) {
      rest = Buffer.concat([...pending, rest]);
      pending = [];
    }
    const buf: Buffer = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      yield { text: buf.toString('utf8', start, nl), line: ++line, offset: restOffset + start, terminated: true };
      start = nl + 1;
    }
    rest = buf.subarray(start);
    restOffset += start;
  }
  if (pending.length > 0) rest = Buffer.concat([...pending, rest]);
  if (rest.length > 0) yield { text: rest.toString('utf8'), line: ++line, offset: restOffset, terminated: false };
}

/** fsync a directory so that a created, renamed or removed entry survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
