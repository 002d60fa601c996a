import { mkdir, open, readFile, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256Hex } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import type { Redactor } from '../redact';
import { INSTANCE_ID_RE, auditFileName, listAuditFiles, lockFileName, quarantineFileName, syncDir, type AuditFileRef } from './files';
import { GENESIS_HASH, auditEventSchema, type AuditEvent } from './record';

export interface AuditLogOptions {
  /** Where the files live: the extension's global storage, or the headless data directory. */
  readonly dir: string;
  /**
   * This writer's id (letters, digits, `.`, `_`, `-`). Only one live process may write an instance:
   * a lock file `audit-<id>.lock` holds the writer's pid and `open` fails with `AUDIT_LOCKED` while
   * that process lives. Reusing the id of a dead writer continues its chain and repairs its torn tail;
   * give each VS Code window its own id (e.g. try `vscode-1`, `vscode-2`… until one opens).
   */
  readonly instanceId: string;
  /** Applied to every event before it is hashed and written. */
  readonly redactor: Redactor;
  /** A file is rotated before a record would take it past this size. Default 16 MiB. */
  readonly maxFileBytes?: number;
  /** fdatasync before acknowledging. Default true; false only for throwaway logs and baselines. */
  readonly fsync?: boolean;
  /** Write the appends that queued during one fsync together (group commit). Default true. */
  readonly groupCommit?: boolean;
  /** Upper bound of one group write. Default 4 MiB. */
  readonly maxBatchBytes?: number;
  /** Epoch milliseconds for `ts`. Default `Date.now`. */
  readonly now?: () => number;
  /** Liveness test for the lock holder. Default: `process.kill(pid, 0)`. */
  readonly isProcessAlive?: (pid: number) => boolean;
}

/** What an acknowledged append wrote. */
export interface AuditAppendResult {
  readonly seq: number;
  readonly hash: string;
  readonly file: string;
}

/** A torn tail found at open and moved aside. */
export interface AuditQuarantine {
  /** The audit file that had the torn tail (name only). */
  readonly file: string;
  /** Where its bytes are now (name only; same directory). */
  readonly quarantineFile: string;
  /** Byte offset where the file was cut. */
  readonly offset: number;
  readonly bytes: number;
  readonly sha256: string;
  /** Seq of the `audit.tail-quarantined` record that documents it. */
  readonly seq: number;
}

export interface AuditOpenReport {
  /** The instance had files already (a restart): the chain continues. */
  readonly resumed: boolean;
  /** Seq of the last record before this open. */
  readonly previousSeq: number;
  readonly quarantined?: AuditQuarantine;
}

interface Pending {
  readonly line: Buffer;
  readonly seq: number;
  readonly hash: string;
  file: string;
  readonly resolve: (result: AuditAppendResult) => void;
  readonly reject: (err: unknown) => void;
}

type State = 'open' | 'closing' | 'closed' | 'failed';

const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Append-only, hash-chained, redacted audit log of one running instance.
 *
 * Guarantees:
 * - Order: records get `seq` and `prev` in the order `append` is called, and are written in that
 *   order; the promises resolve in that order.
 * - Durability: an `append` resolves only after its line is written and (with `fsync`) fdatasync'd.
 *   Appends that arrive while a write is in flight are written together (group commit), so
 *   throughput grows with concurrency at the same durability.
 * - Redaction: the event goes through the redactor before anything is hashed or written.
 * - Rotation: before a record would take a file past `maxFileBytes`, a new file with the next index
 *   starts; the chain simply continues (its first record's `prev` is the last record's `hash`).
 * - Crash repair: at open, bytes after the last complete, parseable line of the instance's newest
 *   file (a torn write from a crash) are moved to `<file>.torn-<ms>`, the file is cut there, and an
 *   `audit.tail-quarantined` record (offset, size, SHA-256 of the bytes) is appended before `open`
 *   resolves. Nothing is dropped or merged silently. Complete lines are never cut: a parseable line
 *   whose hash is wrong stays, and `verifyAudit` reports it.
 * - Failure: after a write error every pending and later append rejects with `AUDIT_WRITE_FAILED`
 *   (the caller should stop forwarding calls); reopen to continue, which repairs any torn tail.
 */
