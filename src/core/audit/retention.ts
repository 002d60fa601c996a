import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorMessage } from '../errors';
import type { AuditLog } from './log';

/** One rotated audit file about to be removed, handed to the shipper. */
export interface AuditShipFile {
  readonly instance: string;
  readonly name: string;
  readonly path: string;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  readonly lastHash?: string;
}

/** Sends a file somewhere before it is removed; resolves once it is accepted, rejects otherwise (the file is kept). */
export type AuditShipper = (file: AuditShipFile) => Promise<void>;

export interface AuditRetentionOptions {
  /** Rotated files whose last write is older than this are removed (ms). */
  readonly maxAgeMs?: number;
  /** While the instance's files take more than this, its oldest rotated files are removed (bytes). */
  readonly maxTotalBytes?: number;
  /** Called for each file before it is removed; a rejection keeps the file and the files after it. */
  readonly ship?: AuditShipper;
  /** After a failed ship, retention runs again after this long (ms). Default 60 000. */
  readonly retryMs?: number;
  /** Warnings (a failed ship) and removals. */
  readonly log?: (message: string) => void;
  /** Epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

export interface AuditRetentionRun {
  readonly removed: readonly string[];
  /** The file whose shipping failed (kept, with every newer file). */
  readonly shipFailed?: { readonly file: string; readonly error: string };
}

/**
 * Applies retention to an open audit log at once, after every rotation, and again `retryMs` after a
 * failed ship. Only whole rotated files go, oldest first (the file being written never does): a
 * file older than `maxAgeMs`, and then the oldest while the files take more than `maxTotalBytes`.
 * Each is shipped first when `ship` is set; a failed ship stops the run there (the file stays and
 * is tried again later). The removal is recorded by `AuditLog.removeOldestFiles`, so `verify`
 * still holds and reports it. Runs never overlap. Returns the handle that stops it.
 */
export class AuditRetention {
  /** The last run started or queued; a new run starts after it. */
  private tail: Promise<AuditRetentionRun> = Promise.resolve({ removed: [] });
  /** A run queued and not started yet: further requests share it. */
  private queued: Promise<AuditRetentionRun> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly log: AuditLog,
    private readonly options: AuditRetentionOptions,
  ) {
    this.subscription = log.onDidRotate(() => void this.run());
  }

  get enabled(): boolean {
    return this.options.maxAgeMs !== undefined || this.options.maxTotalBytes !== undefined;
  }

  /** Runs retention after the run under way, if any (requests made meanwhile share that one run). */
  run(): Promise<AuditRetentionRun> {
    if (this.disposed || !this.enabled) return Promise.resolve({ removed: [] });
    if (this.queued !== undefined) return this.queued;
    const next = this.tail.then(() => {
      this.queued = undefined;
      if (this.disposed) return { removed: [] };
      return this.runOnce().catch((err: unknown): AuditRetentionRun => {
        this.options.log?.(`audit retention: ${errorMessage(err)}`);
        return { removed: [] };
      });
    });
    this.queued = next;
    this.tail = next;
    return next;
  }

  dispose(): void {
    this.disposed = true;
    this.subscription.dispose();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
  }

  private async runOnce(): Promise<AuditRetentionRun> {
    const { maxAgeMs, maxTotalBytes } = this.options;
    const now = (this.options.now ?? Date.now)();
    const candidates = this.log.rotatedFiles;
    const sizes = new Map<string, { bytes: number; mtimeMs: number }>();
    for (const f of candidates) {
      try {
        const s = await stat(f.path);
        sizes.set(f.name, { bytes: s.size, mtimeMs: s.mtimeMs });
      } catch {
        sizes.set(f.name, { bytes: 0, mtimeMs: 0 });
      }
    }
    let current = 0;
    try {
      current = (await stat(`${this.log.dir}/${this.log.currentFile}`)).size;
    } catch {
      current = 0;
    }
    let total = current + [...sizes.values()].reduce((n, s) => n + s.bytes, 0);
    const due: (typeof candidates)[number][] = [];
    for (const f of candidates) {
      const s = sizes.get(f.name) ?? { bytes: 0, mtimeMs: 0 };
      const old = maxAgeMs !== undefined && now - s.mtimeMs > maxAgeMs;
      const over = maxTotalBytes !== undefined && total > maxTotalBytes;
      if (!old && !over) break;
      due.push(f);
      total -= s.bytes;
    }
    // Ship the due files oldest first; the removal covers the prefix that shipped.
    const ready: (typeof due)[number][] = [];
    let shipFailed: AuditRetentionRun['shipFailed'];
    for (const f of due) {
      if (this.disposed) break;
      if (this.options.ship !== undefined) {
        try {
          await this.options.ship({ instance: this.log.instanceId, ...f });
        } catch (err) {
          const error = errorMessage(err);
          this.options.log?.(`audit retention: shipping ${f.name} failed (${error}); it is kept and tried again in ${Math.round((this.options.retryMs ?? 60_000) / 1000)} s`);
          this.scheduleRetry();
          shipFailed = { file: f.name, error };
          break;
        }
      }
      ready.push(f);
    }
    const first = ready[0];
    const last = ready[ready.length - 1];
    if (first === undefined || last === undefined || this.disposed) return { removed: [], ...(shipFailed !== undefined ? { shipFailed } : {}) };
    const recorded = await this.log.removeOldestFiles(ready.length, { shipped: this.options.ship !== undefined });
    if (recorded === undefined) return { removed: [], ...(shipFailed !== undefined ? { shipFailed } : {}) };
    const removed = ready.map((f) => f.name);
    this.options.log?.(`audit retention: removed ${removed.length} file${removed.length === 1 ? '' : 's'} ${first.name}..${last.name} (seq ${first.firstSeq ?? '?'}..${last.lastSeq ?? '?'}${this.options.ship !== undefined ? ', shipped first' : ''}), recorded as seq ${recorded.seq}`);
    return { removed, ...(shipFailed !== undefined ? { shipFailed } : {}) };
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.disposed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.run();
    }, this.options.retryMs ?? 60_000);
    this.retryTimer.unref();
  }
}

