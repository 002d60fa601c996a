import { mkdir, open, readFile, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import { Emitter, type Event } from '../events';
import type { Redactor } from '../redact';
import { ChainWriter, type ChainFailure, type ChainPending, type LostRecord, type SealedRecord } from './chain-writer';
import { defaultCheckpointDir, readCheckpoint, signCheckpoint, writeCheckpoint, type AuditManifestEntry, type AuditRemovedFiles } from './checkpoint';
import { INSTANCE_ID_RE, auditFileIndex, auditFileName, listAuditFiles, lockFileName, quarantineFileName, readLines, syncDir, type AuditFileRef } from './files';
import type { AuditKeyring } from './keys';
import { GENESIS_HASH } from './record';
import type { AuditSink } from './sink';

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
  /** Applied to every event before it is signed and written, `args` included. */
  readonly redactor: Redactor;
  /** The keys that sign records and checkpoints (see `keys.ts`); records use the current one. */
  readonly keys: AuditKeyring;
  /** Where the instance's checkpoint lives. Default: `audit-checkpoints` next to `dir`. */
  readonly checkpointDir?: string;
  /** The checkpoint is rewritten at most this often while records arrive (ms). Default 1000. */
  readonly checkpointIntervalMs?: number;
  /** While writes fail, how often a write is tried again (ms). Default 2000. */
  readonly probeIntervalMs?: number;
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
  /** The checkpoint did not match the files (recorded as `audit.checkpoint-mismatch`). */
  readonly checkpointMismatch?: string;
}

/**
 * Whether the log can be written. `failing`: since when (epoch ms), how many calls were refused
 * (`noteRefused`) and records lost meanwhile, and the last error.
 */
export type AuditHealth =
  | {
      readonly state: 'ok';
      /** On the event that ends a failure: the gap, and the seq of its `audit.write-resumed` record. */
      readonly resumed?: { readonly since: number; readonly until: number; readonly refusedCount: number; readonly lostRecords: number; readonly seq: number };
    }
  | { readonly state: 'failing'; readonly since: number; readonly refusedCount: number; readonly lostRecords: number; readonly lastError: string };

interface Pending extends ChainPending<AuditAppendResult> {
  readonly line: Buffer;
  file: string;
}

