import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../team/principal';

/** A signed-in browser at /ui. */
export interface UiSession {
  /** The cookie value: 256 random bits. */
  readonly id: string;
  /** Sent back by the UI in `X-CSRF-Token` on every state-changing request. */
  readonly csrfToken: string;
  readonly createdAt: number;
  /** Absolute end, whatever the activity. */
  readonly expiresAt: number;
  lastSeen: number;
  /** Team mode: who signed in (OIDC code + PKCE). Absent for an approver-credential sign-in. */
  readonly principal?: Principal;
}

/**
 * Where `/ui` sessions live: in memory (`memorySessionStore`, a restart signs everyone out) or in
 * PostgreSQL in team mode (`PostgresUiSessionStore`, so replicas share sign-ins).
 */
export interface UiSessionStore {
  /** Seconds a cookie for a new session should live (its absolute end). */
  readonly maxAgeSeconds: number;
  create(principal?: Principal): Promise<UiSession>;
  /** The live session with this id, marked as used; undefined when unknown or expired. */
  get(id: string | undefined): Promise<UiSession | undefined>;
  /** True while the session exists and has not expired; does not count as use. */
  isAlive(id: string): Promise<boolean>;
  delete(id: string): Promise<void>;
}

/** The in-memory store. */
export function memorySessionStore(sessions: UiSessions): UiSessionStore {
  return {
    get maxAgeSeconds() {
      return sessions.maxAgeSeconds;
    },
    create: async (principal) => sessions.create(principal),
    get: async (id) => sessions.get(id),
    isAlive: async (id) => sessions.isAlive(id),
    delete: async (id) => sessions.delete(id),
  };
}

export interface UiSessionsOptions {
  /** A session unused this long ends. Default 30 minutes. */
  readonly idleMs?: number;
  /** A session ends this long after sign-in. Default 12 hours. */
  readonly maxAgeMs?: number;
  /** Sessions kept at most; signing in beyond drops the least recently used. Default 32. */
  readonly maxSessions?: number;
  readonly now?: () => number;
}

/**
 * Web UI sessions, in memory: a restart of the gateway signs everyone out. Ids and CSRF tokens are
 * random 256-bit values; comparisons of CSRF tokens are constant-time.
 */
export class UiSessions {
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private readonly sessions = new Map<string, UiSession>();

  constructor(options: UiSessionsOptions = {}) {
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.maxAgeMs = options.maxAgeMs ?? 12 * 3_600_000;
    this.maxSessions = options.maxSessions ?? 32;
    this.now = options.now ?? Date.now;
  }

  /** Seconds a cookie for a new session should live (its absolute end). */
  get maxAgeSeconds(): number {
    return Math.floor(this.maxAgeMs / 1000);
  }

  create(principal?: Principal): UiSession {
    const now = this.now();
    this.prune(now);
    while (this.sessions.size >= this.maxSessions) {
      let oldest: UiSession | undefined;
      for (const s of this.sessions.values()) if (oldest === undefined || s.lastSeen < oldest.lastSeen) oldest = s;
      if (oldest === undefined) break;
      this.sessions.delete(oldest.id);
    }
    const session: UiSession = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      expiresAt: now + this.maxAgeMs,
      lastSeen: now,
      ...(principal ? { principal } : {}),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, marked as used; undefined when unknown or expired (which ends it). */
  get(id: string | undefined): UiSession | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.now();
    if (!this.alive(session, now)) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  /** True while the session exists and has not expired; does not count as use. */
  isAlive(id: string): boolean {
    const session = this.sessions.get(id);
    return session !== undefined && this.alive(session, this.now());
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private alive(session: UiSession, now: number): boolean {
    return now < session.expiresAt && now - session.lastSeen < this.idleMs;
  }

  private prune(now: number): void {
    for (const [id, s] of this.sessions) if (!this.alive(s, now)) this.sessions.delete(id);
  }
}

/** Constant-time equality of two secrets of any length. */
export function secretEquals(presented: string | undefined, expected: string): boolean {
  if (presented === undefined || presented.length === 0) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface CredentialThrottleOptions {
  /** Wrong credentials per source within the window answered without delay. Default 10. */
  readonly maxFailures?: number;
  /** Default one minute. */
  readonly windowMs?: number;
  /** Hold of the first slowed answer; it doubles with each further wrong credential. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Longest hold of one answer. Default 10 s. */
  readonly maxDelayMs?: number;
  /** Wrong answers of one source held at once; beyond, they are refused with 429 at once. Default 16. */
  readonly maxHeld?: number;
  readonly now?: () => number;
}

/** What to do with the answer to a wrong credential. */
export type ThrottleVerdict = { readonly holdMs: number } | { readonly refuseMs: number };

/**
 * Slows whoever guesses the approver credential (sign-in and the `X-Approver-Credential` header
 * alike), never the holder of the right one: every credential is checked at once, and only the
 * answer to a *wrong* one is held — not at all for the first `maxFailures` of a source within
 * `windowMs`, then for `baseDelayMs` doubling up to `maxDelayMs`. A source's held answers are
 * released one after another, so guessing in parallel is no faster; more than `maxHeld` at once
 * are refused with 429 without holding a socket. The source is the remote address (on loopback,
 * every local process shares it — which slows a guesser, and still cannot lock a right
 * credential out).
 */
export class CredentialThrottle {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxHeld: number;
  private readonly now: () => number;
  private readonly sources = new Map<string, { failures: number[]; nextAnswerAt: number; held: number }>();

  constructor(options: CredentialThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.maxHeld = options.maxHeld ?? 16;
    this.now = options.now ?? Date.now;
  }

  /** Records a wrong credential from `source`; says how long to hold its answer, or to refuse it now. */
  fail(source: string): ThrottleVerdict {
    const now = this.now();
    for (const [key, entry] of this.sources) {
      entry.failures = entry.failures.filter((t) => now - t < this.windowMs);
      if (entry.failures.length === 0 && entry.held === 0) this.sources.delete(key);
    }
    const entry = this.sources.get(source) ?? { failures: [], nextAnswerAt: 0, held: 0 };
    this.sources.set(source, entry);
    entry.failures.push(now);
    const over = entry.failures.length - this.maxFailures;
    if (over <= 0) return { holdMs: 0 };
    if (entry.held >= this.maxHeld) return { refuseMs: Math.max(1, entry.nextAnswerAt - now) };
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(over - 1, 30));
    entry.nextAnswerAt = Math.max(now, entry.nextAnswerAt) + delay;
    entry.held++;
    return { holdMs: entry.nextAnswerAt - now };
  }

  /** A held answer of `source` was sent. */
  release(source: string): void {
    const entry = this.sources.get(source);
    if (entry && entry.held > 0) entry.held--;
  }

  /**
   * Records a wrong credential from `source` and waits out its hold: resolves `{refuseMs}` when the
   * answer must be a refusal now (429), else after the hold (or when the caller hangs up), when the
   * 401 may go. The slot stays the guesser's until its turn even if it hangs up.
   */
  async holdWrong(source: string, hangUp: { once(event: 'close', listener: () => void): unknown }): Promise<{ refuseMs: number } | { heldMs: number }> {
    const verdict = this.fail(source);
    if ('refuseMs' in verdict) return verdict;
    if (verdict.holdMs > 0) {
      setTimeout(() => this.release(source), verdict.holdMs).unref();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, verdict.holdMs);
        timer.unref();
        hangUp.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return { heldMs: verdict.holdMs };
  }
}