export class AuditLog {
  readonly dir: string;
  readonly instanceId: string;
  readonly openReport: AuditOpenReport;
  private readonly redactor: Redactor;
  private readonly maxFileBytes: number;
  private readonly maxBatchBytes: number;
  private readonly fsync: boolean;
  private readonly groupCommit: boolean;
  private readonly now: () => number;
  private state: State = 'open';
  private failure: unknown;
  private seq: number;
  private lastHash: string;
  private index: number;
  private handle: FileHandle;
  private fileBytes: number;
  private queue: Pending[] = [];
  private writing = false;
  private idleWaiters: (() => void)[] = [];
  private writes = 0;
  private records = 0;

  private constructor(
    options: AuditLogOptions,
    start: { seq: number; hash: string; index: number; handle: FileHandle; size: number; report: AuditOpenReport },
  ) {
    this.dir = options.dir;
    this.instanceId = options.instanceId;
    this.redactor = options.redactor;
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.fsync = options.fsync ?? true;
    this.groupCommit = options.groupCommit ?? true;
    this.now = options.now ?? Date.now;
    this.seq = start.seq;
    this.lastHash = start.hash;
    this.index = start.index;
    this.handle = start.handle;
    this.fileBytes = start.size;
    this.openReport = start.report;
  }

  /**
   * Opens (or creates) the instance's log: takes the lock, finds the chain head, quarantines a
   * torn tail (see the class comment). Fails with `AUDIT_LOCKED` when a live process holds the
   * instance, `AUDIT_OPEN_FAILED` on I/O errors.
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    if (!INSTANCE_ID_RE.test(options.instanceId)) {
      throw new ControlPlaneError('AUDIT_BAD_INSTANCE', `audit instance id "${options.instanceId}" must match ${INSTANCE_ID_RE}`);
    }
    const isAlive = options.isProcessAlive ?? isProcessAlive;
    const fsync = options.fsync ?? true;
    try {
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new ControlPlaneError('AUDIT_OPEN_FAILED', `cannot create audit directory ${options.dir}: ${errorMessage(err)}`, { cause: err });
    }
    await acquireLock(options.dir, options.instanceId, isAlive);
    let handle: FileHandle | undefined;
    try {
      const head = await findHead(options.dir, options.instanceId, fsync, options.now ?? Date.now);
      handle = await open(join(options.dir, auditFileName(options.instanceId, head.index)), 'a', 0o600);
      if (head.created && fsync) await syncDir(options.dir);
      const torn = head.torn;
      // The quarantine record is the first append, so its seq is known before it is written.
      const report: AuditOpenReport = {
        resumed: head.resumed,
        previousSeq: head.seq,
        ...(torn !== undefined
          ? { quarantined: { file: torn.file, quarantineFile: torn.quarantineFile, offset: torn.offset, bytes: torn.bytes, sha256: torn.sha256, seq: head.seq + 1 } }
          : {}),
      };
      const log = new AuditLog(options, { seq: head.seq, hash: head.hash, index: head.index, handle, size: head.size, report });
      if (torn !== undefined) {
        await log.append({
          type: 'audit.tail-quarantined',
          reason: torn.reason,
          detail: { file: torn.file, quarantineFile: torn.quarantineFile, offset: torn.offset, bytes: torn.bytes, sha256: torn.sha256 },
        });
      }
      return log;
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await rm(join(options.dir, lockFileName(options.instanceId)), { force: true });
      if (err instanceof ControlPlaneError) throw err;
      throw new ControlPlaneError('AUDIT_OPEN_FAILED', `cannot open audit log in ${options.dir}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The last record assigned (written or queued). */
  get head(): { readonly seq: number; readonly hash: string } {
    return { seq: this.seq, hash: this.lastHash };
  }

  /** The file currently written (name only). */
  get currentFile(): string {
    return auditFileName(this.instanceId, this.index);
  }

  /** Counters: records acknowledged, and the writes (each followed by one fsync) they took. */
  get stats(): { readonly records: number; readonly writes: number } {
    return { records: this.records, writes: this.writes };
  }

