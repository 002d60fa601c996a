/**
 * Sessions pooled per device. Guarantees: at most one session per device, used by one caller at a
 * time (callers queue in arrival order); a session idle for `idleMs` is closed; a session found
 * closed (dropped while idle, broken by a timeout) is replaced on next use; a session that drops
 * in the middle of a call is reopened and the call retried once when the caller says it is safe
 * to repeat (read-only work), never for configuration changes. The fan-out limit bounds how many
 * devices are worked on at once across all tools.
 */
import { ControlPlaneError } from '../../core/errors';
import type { Logger } from '../kit';
import { NetworkErrorCode } from './client';
import type { Session } from './session';

/** A counting semaphore: at most `limit` holders; waiters served in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const go = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new ControlPlaneError(NetworkErrorCode.cancelled, 'cancelled while waiting for the fan-out limit'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(go);
      });
    } else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.active--;
    }
  }
}

interface Entry {
  session: Session | undefined;
  tail: Promise<unknown>;
  idle: NodeJS.Timeout | undefined;
}

export interface PoolOptions {
  readonly idleMs: number;
  readonly log: Logger;
  /** Opens a new session to the device (connect, log in). */
  readonly open: (device: string, signal?: AbortSignal) => Promise<Session>;
}

export interface UseOptions {
  /** Retry once on a new session when the connection drops mid-call (only for repeatable work). */
  readonly retryOnDrop: boolean;
  readonly signal?: AbortSignal | undefined;
}

export class SessionPool {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly options: PoolOptions) {}

  /** Runs `fn` with the device's session, exclusively. */
  async use<T>(device: string, fn: (session: Session) => Promise<T>, opts: UseOptions): Promise<T> {
    if (this.closed) throw new ControlPlaneError(NetworkErrorCode.cancelled, 'the server is shutting down');
    let entry = this.entries.get(device);
    if (entry === undefined) {
      entry = { session: undefined, tail: Promise.resolve(), idle: undefined };
      this.entries.set(device, entry);
    }
    const e = entry;
    const run = async (): Promise<T> => {
      opts.signal?.throwIfAborted();
      if (e.idle !== undefined) clearTimeout(e.idle);
      try {
        const session = await this.ensure(e, device, opts.signal);
        try {
          return await fn(session);
        } catch (err) {
          if (!(err instanceof ControlPlaneError) || err.code !== NetworkErrorCode.dropped || !opts.retryOnDrop || this.closed) throw err;
          this.options.log.info(`${device}: connection dropped mid-command; reconnecting once`);
          this.discard(e);
          const again = await this.ensure(e, device, opts.signal);
          return await fn(again);
        }
      } finally {
        this.armIdle(e, device);
      }
    };
    const result = e.tail.then(run, run);
    e.tail = result.catch(() => undefined);
    return result;
  }

  private async ensure(e: Entry, device: string, signal?: AbortSignal): Promise<Session> {
    if (e.session !== undefined && !e.session.isClosed) return e.session;
    this.discard(e);
    e.session = await this.options.open(device, signal);
    return e.session;
  }

  private discard(e: Entry): void {
    try {
      e.session?.close();
    } catch {
      // Already gone.
    }
    e.session = undefined;
  }

  private armIdle(e: Entry, device: string): void {
    if (e.idle !== undefined) clearTimeout(e.idle);
    if (e.session === undefined || this.closed) return;
    e.idle = setTimeout(() => {
      this.options.log.debug(`${device}: idle, closing the session`);
      // Only when no call is queued: the tail settles when the queue is empty.
      this.discard(e);
    }, this.options.idleMs);
    e.idle.unref();
  }

  /** Sessions open right now. */
  openCount(): number {
    return [...this.entries.values()].filter((e) => e.session !== undefined && !e.session.isClosed).length;
  }

  /** Forgets a device's session (inventory changed). */
  drop(device: string): void {
    const e = this.entries.get(device);
    if (e === undefined) return;
    if (e.idle !== undefined) clearTimeout(e.idle);
    this.discard(e);
    this.entries.delete(device);
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) {
      if (e.idle !== undefined) clearTimeout(e.idle);
      this.discard(e);
    }
    this.entries.clear();
  }
}
