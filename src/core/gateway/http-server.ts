import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ErrorCode, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError, errorMessage } from '../errors';
import { ConnectionGuard } from './connection-guard';
import type { GatewayContext, RouteHandler } from './context';
import { readBody, sendJson, sendJsonRpcError, sendText, tokenMatches } from './http-util';
import type { ClientSession, Sessions } from './sessions';
import { ForwardedTrust, type RequestOrigin } from '../team/forwarded';
import type { Principal } from '../team/principal';
import { looksLikeApiKey } from '../team/api-keys';

/**
 * The gateway's HTTP side: listening on 127.0.0.1, the Host/Origin checks (DNS rebinding), the
 * bearer token, routes (`/healthz`, `/metrics`, extra routes), and per-session limits before a
 * request reaches a session's Streamable HTTP transport at `/mcp/<server>`.
 */
export class GatewayHttpServer {
  private readonly http: HttpServer;
  private readonly guard: ConnectionGuard;
  private readonly forwarded: ForwardedTrust;
  private port = 0;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly token: string,
    private readonly sessions: Sessions,
    /** Routes served after the Host/Origin checks and before the token check (may grow). */
    private readonly publicRoutes: RouteHandler[],
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handleHttp(req, res).catch((err: unknown) => {
        this.ctx.log(`request failed: ${errorMessage(err)}`);
        sendJsonRpcError(res, 500, ErrorCode.InternalError, 'internal error');
      });
    };
    const team = ctx.options.team;
    this.forwarded = new ForwardedTrust(team?.trustedProxies ?? [], team?.tls !== undefined);
    // Team mode may serve HTTPS itself (team.tls); otherwise plain HTTP on loopback or behind a trusted ingress.
    // Over TLS a connection is guarded once its handshake is done; a handshake that never ends is
    // cut after the same time as an unauthenticated connection.
    this.http = team?.tls
      ? createHttpsServer({ cert: team.tls.cert, key: team.tls.key, handshakeTimeout: ctx.options.config.unauthenticatedTimeoutMs }, handler)
      : createServer(handler);
    // Long-polling SSE streams and slow approvals must not be cut by Node's default timeouts.
    this.http.requestTimeout = 0;
    this.http.headersTimeout = 30_000;
    this.http.keepAliveTimeout = 5_000;
    const { config } = ctx.options;
    this.guard = new ConnectionGuard(this.http, { timeoutMs: config.unauthenticatedTimeoutMs, maxPending: config.maxUnauthenticatedConnections }, team?.tls ? 'secureConnection' : 'connection');
  }

  /** Connections now held open without the client token (for tests and diagnostics). */
  get unauthenticatedConnections(): number {
    return this.guard.pendingCount;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** The client address, Host and scheme of a request, with X-Forwarded-* applied only from trusted proxies. */
  requestOrigin(req: IncomingMessage): RequestOrigin {
    return this.forwarded.origin(req);
  }

  /** Starts listening on 127.0.0.1 (team mode: `team.listenHost`). Resolves with the port; PORT_IN_USE when taken. */
  async listen(): Promise<number> {
    const { port } = this.ctx.options.config;
    const host = this.ctx.options.team?.listenHost ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          err.code === 'EADDRINUSE'
            ? new ControlPlaneError('PORT_IN_USE', `port ${port} on ${host} is in use; choose another gateway port or 0 for a free one`, { cause: err })
            : new ControlPlaneError('LISTEN_FAILED', `gateway cannot listen: ${err.message}`, { cause: err }),
        );
      };
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    this.guard.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Liveness: the process serves HTTP. Readiness: it can take calls (see docs/audit.md).
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendText(res, 200, 'ok\n');
    }
    if (url.pathname === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
      const readiness = this.ctx.options.readiness?.() ?? { ready: true, reasons: [] };
      return sendText(res, readiness.ready ? 200 : 503, readiness.ready ? 'ready\n' : `not ready: ${readiness.reasons.join('; ')}\n`);
    }
    // DNS rebinding: a browser page on another name that resolves to 127.0.0.1.
    const seen = this.forwarded.origin(req);
    const host = seen.host;
    if (!this.hostAllowed(host)) {
      if (this.ctx.options.team) this.ctx.log(`refused Host "${host}" from ${seen.clientAddress}`);
      return sendText(res, 403, `forbidden: Host "${host}" is not this gateway (${this.publicHost()})\n`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin)) {
      return sendText(res, 403, `forbidden: Origin "${origin}" is not allowed\n`);
    }
    const team = this.ctx.options.team;
    // How a native client signs in (RFC 9728): public, no credential in it.
    if (team?.protectedResource && url.pathname.startsWith('/.well-known/oauth-protected-resource') && (req.method === 'GET' || req.method === 'HEAD')) {
      const metadata = team.protectedResource.metadata(url.pathname);
      if (metadata) return sendJson(res, 200, metadata);
    }
    for (const route of this.publicRoutes) {
      if (await route(req, res, url)) return;
    }
    const isMcp = /^\/mcp\/[^/]+\/?$/.test(url.pathname);
    let principal: Principal | undefined;
    if (team !== undefined && (isMcp || !tokenMatches(req.headers.authorization, this.token))) {
      // Team mode: /mcp takes an OIDC access token or an API key, never the client token or a /ui
      // session. Other authenticated routes (/metrics, /status) also take the local client token.
      const auth = await team.authenticateMcp(req.headers.authorization);
      if (!auth.ok) {
        this.ctx.log(`refused ${req.method ?? 'GET'} ${url.pathname} from ${seen.clientAddress}: ${auth.message}`);
        // The sign-in hint (RFC 9728) is for clients without a credential or with an access token;
        // a refused API key is answered plainly, so its client does not start an OAuth sign-in.
        const presented = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const challenge = looksLikeApiKey(presented) ? 'Bearer' : (team.protectedResource?.challenge(url.pathname) ?? 'Bearer');
        return sendJsonRpcError(res, auth.status, -32001, auth.message, auth.status === 401 ? { 'www-authenticate': challenge } : {});
      }
      principal = auth.principal;
    } else if (team === undefined && !tokenMatches(req.headers.authorization, this.token)) {
      return sendJsonRpcError(res, 401, -32001, 'unauthorized: send Authorization: Bearer <token> (see "Copy Client Configuration")', { 'www-authenticate': 'Bearer' });
    }
    this.guard.trust(req.socket);
    if (url.pathname === '/metrics' && req.method === 'GET') {
      return sendText(res, 200, this.ctx.metrics.prometheus(), 'text/plain; version=0.0.4; charset=utf-8');
    }
    const match = /^\/mcp\/([^/]+)\/?$/.exec(url.pathname);
    if (!match) {
      for (const route of this.ctx.options.authedRoutes ?? []) {
        if (await route(req, res, url)) return;
      }
      return sendText(res, 404, 'not found\n');
    }
    const serverName = decodeURIComponent(match[1]!);
    const supervisor = this.ctx.supervisor();
    const managed = supervisor?.get(serverName);
    if (!managed) {
      return sendJsonRpcError(res, 404, ErrorCode.InvalidRequest, `no server named "${serverName}"; known: ${supervisor?.list().map((s) => s.name).join(', ') || 'none'}`);
    }
    await this.handleMcp(req, res, serverName, principal);
  }

  /** Loopback names on this port, and in team mode the host of `publicUrl`. */
  private hostAllowed(host: string): boolean {
    if (host === `127.0.0.1:${this.port}` || host === `localhost:${this.port}`) return true;
    const publicUrl = this.ctx.options.team?.publicUrl;
    return publicUrl !== undefined && host.toLowerCase() === new URL(publicUrl).host;
  }

  private publicHost(): string {
    const publicUrl = this.ctx.options.team?.publicUrl;
    return publicUrl !== undefined ? `${new URL(publicUrl).host} or 127.0.0.1:${this.port}` : `127.0.0.1:${this.port}`;
  }

  private originAllowed(origin: string): boolean {
    const scheme = this.ctx.options.team?.tls ? 'https' : 'http';
    if (origin === `${scheme}://127.0.0.1:${this.port}` || origin === `${scheme}://localhost:${this.port}`) return true;
    const publicUrl = this.ctx.options.team?.publicUrl;
    if (publicUrl !== undefined && origin === new URL(publicUrl).origin) return true;
    return this.ctx.options.config.allowedOrigins.includes(origin);
  }

  private async handleMcp(req: IncomingMessage, res: ServerResponse, serverName: string, principal: Principal | undefined): Promise<void> {
    const { config } = this.ctx.options;
    const sessionId = headerValue(req.headers['mcp-session-id']);
    let body: unknown;
    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, config.maxBodyBytes);
      } catch (err) {
        return sendJsonRpcError(res, 413, ErrorCode.InvalidRequest, errorMessage(err), { connection: 'close' });
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendJsonRpcError(res, 400, ErrorCode.ParseError, 'request body is not valid JSON');
      }
    }

    // Limits count JSON-RPC messages: a batch of n is n requests (an initializing one too).
    const messages = messageCount(body);
    if (messages > config.maxRequestsPerSecondPerSession || (req.method === 'POST' && messages > config.maxConcurrentPerSession)) {
      const limit = Math.min(config.maxRequestsPerSecondPerSession, config.maxConcurrentPerSession);
      return sendJsonRpcError(res, 429, ErrorCode.InvalidRequest, `a batch of ${messages} messages exceeds this session's limits (at most ${limit} at once); send fewer messages per request`);
    }

    if (sessionId === undefined) {
      if (req.method !== 'POST' || !isInitializeBody(body)) {
        return sendJsonRpcError(res, 400, ErrorCode.InvalidRequest, 'no Mcp-Session-Id header: start with an initialize request');
      }
      const session = await this.sessions.open(serverName, res);
      if (!session) return;
      if (principal) session.principal = principal;
      // The initialize itself is free; whatever was batched with it counts.
      if (messages > 1) session.limiter.take(messages - 1);
      return this.dispatch(session, req, res, body);
    }

    const session = this.sessions.get(sessionId);
    // A session belongs to the principal that opened it: another identity's id is "not found".
    if (!session || session.server !== serverName || (principal !== undefined && session.principal?.id !== principal.id)) {
      return sendJsonRpcError(res, 404, -32001, 'session not found: it expired or was closed; initialize a new session');
    }
    // Roles as the latest credential says (a token refreshed with fewer roles takes effect now).
    if (principal) session.principal = principal;
    if (!session.limiter.take(messages)) {
      return sendJsonRpcError(res, 429, ErrorCode.InvalidRequest, `rate limit: more than ${config.maxRequestsPerSecondPerSession} requests per second in this session (a batch counts each message)`, { 'retry-after': '1' });
    }
    if (req.method === 'POST' && this.ctx.drain.stopping && hasRequest(body)) {
      // Stopping: a new request gets its answer here, even once the sessions are closing.
      return sendJsonRpcError(res, 503, ErrorCode.InternalError, this.ctx.drain.error('new').message);
    }
    if (req.method === 'POST' && session.activeMessages + messages > config.maxConcurrentPerSession) {
      return sendJsonRpcError(res, 429, ErrorCode.InvalidRequest, `too many requests in flight in this session (limit ${config.maxConcurrentPerSession}); a batch counts each message`, { 'retry-after': '1' });
    }
    await this.dispatch(session, req, res, body);
  }

  private async dispatch(session: ClientSession, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    session.lastSeen = Date.now();
    const counts = req.method === 'POST';
    const messages = counts ? messageCount(body) : 0;
    session.activeMessages += messages;
    // A POST's answers travel on its own response: when that closes before it ended, the caller
    // of every request in the body is gone (a pending approval for it is then cancelled).
    if (counts) {
      const ids = requestIds(body);
      if (ids.length > 0) {
        res.once('close', () => {
          if (res.writableEnded) return;
          for (const id of ids) session.callerGone.get(id)?.();
        });
      }
    }
    try {
      await session.transport.handleRequest(req, res, body);
    } finally {
      session.activeMessages -= messages;
      session.lastSeen = Date.now();
    }
  }
}

/** How many JSON-RPC messages a body holds (a batch is an array; anything else is one). */
function messageCount(body: unknown): number {
  return Array.isArray(body) ? Math.max(1, body.length) : 1;
}

/** The ids of the JSON-RPC requests (not notifications or responses) in a POST body. */
function requestIds(body: unknown): Array<string | number> {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((m) => {
    if (typeof m !== 'object' || m === null || typeof (m as { method?: unknown }).method !== 'string') return [];
    const id = (m as { id?: unknown }).id;
    return typeof id === 'string' || typeof id === 'number' ? [id] : [];
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A JSON-RPC request (not only notifications or responses) in a POST body. */
function hasRequest(body: unknown): boolean {
  const isRequest = (m: unknown): boolean => typeof m === 'object' && m !== null && 'method' in m && 'id' in m;
  return Array.isArray(body) ? body.some(isRequest) : isRequest(body);
}

function isInitializeBody(body: unknown): boolean {
  return isInitializeRequest(body) || (Array.isArray(body) && body.some((m) => isInitializeRequest(m)));
}