/** Ships a file as its JSONL lines in one HTTP POST (`application/x-ndjson`); any status but 2xx fails. */
export function httpShipper(url: string, timeoutMs = 30_000): AuditShipper {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`audit shipping URL must be http(s), not ${target.protocol}`);
  return (file) =>
    new Promise<void>((resolve, reject) => {
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(target, {
        method: 'POST',
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/x-ndjson',
          'x-mcpcp-audit-instance': file.instance,
          'x-mcpcp-audit-file': file.name,
          ...(file.firstSeq !== undefined ? { 'x-mcpcp-audit-first-seq': String(file.firstSeq) } : {}),
          ...(file.lastSeq !== undefined ? { 'x-mcpcp-audit-last-seq': String(file.lastSeq) } : {}),
        },
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () => (status >= 200 && status < 300 ? resolve() : reject(new Error(`the sink answered HTTP ${status}`))));
        res.on('error', reject);
      });
      const body = createReadStream(file.path);
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    });
}

/**
 * Ships a file by running `argv` (no shell) with the file's JSONL on stdin; exit code 0 is success.
 * The child gets `MCPCP_AUDIT_FILE`, `MCPCP_AUDIT_INSTANCE`, `MCPCP_AUDIT_FIRST_SEQ`, `MCPCP_AUDIT_LAST_SEQ`.
 */
export function commandShipper(argv: readonly string[], timeoutMs = 300_000): AuditShipper {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('audit shipping command is empty');
  return (file) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: {
          ...process.env,
          MCPCP_AUDIT_FILE: file.name,
          MCPCP_AUDIT_INSTANCE: file.instance,
          MCPCP_AUDIT_FIRST_SEQ: String(file.firstSeq ?? ''),
          MCPCP_AUDIT_LAST_SEQ: String(file.lastSeq ?? ''),
        },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString('utf8');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${command} ${signal !== null ? `was killed (${signal})` : `exited with ${code}`}${stderr.trim() !== '' ? `: ${stderr.trim().slice(0, 300)}` : ''}`));
      });
      // A command that does not read its stdin fails through its exit code, not EPIPE.
      child.stdin.on('error', () => undefined);
      const body = createReadStream(file.path);
      body.on('error', (err) => child.stdin.destroy(err));
      body.pipe(child.stdin);
    });
}

/** The operator's `audit.retention` settings, with secrets already resolved. */
export interface AuditRetentionConfig {
  readonly maxAgeDays?: number;
  readonly maxTotalBytes?: number;
  readonly ship?: { readonly url: string } | { readonly command: readonly string[] };
  readonly retrySeconds?: number;
}

/** Retention options from configuration (`ship.url` already resolved from its `${secret:…}`). */
export function retentionOptions(config: AuditRetentionConfig, log?: (message: string) => void): AuditRetentionOptions {
  const ship = config.ship === undefined ? undefined : 'url' in config.ship ? httpShipper(config.ship.url) : commandShipper(config.ship.command);
  return {
    ...(config.maxAgeDays !== undefined ? { maxAgeMs: config.maxAgeDays * 86_400_000 } : {}),
    ...(config.maxTotalBytes !== undefined ? { maxTotalBytes: config.maxTotalBytes } : {}),
    ...(ship !== undefined ? { ship } : {}),
    ...(config.retrySeconds !== undefined ? { retryMs: config.retrySeconds * 1000 } : {}),
    ...(log !== undefined ? { log } : {}),
  };
}

/**
 * Retention options from the operator's `audit.retention`, resolving `ship.url` through
 * `resolveSecret`. Undefined when nothing is to be removed (the default: keep everything), or when
 * the sink's secret cannot be resolved (logged; files are then kept rather than removed unshipped).
 */
export async function resolveAuditRetention(
  config: AuditRetentionConfig,
  resolveSecret: (reference: string) => Promise<string>,
  log?: (message: string) => void,
): Promise<AuditRetentionOptions | undefined> {
  if (config.maxAgeDays === undefined && config.maxTotalBytes === undefined) return undefined;
  let ship = config.ship;
  if (ship !== undefined && 'url' in ship) {
    try {
      ship = { url: await resolveSecret(ship.url) };
      return retentionOptions({ ...config, ship }, log);
    } catch (err) {
      log?.(`audit retention: off, every audit file is kept: the shipping URL ${config.ship && 'url' in config.ship ? config.ship.url : ''} cannot be used (${errorMessage(err)})`);
      return undefined;
    }
  }
  return retentionOptions(config, log);
}
