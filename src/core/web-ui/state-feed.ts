import type { Disposable } from '../events';
import type { UiBackend } from '../oversight/ui-backend';
import type { DashboardState } from '../../protocol/ui';

export interface StateFeedOptions {
  /** Bursts of `onDidChange` are coalesced: at most one state per subscriber per `throttleMs`. Default 250. */
  readonly throttleMs?: number;
  /** While anyone listens, state is re-sent this often so uptimes and charts move. Default 5000; 0 turns it off. */
  readonly refreshMs?: number;
  /** A failing `backend.state` lands here; the subscribers keep their last state. */
  readonly onError?: (err: unknown) => void;
}

/** One UI instance's view of the feed. */
export interface StateSubscription {
  /** The statistics window this subscriber sees. */
  readonly windowMs: number;
  /** Changes the window; the subscriber gets state for it without waiting for a change. */
  setWindow(windowMs: number): void;
  /** Sends current state without waiting for a change (after `ready`). */
  refresh(): void;
  dispose(): void;
}

interface Subscriber {
  windowMs: number;
  readonly periodic: boolean;
  readonly listener: (state: DashboardState) => void;
  disposed: boolean;
}

/**
 * Turns `UiBackend.onDidChange` into state pushes for any number of UI instances, each with its own
 * statistics window. Guarantees: `backend.state` is asked once per distinct window per push, never
 * twice at the same time; changes during a push cause one more push after it; a subscriber gets
 * nothing after `dispose`. Timers are unref'd, so a feed never keeps a process alive.
 */
export class StateFeed {
  private readonly throttleMs: number;
  private readonly refreshMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly subscribers = new Set<Subscriber>();
  private dirty = new Set<Subscriber>();
  private urgent = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private ticker: NodeJS.Timeout | undefined;
  private changes: Disposable | undefined;
  private backendValue: UiBackend | undefined;
  private flushing = false;
  private lastFlush = 0;
  private disposed = false;

  constructor(private readonly backendSource: UiBackend | (() => UiBackend), options: StateFeedOptions = {}) {
    this.throttleMs = options.throttleMs ?? 250;
    this.refreshMs = options.refreshMs ?? 5000;
    this.onError = options.onError ?? (() => undefined);
  }

  /** The backend, resolved on first use (a getter lets a host build the feed before the engine). */
  get backend(): UiBackend {
    this.backendValue ??= typeof this.backendSource === 'function' ? this.backendSource() : this.backendSource;
    return this.backendValue;
  }

  /**
   * Adds a UI instance. It receives nothing until `refresh` or the next change. `periodic: false`
   * (a badge, a notifier) gets state on changes only, not every `refreshMs`.
   */
  subscribe(windowMs: number, listener: (state: DashboardState) => void, options: { readonly periodic?: boolean } = {}): StateSubscription {
    const sub: Subscriber = { windowMs, listener, disposed: false, periodic: options.periodic ?? true };
    this.subscribers.add(sub);
    if (this.subscribers.size === 1) this.start();
    if (sub.periodic) this.startTicker();
    return {
      get windowMs() {
        return sub.windowMs;
      },
      setWindow: (ms) => {
        sub.windowMs = ms;
        this.request([sub], true);
      },
      refresh: () => this.request([sub], true),
      dispose: () => {
        sub.disposed = true;
        this.subscribers.delete(sub);
        this.dirty.delete(sub);
        if (this.subscribers.size === 0) this.stop();
        else if (![...this.subscribers].some((s) => s.periodic)) this.stopTicker();
      },
    };
  }

  /** Number of live subscribers. */
  get size(): number {
    return this.subscribers.size;
  }

  dispose(): void {
    this.disposed = true;
    for (const sub of this.subscribers) sub.disposed = true;
    this.subscribers.clear();
    this.dirty.clear();
    this.stop();
  }

  private start(): void {
    this.changes = this.backend.onDidChange(() => this.request(this.subscribers, false));
  }

  private startTicker(): void {
    if (this.refreshMs <= 0 || this.ticker !== undefined) return;
    this.ticker = setInterval(() => this.request([...this.subscribers].filter((s) => s.periodic), false), this.refreshMs);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private stop(): void {
    this.changes?.dispose();
    this.changes = undefined;
    this.stopTicker();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private request(subs: Iterable<Subscriber>, urgent: boolean): void {
    if (this.disposed) return;
    for (const sub of subs) if (!sub.disposed) this.dirty.add(sub);
    if (this.dirty.size === 0) return;
    this.urgent ||= urgent;
    if (!this.flushing) this.schedule();
  }

  private schedule(): void {
    const now = Date.now();
    const delay = this.urgent ? 0 : Math.max(0, this.lastFlush + this.throttleMs - now);
    if (this.timer !== undefined) {
      if (this.timerDue <= now + delay) return;
      clearTimeout(this.timer);
    }
    this.timerDue = now + delay;
    this.timer = setTimeout(() => void this.flush(), delay);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    this.flushing = true;
    this.urgent = false;
    this.lastFlush = Date.now();
    const batch = [...this.dirty];
    this.dirty = new Set();
    const byWindow = new Map<number, Subscriber[]>();
    for (const sub of batch) byWindow.set(sub.windowMs, [...(byWindow.get(sub.windowMs) ?? []), sub]);
    try {
      for (const [windowMs, subs] of byWindow) {
        let state: DashboardState;
        try {
          state = await this.backend.state(windowMs);
        } catch (err) {
          this.onError(err);
          continue;
        }
        for (const sub of subs) {
          // A subscriber that changed its window meanwhile is already marked dirty for the new one.
          if (sub.disposed || sub.windowMs !== windowMs) continue;
          try {
            sub.listener(state);
          } catch (err) {
            this.onError(err);
          }
        }
      }
    } finally {
      this.flushing = false;
      if (this.dirty.size > 0 && !this.disposed) this.schedule();
    }
  }
}