const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Append-only, keyed (HMAC-SHA256) hash-chained, redacted audit log of one running instance.
 *
 * Guarantees:
 * - Order: records get `seq` and `prev` in the order `append` is called, and are written in that
 *   order; the promises resolve in that order.
 * - Durability: an `append` resolves only after its line is written and (with `fsync`) fdatasync'd.
 *   Appends that arrive while a write is in flight are written together (group commit), so
 *   throughput grows with concurrency at the same durability.
 * - Integrity: each record is signed with the keyring's current key (`kid`) and carries the
 *   previous record's MAC; a keyed checkpoint (head and file manifest, see `checkpoint.ts`) is kept
 *   in another folder, so edits, cut-off ends and deleted files are found by `verifyAudit`. A key
 *   change is an `audit.key-rotated` record (at open, or `rotateKey`).
 * - Redaction: the event goes through the redactor before anything is signed or written; `args`
 *   (a call's policy inputs) goes through it too: secrets never reach the audit.
 * - Rotation: before a record would take a file past `maxFileBytes`, a new file with the next index
 *   starts; the chain simply continues (its first record's `prev` is the last record's `hash`).
 * - Crash repair: at open, bytes after the last complete, parseable line of the instance's newest
 *   file (a torn write from a crash) are moved to `<file>.torn-<ms>`, the file is cut there, and an
 *   `audit.tail-quarantined` record (offset, size, SHA-256 of the bytes) is appended before `open`
 *   resolves. A checkpoint that the files no longer reach is recorded as `audit.checkpoint-mismatch`
 *   before the checkpoint is replaced. Nothing is dropped or merged silently.
 * - Failure is a state, not an end: after a write error (a full disk), `health` is `failing` and
 *   every append rejects at once with `AUDIT_WRITE_FAILED` (the caller refuses calls). Every
 *   `probeIntervalMs`, and on `probe()`, the log cuts what a failed write left in the file, and tries
 *   to write an `audit.write-resumed` record describing the gap (since, until, refused calls, the
 *   records lost); when that is durable, `health` is `ok` again and appends work.
 */
export class AuditLog extends ChainWriter<AuditAppendResult, Pending> implements AuditSink {
  readonly dir: string;
  readonly checkpointDir: string;
  readonly openReport: AuditOpenReport;
  private readonly maxFileBytes: number;
  private readonly maxBatchBytes: number;
  private readonly fsync: boolean;
  private readonly groupCommit: boolean;
  private index: number;
  private handle: FileHandle | undefined;
  /** Durable bytes of the current file. */
  private fileBytes: number;
  private manifest: Map<number, { firstSeq?: number; lastSeq?: number; lastHash?: string }>;
  /** What retention removed from the start of the chain (recorded in the checkpoint). */
  private removed: AuditRemovedFiles | undefined;
  private readonly rotated = new Emitter<string>();
  /** Fires with the name of the file that was just completed, after each rotation. */
  readonly onDidRotate: Event<string> = this.rotated.event;
  private writes = 0;
  private checkpointedSeq = -1;

  private constructor(
    options: AuditLogOptions,
    start: { head: Head; handle: FileHandle; report: AuditOpenReport; manifest: AuditLog['manifest']; removed: AuditRemovedFiles | undefined },
  ) {
    super({
      instanceId: options.instanceId,
      redactor: options.redactor,
      keys: options.keys,
      now: options.now ?? Date.now,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 1000,
      probeIntervalMs: options.probeIntervalMs ?? 2000,
      head: { seq: start.head.seq, hash: start.head.hash, kid: start.head.kid },
    });
    this.dir = options.dir;
    this.checkpointDir = options.checkpointDir ?? defaultCheckpointDir(options.dir);
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.fsync = options.fsync ?? true;
    this.groupCommit = options.groupCommit ?? true;
    this.index = start.head.index;
    this.handle = start.handle;
    this.fileBytes = start.head.size;
    this.manifest = start.manifest;
    this.removed = start.removed;
    this.openReport = start.report;
  }

  /**
   * Opens (or creates) the instance's log: takes the lock, finds the chain head, quarantines a
   * torn tail, compares the checkpoint with the files, switches to the keyring's current key
   * (see the class comment). Fails with `AUDIT_LOCKED` when a live process holds the instance,
   * `AUDIT_OPEN_FAILED` on I/O errors.
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    if (!INSTANCE_ID_RE.test(options.instanceId)) {
      throw new ControlPlaneError('AUDIT_BAD_INSTANCE', `audit instance id "${options.instanceId}" must match ${INSTANCE_ID_RE}`);
    }
    if (!options.keys.keys.has(options.keys.current)) throw new ControlPlaneError('AUDIT_KEY_INVALID', `the audit key ring has no key ${options.keys.current}`);
    const isAlive = options.isProcessAlive ?? isProcessAlive;
    const fsync = options.fsync ?? true;
    const checkpointDir = options.checkpointDir ?? defaultCheckpointDir(options.dir);
    try {
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      await mkdir(checkpointDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new ControlPlaneError('AUDIT_OPEN_FAILED', `cannot create audit directory ${options.dir}: ${errorMessage(err)}`, { cause: err });
    }
    await acquireLock(options.dir, options.instanceId, isAlive);
    let handle: FileHandle | undefined;
    try {
      const all = await listAuditFiles(options.dir, options.instanceId);
      const previous = await readCheckpoint(checkpointDir, options.instanceId, options.keys);
      // Files retention recorded as removed but a crash left on disk: out of the chain, deleted below.
      const removed = previous.status === 'ok' ? previous.checkpoint.removed : undefined;
      const removedThrough = removed !== undefined ? (auditFileIndex(removed.lastFile) ?? 0) : 0;
      const leftovers = all.filter((f) => f.index <= removedThrough && all[all.length - 1] !== f);
      const files = all.filter((f) => !leftovers.includes(f));
      const head = await findHead(options.dir, options.instanceId, files, fsync, options.now ?? Date.now);
      const manifest = await buildManifest(files, head, previous.status === 'ok' ? previous.checkpoint.files : []);
      const mismatch = checkpointMismatch(previous, head, files);
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
        ...(mismatch !== undefined ? { checkpointMismatch: mismatch.reason } : {}),
      };
      const log = new AuditLog(options, { head, handle, report, manifest, removed });
      const opening: Promise<AuditAppendResult>[] = [];
      if (log.kid !== options.keys.current && head.seq > 0) opening.push(log.append({ type: 'audit.key-rotated', reason: 'the key ring names another current key', detail: { from: log.kid ?? null, to: options.keys.current } }));
      if (torn !== undefined) {
        opening.push(log.append({
          type: 'audit.tail-quarantined',
          reason: torn.reason,
          detail: { file: torn.file, quarantineFile: torn.quarantineFile, offset: torn.offset, bytes: torn.bytes, sha256: torn.sha256 },
        }));
      }
      if (mismatch !== undefined) opening.push(log.append({ type: 'audit.checkpoint-mismatch', reason: mismatch.reason, detail: mismatch.detail }));
      await Promise.all(opening);
      await log.writeCheckpointNow();
      for (const f of leftovers) await rm(f.path, { force: true });
      if (leftovers.length > 0 && fsync) await syncDir(options.dir);
      return log;
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await rm(join(options.dir, lockFileName(options.instanceId)), { force: true });
      if (err instanceof ControlPlaneError) throw err;
      throw new ControlPlaneError('AUDIT_OPEN_FAILED', `cannot open audit log in ${options.dir}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The file currently written (name only). */
  get currentFile(): string {
    return auditFileName(this.instanceId, this.index);
  }

  /** Counters: records acknowledged, and the writes (each followed by one fsync) they took. */
  get stats(): { readonly records: number; readonly writes: number } {
    return { records: this.records, writes: this.writes };
  }

  protected startDrain(): void {
    if (!this.writing) void this.drain();
  }

  protected pending(sealed: SealedRecord, lost: LostRecord, resolve: (result: AuditAppendResult) => void, reject: (err: unknown) => void): Pending {
    return { line: Buffer.from(`${sealed.text}\n`, 'utf8'), seq: sealed.seq, hash: sealed.mac, lost, file: '', resolve, reject };
  }

  protected ack(p: Pending): AuditAppendResult {
    return { seq: p.seq, hash: p.hash, file: p.file };
  }

  protected writeCheckpoint(): Promise<void> {
    return this.writeCheckpointNow();
  }

  protected checkpointFailed(err: unknown, when: 'scheduled' | 'closing'): void {
    // The closing checkpoint is best effort: the next open checks the files and writes one.
    if (when === 'closing') return;
    // A checkpoint that cannot be written is an audit that cannot be written.
    if (this.state !== 'open') return;
    this.enterFailing(err);
    if (!this.writing) this.giveUp([]);
  }

  /** Closes the file and releases the instance lock (after the last checkpoint). */
  protected async release(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    await rm(join(this.dir, lockFileName(this.instanceId)), { force: true });
    this.rotated.dispose();
  }

  protected unavailable(): ControlPlaneError {
    if (this.state === 'failing') {
      return new ControlPlaneError('AUDIT_WRITE_FAILED', `the audit log ${this.instanceId} cannot be written: ${this.failure?.lastError ?? 'unknown error'}`);
    }
    return new ControlPlaneError('AUDIT_CLOSED', `audit log ${this.instanceId} is closed`);
  }

  protected takeBatch(): Pending[] {
    if (!this.groupCommit) return this.queue.splice(0, 1);
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + (this.queue[n]?.line.length ?? 0) <= this.maxBatchBytes)) {
      bytes += this.queue[n]?.line.length ?? 0;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Writes a batch in order, rotating between records when the file would outgrow its limit; acknowledges per durable chunk. */
  protected async writeBatch(batch: readonly Pending[]): Promise<void> {
    let chunk: Pending[] = [];
    let chunkBytes = 0;
    for (const p of batch) {
      const size = this.fileBytes + chunkBytes;
      if (size > 0 && size + p.line.length > this.maxFileBytes) {
        await this.writeChunk(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        await this.rotate();
      }
      chunk.push(p);
      chunkBytes += p.line.length;
      p.file = this.currentFile;
    }
    await this.writeChunk(chunk, chunkBytes);
  }

  private async writeChunk(chunk: readonly Pending[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    const buffer = chunk.length === 1 && chunk[0] !== undefined ? chunk[0].line : Buffer.concat(chunk.map((p) => p.line), bytes);
    await this.writeBytes(buffer);
    const last = chunk[chunk.length - 1];
    const first = chunk[0];
    if (last !== undefined && first !== undefined) this.markDurable(first.seq, last.seq, last.hash);
    this.records += chunk.length;
    this.scheduleCheckpoint();
  }

  /** Writes and syncs bytes at the end of the current file; `fileBytes` counts them only once synced. */
  private async writeBytes(buffer: Buffer): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) throw new Error('no audit file is open');
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
    this.writes++;
    if (this.fsync) await handle.datasync();
    this.fileBytes += buffer.length;
  }

  private markDurable(firstSeq: number, lastSeq: number, lastHash: string): void {
    this.durableSeq = lastSeq;
    this.durableHash = lastHash;
    const entry = this.manifest.get(this.index) ?? {};
    this.manifest.set(this.index, { firstSeq: entry.firstSeq ?? firstSeq, lastSeq, lastHash });
  }

  private async rotate(): Promise<void> {
    const old = this.handle;
    this.handle = undefined;
    this.index++;
    this.fileBytes = 0;
    await old?.close();
    this.handle = await open(join(this.dir, this.currentFile), 'a', 0o600);
    this.manifest.set(this.index, {});
    if (this.fsync) await syncDir(this.dir);
    this.rotated.fire(auditFileName(this.instanceId, this.index - 1));
  }

  // ---- Retention ----------------------------------------------------------------------------

  /** The complete (rotated) files still in the chain, oldest first: never the file being written. */
  get rotatedFiles(): readonly (AuditManifestEntry & { readonly path: string })[] {
    return [...this.manifest.entries()]
      .filter(([index]) => index < this.index)
      .sort((a, b) => a[0] - b[0])
      .map(([index, e]) => ({ name: auditFileName(this.instanceId, index), path: join(this.dir, auditFileName(this.instanceId, index)), ...e }));
  }

  /** What retention removed so far (from the checkpoint). */
  get removedFiles(): AuditRemovedFiles | undefined {
    return this.removed;
  }

  /**
   * Removes the `count` oldest rotated files from the chain: appends `audit.files-removed` (the
   * files, their seqs, the last removed MAC, the cumulative total), writes the checkpoint that
   * records the removal, then deletes the files. A crash in between leaves files the next open
   * deletes (the checkpoint already records them) or files still listed (nothing removed yet).
   */
  async removeOldestFiles(count: number, detail: Record<string, unknown> = {}): Promise<AuditAppendResult | undefined> {
    const victims = this.rotatedFiles.slice(0, count).filter((f) => f.lastSeq !== undefined && f.lastHash !== undefined);
    const last = victims[victims.length - 1];
    if (last?.lastSeq === undefined || last.lastHash === undefined) return undefined;
    const firstSeq = this.removed?.firstSeq ?? victims[0]?.firstSeq ?? 1;
    const total: AuditRemovedFiles = { files: (this.removed?.files ?? 0) + victims.length, firstSeq, lastSeq: last.lastSeq, lastHash: last.lastHash, lastFile: last.name };
    const result = await this.append({
      type: 'audit.files-removed',
      reason: `retention removed ${victims.length} audit file${victims.length === 1 ? '' : 's'} (seq ${victims[0]?.firstSeq ?? '?'}..${last.lastSeq})`,
      detail: { ...detail, files: victims.map((f) => ({ name: f.name, firstSeq: f.firstSeq ?? null, lastSeq: f.lastSeq ?? null, lastHash: f.lastHash ?? null })), total: { ...total } },
    });
    for (const f of victims) {
      const index = auditFileIndex(f.name);
      if (index !== undefined) this.manifest.delete(index);
    }
    this.removed = total;
    this.checkpointedSeq = -1;
    await this.writeCheckpointNow();
    for (const f of victims) await rm(f.path, { force: true });
    if (this.fsync) await syncDir(this.dir);
    return result;
  }

  // ---- Failure and recovery -----------------------------------------------------------------

  /** Cuts what failed writes left, writes the gap record and a checkpoint (the log is `open` again once all are durable). */
  protected async resume(f: ChainFailure): Promise<Extract<AuditHealth, { state: 'ok' }>['resumed']> {
    await this.checkpointing?.catch(() => undefined);
    if (!this.writing && this.queue.length === 0) this.rewind();
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, this.currentFile);
    this.handle = await open(path, 'a', 0o600);
    const size = (await this.handle.stat()).size;
    if (size > this.fileBytes) {
      await this.handle.truncate(this.fileBytes);
      if (this.fsync) await this.handle.sync();
    }
    if (!this.manifest.has(this.index)) this.manifest.set(this.index, {});
    const until = this.now();
    const { text, seq, mac } = this.seal(
      this.gapEvent(f, until, `the audit log could not be written for ${Math.round((until - f.since) / 1000)} s (${f.firstError}); ${f.refused} calls were refused and ${f.lostCount} records were not written meanwhile`),
    );
    // All or nothing: the gap record counts only once the checkpoint naming it is written too. When
    // the checkpoint fails (its folder may sit on another, still full, disk; a new file needs a new
    // page where an append did not), the record is cut again and the chain rewound, so the next
    // attempt writes one gap record for the whole failure rather than a second, overlapping one.
    const before = { fileBytes: this.fileBytes, seq: this.durableSeq, hash: this.durableHash, entry: this.manifest.get(this.index) ?? {} };
    try {
      await this.writeBytes(Buffer.from(`${text}\n`, 'utf8'));
      this.markDurable(seq, seq, mac);
      await this.writeCheckpointNow();
    } catch (err) {
      this.fileBytes = before.fileBytes;
      this.durableSeq = before.seq;
      this.durableHash = before.hash;
      this.manifest.set(this.index, before.entry);
      // Cutting frees space and needs none; should it fail too, the next attempt cuts to `fileBytes` first.
      await this.handle?.truncate(before.fileBytes).catch(() => undefined);
      throw err;
    }
    this.records++;
    return { since: f.since, until, refusedCount: f.refused, lostRecords: f.lostCount, seq };
  }

  // ---- Checkpoint ---------------------------------------------------------------------------

  /** Writes the checkpoint for the durable head (one write at a time; skipped when nothing changed). */
  private async writeCheckpointNow(): Promise<void> {
    while (this.checkpointing !== undefined) await this.checkpointing.catch(() => undefined);
    if (this.checkpointedSeq === this.durableSeq && this.keys.current === this.checkpointKid) return;
    const seq = this.durableSeq;
    const kid = this.keys.current;
    const files: AuditManifestEntry[] = [...this.manifest.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, e]) => ({ name: auditFileName(this.instanceId, index), ...(e.firstSeq !== undefined ? { firstSeq: e.firstSeq } : {}), ...(e.lastSeq !== undefined ? { lastSeq: e.lastSeq } : {}), ...(e.lastHash !== undefined ? { lastHash: e.lastHash } : {}) }));
    const checkpoint = signCheckpoint(this.keys, {
      instance: this.instanceId,
      ts: new Date(this.now()).toISOString(),
      head: { seq, hash: this.durableHash, file: this.headFile(seq) },
      files,
      ...(this.removed !== undefined ? { removed: this.removed } : {}),
    });
    this.lastCheckpointAt = this.now();
    this.checkpointing = writeCheckpoint(this.checkpointDir, checkpoint, this.fsync);
    try {
      await this.checkpointing;
      this.checkpointedSeq = seq;
      this.checkpointKid = kid;
    } finally {
      this.checkpointing = undefined;
    }
  }

  private checkpointKid: string | undefined;

  /** The file that holds record `seq` (the current one when none has records yet). */
  private headFile(seq: number): string {
    for (const [index, e] of this.manifest) if (e.lastSeq === seq) return auditFileName(this.instanceId, index);
    return this.currentFile;
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

interface Head extends ChainPoint {
  readonly index: number;
  /** First and last record of the newest file (none when it holds no complete record). */
  readonly newest?: { readonly firstSeq: number; readonly lastSeq: number; readonly lastHash: string };
  readonly size: number;
  readonly resumed: boolean;
  readonly created: boolean;
  readonly torn?: Omit<AuditQuarantine, 'seq'> & { readonly reason: string };
}

interface ChainPoint {
  readonly seq: number;
  readonly hash: string;
  /** Key of the record; undefined for a record of the unkeyed format (and for the genesis). */
  readonly kid?: string;
}

/** The last record of a line, if the line is one of this instance's records. */
function parseHead(text: string, instance: string): ChainPoint | undefined {
  try {
    const value = JSON.parse(text) as { seq?: unknown; hash?: unknown; instance?: unknown; kid?: unknown };
    if (typeof value.seq === 'number' && Number.isInteger(value.seq) && typeof value.hash === 'string' && /^[0-9a-f]{64}$/.test(value.hash) && value.instance === instance) {
      return { seq: value.seq, hash: value.hash, ...(typeof value.kid === 'string' ? { kid: value.kid } : {}) };
    }
  } catch {
    // Not a record: part of a torn tail.
  }
  return undefined;
}

/** Last complete record of a buffer, and where the torn part (if any) starts. */
function scanTail(content: Buffer, instance: string): { head?: ChainPoint; tornStart: number } {
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

async function findHead(dir: string, instance: string, files: readonly AuditFileRef[], fsync: boolean, now: () => number): Promise<Head> {
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
  let newest: Head['newest'];
  if (found !== undefined) {
    const firstEnd = content.indexOf(10);
    const first = firstEnd > 0 ? parseHead(content.toString('utf8', 0, firstEnd), instance) : undefined;
    newest = { firstSeq: first?.seq ?? found.seq, lastSeq: found.seq, lastHash: found.hash };
  }
  return { ...head, index: last.index, size: tornStart, resumed: true, created: false, ...(newest !== undefined ? { newest } : {}), ...(torn !== undefined ? { torn } : {}) };
}

/** The chain head in earlier files (when the newest one is empty or all torn). */
async function headBefore(files: readonly AuditFileRef[], instance: string): Promise<ChainPoint> {
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

type Manifest = Map<number, { firstSeq?: number; lastSeq?: number; lastHash?: string }>;

/**
 * The manifest the writer carries on: entries of the previous (valid) checkpoint for files it
 * listed that are complete (not the newest), the others read from the files.
 */
async function buildManifest(files: readonly AuditFileRef[], head: Head, previous: readonly AuditManifestEntry[]): Promise<Manifest> {
  const known = new Map(previous.map((e) => [e.name, e]));
  const manifest: Manifest = new Map();
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    if (f === undefined) continue;
    const prior = known.get(f.name);
    const isNewest = i === files.length - 1;
    if (isNewest) {
      manifest.set(f.index, head.newest ?? {});
    } else if (prior !== undefined && prior.lastSeq !== undefined) {
      manifest.set(f.index, { ...(prior.firstSeq !== undefined ? { firstSeq: prior.firstSeq } : {}), lastSeq: prior.lastSeq, ...(prior.lastHash !== undefined ? { lastHash: prior.lastHash } : {}) });
    } else {
      manifest.set(f.index, await summarizeFile(f.path, f.instance));
    }
  }
  if (!manifest.has(head.index)) manifest.set(head.index, {});
  return manifest;
}

/** First and last record of a file (complete lines of the instance only). */
async function summarizeFile(path: string, instance: string): Promise<{ firstSeq?: number; lastSeq?: number; lastHash?: string }> {
  let first: ChainPoint | undefined;
  let last: ChainPoint | undefined;
  for await (const { text, terminated } of readLines(path)) {
    if (!terminated) break;
    const point = parseHead(text, instance);
    if (point === undefined) continue;
    first ??= point;
    last = point;
  }
  return { ...(first !== undefined ? { firstSeq: first.seq } : {}), ...(last !== undefined ? { lastSeq: last.seq, lastHash: last.hash } : {}) };
}

/** Why the previous checkpoint and the files disagree, if they do. */
function checkpointMismatch(
  previous: Awaited<ReturnType<typeof readCheckpoint>>,
  head: Head,
  files: readonly AuditFileRef[],
): { reason: string; detail: Record<string, unknown> } | undefined {
  const found = { seq: head.seq, hash: head.hash, files: files.map((f) => f.name) };
  if (previous.status === 'missing') {
    // A chain of the unkeyed format had no checkpoint: its first keyed open writes one.
    if (head.seq > 0 && head.kid !== undefined) return { reason: `no checkpoint for an instance with ${head.seq} records: it was deleted`, detail: { found } };
    return undefined;
  }
  if (previous.status === 'invalid') return { reason: `the checkpoint is not valid (${previous.reason})`, detail: { found } };
  const cp = previous.checkpoint;
  const present = new Set(files.map((f) => f.name));
  const missing = cp.files.filter((e) => !present.has(e.name) && e.lastSeq !== undefined).map((e) => e.name);
  const expected = { seq: cp.head.seq, hash: cp.head.hash, file: cp.head.file };
  if (missing.length > 0) return { reason: `audit files the checkpoint lists are gone: ${missing.join(', ')}`, detail: { checkpoint: expected, found, missing } };
  if (cp.head.seq > head.seq) return { reason: `records were cut off: the checkpoint names seq ${cp.head.seq}, the files end at seq ${head.seq}`, detail: { checkpoint: expected, found } };
  if (cp.head.seq === head.seq && cp.head.hash !== head.hash) return { reason: `the last record (seq ${head.seq}) is not the one the checkpoint names`, detail: { checkpoint: expected, found } };
  return undefined;
}