  /**
   * Redacts, chains and queues one record; resolves once it is durable. Rejects with
   * `AUDIT_EVENT_INVALID` (nothing assigned) for an event outside the schema, `AUDIT_CLOSED` after
   * `close`, `AUDIT_WRITE_FAILED` after a write error.
   */
  append(event: AuditEvent): Promise<AuditAppendResult> {
    if (this.state !== 'open') return Promise.reject(this.unavailable());
    let line: Buffer;
    let seq: number;
    let hash: string;
    try {
      ({ line, seq, hash } = this.seal(event));
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<AuditAppendResult>((resolve, reject) => {
      this.queue.push({ line, seq, hash, file: '', resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /** Resolves when every append made so far is durable (or has failed). */
  flush(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits for pending appends, closes the file and releases the instance lock. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return this.flush();
    if (this.state === 'open') this.state = 'closing';
    await this.flush();
    await this.handle.close().catch(() => undefined);
    await rm(join(this.dir, lockFileName(this.instanceId)), { force: true });
    this.state = 'closed';
  }

  private unavailable(): ControlPlaneError {
    if (this.state === 'failed') {
      return new ControlPlaneError('AUDIT_WRITE_FAILED', `audit log ${this.instanceId} failed earlier: ${errorMessage(this.failure)}`, { cause: this.failure });
    }
    return new ControlPlaneError('AUDIT_CLOSED', `audit log ${this.instanceId} is closed`);
  }

  /** Redacts, validates, numbers and hashes an event; advances the chain head. */
  private seal(event: AuditEvent): { line: Buffer; seq: number; hash: string } {
    const redacted = this.redactor.redactRecord(event);
    redacted.type = event.type;
    const checked = auditEventSchema.safeParse(redacted);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ControlPlaneError('AUDIT_EVENT_INVALID', `audit event ${event.type}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.trim());
    }
    const seq = this.seq + 1;
    const body = { ...redacted, seq, ts: new Date(this.now()).toISOString(), instance: this.instanceId, prev: this.lastHash };
    const hash = sha256Hex(canonicalJson(body));
    const line = Buffer.from(`${canonicalJson({ ...body, hash })}\n`, 'utf8');
    this.seq = seq;
    this.lastHash = hash;
    return { line, seq, hash };
  }

  private takeBatch(): Pending[] {
    if (!this.groupCommit) return this.queue.splice(0, 1);
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + (this.queue[n]?.line.length ?? 0) <= this.maxBatchBytes)) {
      bytes += this.queue[n]?.line.length ?? 0;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async drain(): Promise<void> {
    this.writing = true;
    let batch: Pending[] = [];
    try {
      while (this.queue.length > 0) {
        batch = this.takeBatch();
        await this.writeBatch(batch);
        this.records += batch.length;
        for (const p of batch) p.resolve({ seq: p.seq, hash: p.hash, file: p.file });
        batch = [];
      }
    } catch (err) {
      this.state = 'failed';
      this.failure = err;
      const failed = new ControlPlaneError('AUDIT_WRITE_FAILED', `audit write failed: ${errorMessage(err)}`, { cause: err });
      for (const p of [...batch, ...this.queue.splice(0)]) p.reject(failed);
    } finally {
      this.writing = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Writes a batch in order, rotating between records when the file would outgrow its limit. */
  private async writeBatch(batch: readonly Pending[]): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (const p of batch) {
      const size = this.fileBytes + chunkBytes;
      if (size > 0 && size + p.line.length > this.maxFileBytes) {
        await this.writeChunk(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        await this.rotate();
      }
      chunk.push(p.line);
      chunkBytes += p.line.length;
      p.file = this.currentFile;
    }
    await this.writeChunk(chunk, chunkBytes);
  }

  private async writeChunk(chunk: readonly Buffer[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    const buffer = chunk.length === 1 && chunk[0] !== undefined ? chunk[0] : Buffer.concat(chunk, bytes);
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await this.handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
    this.fileBytes += bytes;
    this.writes++;
    if (this.fsync) await this.handle.datasync();
  }

  private async rotate(): Promise<void> {
    await this.handle.close();
    this.index++;
    this.handle = await open(join(this.dir, this.currentFile), 'a', 0o600);
    this.fileBytes = 0;
    if (this.fsync) await syncDir(this.dir);
  }
}

/** Default liveness test: signal 0 reaches a live process (EPERM: alive, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(dir: string, instance: string, isAlive: (pid: number) => boolean): Promise<void> {
  const path = join(dir, lockFileName(instance));
  const content = `${JSON.stringify({ pid: process.pid, since: new Date().toISOString() })}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, content, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ControlPlaneError('AUDIT_OPEN_FAILED', `cannot lock audit instance ${instance}: ${errorMessage(err)}`, { cause: err });
      }
    }
    let holder: number | undefined;
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown };
      holder = typeof parsed.pid === 'number' ? parsed.pid : undefined;
    } catch {
      holder = undefined;
    }
    if (holder !== undefined && isAlive(holder)) {
      throw new ControlPlaneError('AUDIT_LOCKED', `audit instance ${instance} is being written by process ${holder}`, { details: { pid: holder } });
    }
    // The holder died without closing: its lock is stale.
    await rm(path, { force: true });
  }
  throw new ControlPlaneError('AUDIT_LOCKED', `audit instance ${instance}: lock contended`);
}

interface Head {
  readonly seq: number;
  readonly hash: string;
  readonly index: number;
  readonly size: number;
  readonly resumed: boolean;
  readonly created: boolean;
  readonly torn?: Omit<AuditQuarantine, 'seq'> & { readonly reason: string };
}

/** The last record of a line, if the line is one of this instance's records. */
function parseHead(text: string, instance: string): { seq: number; hash: string } | undefined {
  try {
    const value = JSON.parse(text) as { seq?: unknown; hash?: unknown; instance?: unknown };
    if (typeof value.seq === 'number' && Number.isInteger(value.seq) && typeof value.hash === 'string' && /^[0-9a-f]{64}$/.test(value.hash) && value.instance === instance) {
      return { seq: value.seq, hash: value.hash };
    }
  } catch {
    // Not a record: part of a torn tail.
  }
  return undefined;
}

/** Last complete record of a buffer, and where the torn part (if any) starts. */
function scanTail(content: Buffer, instance: string): { head?: { seq: number; hash: string }; tornStart: number } {
  let end = content.lastIndexOf(10);
  let tornStart = end + 1;
  while (end >= 0) {
    const start = end === 0 ? 0 : content.lastIndexOf(10, end - 1) + 1;
    const head = parseHead(content.toString('utf8', start, end), instance);
    if (head !== undefined) return { head, tornStart };
    tornStart = start;
    end = start - 1;
  }
  return { tornStart };
}

async function findHead(dir: string, instance: string, fsync: boolean, now: () => number): Promise<Head> {
  const files = await listAuditFiles(dir, instance);
  const last = files[files.length - 1];
  if (last === undefined) return { seq: 0, hash: GENESIS_HASH, index: 1, size: 0, resumed: false, created: true };
  const content = await readFile(last.path);
  const { head: found, tornStart } = scanTail(content, instance);
  const head = found ?? (await headBefore(files.slice(0, -1), instance));
  let torn: Head['torn'];
  if (tornStart < content.length) {
    const bytes = content.subarray(tornStart);
    const quarantineFile = quarantineFileName(last.name, now());
    await writeFile(join(dir, quarantineFile), bytes, { flag: 'wx', mode: 0o600 });
    if (fsync) await syncFile(join(dir, quarantineFile));
    await truncate(last.path, tornStart);
    if (fsync) {
      await syncFile(last.path);
      await syncDir(dir);
    }
    const unterminated = content[content.length - 1] !== 10;
    torn = {
      file: last.name,
      quarantineFile,
      offset: tornStart,
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
      reason: unterminated
        ? 'the last line of the audit file was incomplete (a write cut short by a crash); its bytes were moved to the quarantine file'
        : 'the last lines of the audit file were not audit records; their bytes were moved to the quarantine file',
    };
  }
  return { seq: head.seq, hash: head.hash, index: last.index, size: tornStart, resumed: true, created: false, ...(torn !== undefined ? { torn } : {}) };
}

/** The chain head in earlier files (when the newest one is empty or all torn). */
async function headBefore(files: readonly AuditFileRef[], instance: string): Promise<{ seq: number; hash: string }> {
  for (let i = files.length - 1; i >= 0; i--) {
    const file = files[i];
    if (file === undefined) continue;
    const { head } = scanTail(await readFile(file.path), instance);
    if (head !== undefined) return head;
  }
  return { seq: 0, hash: GENESIS_HASH };
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
