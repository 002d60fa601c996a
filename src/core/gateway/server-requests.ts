import { ErrorCode, type Notification, type Request, type Result } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ControlPlaneError } from '../errors';
import type { GatewayContext } from './context';
import type { GatewayCall } from './pipeline';
import type { ClientSession, Sessions } from './sessions';
import type { Subscriptions } from './subscriptions';
import { protocolError } from './protocol-error';

/** The `_meta` key that ties a server-to-client request to the call that caused it. */
export const CALL_ID_META = 'mcpcp/callId';

/** Any JSON-RPC result, passed through unchanged. */
export const AnyResultSchema = z.looseObject({});

interface InflightCall {
  session: ClientSession;
  requestId: string | number;
}

/**
 * Server → client routing. Servers' own requests (sampling, elicitation) reach the session whose
 * call caused them: built-in servers tag them with the call id; a third-party server's calls are
 * serialized across sessions so an untagged request has exactly one session to go to.
 * `roots/list` is answered from the host's roots, never by a client. Notifications go to the
 * server's sessions (resource updates to their subscribers).
 */
export class ServerRequestRouter {
  /** Calls now being forwarded, by call id. */
  private readonly calls = new Map<string, InflightCall>();
  /** Per third-party server: the session allowed to have calls in flight, and a queue. */
  private readonly exclusive = new Map<string, { session: string; count: number; queue: Array<() => void> }>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly sessions: Sessions,
    private readonly subscriptions: Subscriptions,
  ) {}

  /** Records a call being forwarded, so requests it causes can reach its session. */
  track(callId: string, session: ClientSession, requestId: string | number): void {
    this.calls.set(callId, { session, requestId });
    session.calls.add(callId);
  }

  untrack(callId: string, session: ClientSession): void {
    this.calls.delete(callId);
    session.calls.delete(callId);
  }

  /**
   * For a third-party server (it cannot tag its requests with the call), calls from two sessions
   * are serialized so that a sampling or elicitation request it sends has exactly one session to
   * go to. Calls of one session run concurrently. Built-in servers need no such lock.
   *
   * A call that must wait is told why (`progress`, then every 10 s), gives up after
   * `gateway.queueTimeoutMs` (`QUEUE_TIMEOUT`), and leaves the queue at once when `signal` aborts
   * (the caller cancelled, or the control plane stops), rejecting with the signal's reason.
   */
  async acquireRoute(session: ClientSession, call: GatewayCall, wait: { signal: AbortSignal; progress?: (message: string) => void }): Promise<() => void> {
    if (call.builtin || (call.method !== 'tools/call' && call.method !== 'prompts/get')) return () => undefined;
    const key = session.server;
    const timeoutMs = this.ctx.options.config.queueTimeoutMs;
    const since = Date.now();
    let told = false;
    for (;;) {
      const slot = this.exclusive.get(key);
      if (!slot) {
        this.exclusive.set(key, { session: session.id, count: 1, queue: [] });
        break;
      }
      if (slot.session === session.id) {
        slot.count++;
        break;
      }
      if (wait.signal.aborted) throw wait.signal.reason;
      const left = timeoutMs - (Date.now() - since);
      if (left <= 0) {
        throw new ControlPlaneError(
          'QUEUE_TIMEOUT',
          `Not run: calls from another client session were still running on server "${key}" after ${Math.round(timeoutMs / 1000)} s. A third-party server takes calls from one session at a time (so that its requests reach the right client). Nothing ran; call again later.`,
        );
      }
      const message = `Waiting for calls from another client session on server "${key}" to finish (a third-party server takes calls from one session at a time); giving up after ${Math.round(timeoutMs / 1000)} s.`;
      if (!told) wait.progress?.(message);
      told = true;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          clearInterval(heartbeat);
          wait.signal.removeEventListener('abort', wake);
          const i = slot.queue.indexOf(wake);
          if (i >= 0) slot.queue.splice(i, 1);
          resolve();
        };
        const timer = setTimeout(wake, left);
        const heartbeat = setInterval(() => wait.progress?.(`Still waiting (${Math.round((Date.now() - since) / 1000)} s): ${message}`), 10_000);
        slot.queue.push(wake);
        wait.signal.addEventListener('abort', wake, { once: true });
      });
    }
    return () => {
      const slot = this.exclusive.get(key);
      if (!slot) return;
      slot.count--;
      if (slot.count === 0) {
        this.exclusive.delete(key);
        for (const wake of [...slot.queue]) wake();
      }
    };
  }

  /** A request from a server (sampling, elicitation, roots). */
  async onServerRequest(server: string, request: Request, signal: AbortSignal): Promise<Result> {
    if (request.method === 'roots/list') {
      this.ctx.auditLater({ type: 'server.request', server, method: request.method, sessionId: undefined, callId: undefined });
      return { roots: this.ctx.options.roots() };
    }
    const params = { ...(request.params ?? {}) } as Record<string, unknown>;
    const meta = { ...((params['_meta'] as Record<string, unknown> | undefined) ?? {}) };
    const callId = typeof meta[CALL_ID_META] === 'string' ? (meta[CALL_ID_META] as string) : undefined;
    delete meta[CALL_ID_META];
    if (Object.keys(meta).length > 0) params['_meta'] = meta;
    else delete params['_meta'];

    let target = callId ? this.calls.get(callId) : undefined;
    if (!target) {
      // Untagged (a third-party server): the one session with calls in flight on this server.
      const candidates = [...this.sessions.values()].filter((s) => s.server === server && s.calls.size > 0);
      if (candidates.length === 1) {
        const session = candidates[0]!;
        const anyCall = this.calls.get([...session.calls][0]!);
        if (anyCall) target = anyCall;
      }
    }
    this.ctx.auditLater({ type: 'server.request', server, method: request.method, sessionId: target?.session.id, callId });
    if (!target) {
      throw protocolError(ErrorCode.InvalidRequest, `${request.method} can only be sent while handling a client's call; no client session to route it to`);
    }
    // What the server asks the client (sampling, elicitation) carries no secret it was given.
    return (await target.session.mcp.request({ method: request.method, params: this.ctx.echo.outbound(server, params) } as never, AnyResultSchema, {
      relatedRequestId: target.requestId,
      signal,
      timeout: this.ctx.options.config.callTimeoutMs,
    })) as Result;
  }

  /** A notification from a server. */
  onServerNotification(server: string, notification: Notification): void {
    switch (notification.method) {
      case 'notifications/tools/list_changed':
        return; // the supervisor re-reads the tools and fires onDidChangeTools, which broadcasts
      case 'notifications/resources/list_changed':
        return this.sessions.broadcast(server, (s) => s.mcp.sendResourceListChanged());
      case 'notifications/prompts/list_changed':
        return this.sessions.broadcast(server, (s) => s.mcp.sendPromptListChanged());
      case 'notifications/message':
        return this.sessions.broadcast(server, (s) => s.mcp.sendLoggingMessage(this.ctx.echo.outbound(server, notification.params) as never, s.id));
      case 'notifications/resources/updated': {
        const uri = (notification.params as { uri?: string } | undefined)?.uri;
        const subscribers = uri ? this.subscriptions.subscribers(server, uri) : undefined;
        for (const id of subscribers ?? []) {
          const session = this.sessions.get(id);
          if (session) void session.mcp.sendResourceUpdated(this.ctx.echo.outbound(server, notification.params) as never).catch(() => undefined);
        }
        return;
      }
      default:
        this.ctx.log(`${server}: notification ${notification.method} not forwarded`);
    }
  }
}
