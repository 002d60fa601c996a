import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, type ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError, errorMessage } from '../errors';
import type { UpstreamConnection } from '../supervisor/managed-server';
import type { GatewayContext } from './context';
import { RateLimiter, sendJsonRpcError } from './http-util';
import type { Principal } from '../team/principal';

/** One client's MCP session on one server's endpoint. */
export interface ClientSession {
  id: string;
  server: string;
  transport: StreamableHTTPServerTransport;
  mcp: Server;
  lastSeen: number;
  /** JSON-RPC messages of this session's POSTs now being handled (a batch counts each message). */
  activeMessages: number;
  limiter: RateLimiter;
  subscriptions: Set<string>;
  /** Calls of this session now being forwarded, by call id. */
  calls: Set<string>;
  /** Requests being handled, by JSON-RPC id: call to say their caller is gone (the HTTP stream closed). */
  callerGone: Map<string | number, () => void>;
  closed: boolean;
  /** Team mode: who opened the session (OIDC access token or API key); every call of it carries this principal. */
  principal?: Principal;
}

export interface SessionHooks {
  /** Installs the client → server request handlers on a new session. */
  register(session: ClientSession, caps: ServerCapabilities): void;
  /** Runs when a session closes, before its SDK server is closed. */
  onClose(session: ClientSession): Promise<void>;
}

/**
 * The client sessions: opening one (an SDK server + Streamable HTTP transport mirroring the
 * child's capabilities), closing, idle expiry, and broadcasts to a server's sessions.
 */
export class Sessions {
  private readonly byId = new Map<string, ClientSession>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly hooks: SessionHooks,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): ClientSession | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<ClientSession> {
    return this.byId.values();
  }

  /** Opens a session on a server once it serves; answers 503 itself (and returns undefined) when it does not. */
  async open(serverName: string, res: ServerResponse): Promise<ClientSession | undefined> {
    const managed = this.ctx.supervisor()!.get(serverName)!;
    if (this.ctx.drain.stopping) {
      sendJsonRpcError(res, 503, ErrorCode.InternalError, this.ctx.drain.error('new').message);
      return undefined;
    }
    let conn: UpstreamConnection;
    try {
      conn = await managed.waitUntilServing(this.ctx.options.waitForServerMs ?? 10_000);
    } catch (err) {
      // Retry-After only where waiting helps: a crash-looping, failed or stopped server needs a manual start.
      const manual = err instanceof ControlPlaneError && err.details['manualStartNeeded'] === true;
      sendJsonRpcError(res, 503, ErrorCode.InternalError, errorMessage(err), manual ? {} : { 'retry-after': '5' });
      return undefined;
    }
    if (!this.makeRoom(res)) return undefined;
    const mcp = new Server(this.ctx.echo.outbound(serverName, conn.serverInfo), {
      capabilities: mirrorCapabilities(conn.capabilities),
      ...(conn.instructions ? { instructions: this.ctx.echo.text(serverName, conn.instructions) } : {}),
    });
    const session: ClientSession = {
      id: '',
      server: serverName,
      transport: undefined as never,
      mcp,
      lastSeen: Date.now(),
      activeMessages: 0,
      limiter: new RateLimiter(this.ctx.options.config.maxRequestsPerSecondPerSession),
      subscriptions: new Set(),
      calls: new Set(),
      callerGone: new Map(),
      closed: false,
    };
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        session.id = id;
        this.byId.set(id, session);
      },
      onsessionclosed: () => void this.close(session),
    });
    session.transport = transport;
    transport.onclose = () => void this.close(session);
    this.hooks.register(session, conn.capabilities);
    await mcp.connect(transport);
    return session;
  }

  /**
   * At `maxSessions`, closes the longest-idle sessions (nothing in flight) to make room: one token
   * is shared by VS Code and every other client, so a cap must not lock anyone out. Answers 503
   * itself (and returns false) only when every session is busy.
   */
  private makeRoom(res: ServerResponse): boolean {
    const max = this.ctx.options.config.maxSessions;
    const excess = this.byId.size - max + 1;
    if (excess <= 0) return true;
    const idle = [...this.byId.values()].filter((s) => s.activeMessages === 0 && s.calls.size === 0).sort((a, b) => a.lastSeen - b.lastSeen);
    if (idle.length < excess) {
      sendJsonRpcError(res, 503, ErrorCode.InternalError, `all ${this.byId.size} client sessions (gateway.maxSessions) are busy; try again shortly`, { 'retry-after': '5' });
      return false;
    }
    for (const session of idle.slice(0, excess)) {
      this.ctx.log(`session ${session.id} on ${session.server} closed to make room (gateway.maxSessions ${max}; it was the longest idle)`);
      void this.close(session);
    }
    return true;
  }

  async close(session: ClientSession): Promise<void> {
    if (session.closed) return;
    session.closed = true;
    this.byId.delete(session.id);
    await this.hooks.onClose(session);
    await session.mcp.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.byId.values()].map((s) => this.close(s)));
  }

  /** Closes sessions idle longer than `sessionIdleMs` with nothing in flight. */
  sweepIdle(): void {
    const idleMs = this.ctx.options.config.sessionIdleMs;
    const cutoff = Date.now() - idleMs;
    for (const session of this.byId.values()) {
      if (session.lastSeen < cutoff && session.activeMessages === 0 && session.calls.size === 0) {
        this.ctx.log(`session ${session.id} on ${session.server} expired after ${idleMs} ms idle`);
        void this.close(session);
      }
    }
  }

  broadcast(server: string, send: (s: ClientSession) => Promise<void>): void {
    for (const session of this.byId.values()) {
      if (session.server === server && !session.closed) void send(session).catch(() => undefined);
    }
  }
}

/** The child's capabilities as the gateway offers them: list changes are always announced. */
function mirrorCapabilities(caps: ServerCapabilities): ServerCapabilities {
  const out: ServerCapabilities = {};
  if (caps.tools) out.tools = { listChanged: true };
  if (caps.resources) out.resources = { listChanged: true, ...(caps.resources.subscribe ? { subscribe: true } : {}) };
  if (caps.prompts) out.prompts = { listChanged: true };
  if (caps.completions) out.completions = {};
  if (caps.logging) out.logging = {};
  return out;
}
