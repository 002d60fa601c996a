import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError, errorMessage } from '../errors';
import type { GatewayContext, RouteHandler } from './context';
import { readBody, sendJsonRpcError, sendText, tokenMatches } from './http-util';
import type { ClientSession, Sessions } from './sessions';

/**
 * The gateway's HTTP side: listening on 127.0.0.1, the Host/Origin checks (DNS rebinding), the
 * bearer token, routes (`/healthz`, `/metrics`, extra routes), and per-session limits before a
 * request reaches a session's Streamable HTTP transport at `/mcp/<server>`.
 */
export class GatewayHttpServer {
  private readonly http: HttpServer;
  private port = 0;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly token: string,
    private readonly sessions: Sessions,
    /** Routes served after the Host/Origin checks and before the token check (may grow). */
    private readonly publicRoutes: RouteHandler[],
  ) {
    this.http = createServer((req, res) => {
      void this.handleHttp(req, res).catch((err: unknown) => {
        this.ctx.log(`request failed: ${errorMessage(err)}`);
        sendJsonRpcError(res, 500, ErrorCode.InternalError, 'internal error');
      });
    });
    // Long-polling SSE streams and slow approvals must not be cut by Node's default timeouts.
    this.http.requestTimeout = 0;
    this.http.headersTimeout = 30_000;
    this.http.keepAliveTimeout = 5_000;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** Starts listening on 127.0.0.1. Resolves with the port; PORT_IN_USE when taken. */
  async listen(): Promise<number> {
    const { port } = this.ctx.options.config;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          err.code === 'EADDRINUSE'
            ? new ControlPlaneError('PORT_IN_USE', `port ${port} on 127.0.0.1 is in use; choose another gateway port or 0 for a free one`, { cause: err })
            : new ControlPlaneError('LISTEN_FAILED', `gateway cannot listen: ${err.message}`, { cause: err }),
        );
      };
      this.http.once('error', onError);
      this.http.listen(port, '127.0.0.1', () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendText(res, 200, 'ok\n');
    }
    // DNS rebinding: a browser page on another name that resolves to 127.0.0.1.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${this.port}` && host !== `localhost:${this.port}`) {
      return sendText(res, 403, `forbidden: Host "${host}" is not this gateway (127.0.0.1:${this.port})\n`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin)) {
      return sendText(res, 403, `forbidden: Origin "${origin}" is not allowed\n`);
    }
    for (const route of this.publicRoutes) {
      if (await route(req, res, url)) return;
    }
    if (!tokenMatches(req.headers.authorization, this.token)) {
      return sendJsonRpcError(res, 401, -32001, 'unauthorized: send Authorization: Bearer <token> (see "Copy Client Configuration")', { 'www-authenticate': 'Bearer' });
    }
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
    await this.handleMcp(req, res, serverName);
  }

  private originAllowed(origin: string): boolean {
    if (origin === `http://127.0.0.1:${this.port}` || origin === `http://localhost:${this.port}`) return true;
    return this.ctx.options.config.allowedOrigins.includes(origin);
  }

  private async handleMcp(req: IncomingMessage, res: ServerResponse, serverName: string): Promise<void> {
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

    if (sessionId === undefined) {
      if (req.method !== 'POST' || !isInitializeBody(body)) {
        return sendJsonRpcError(res, 400, ErrorCode.InvalidRequest, 'no Mcp-Session-Id header: start with an initialize request');
      }
      const session = await this.sessions.open(serverName, res);
      if (!session) return;
      return this.dispatch(session, req, res, body);
    }

    const session = this.sessions.get(sessionId);
    if (!session || session.server !== serverName) {
      return sendJsonRpcError(res, 404, -32001, 'session not found: it expired or was closed; initialize a new session');
    }
    if (!session.limiter.take()) {
      return sendJsonRpcError(res, 429, ErrorCode.InvalidRequest, `rate limit: more than ${config.maxRequestsPerSecondPerSession} requests per second in this session`, { 'retry-after': '1' });
    }
    if (req.method === 'POST' && session.activeHttp >= config.maxConcurrentPerSession) {
      return sendJsonRpcError(res, 429, ErrorCode.InvalidRequest, `too many requests in flight in this session (limit ${config.maxConcurrentPerSession})`, { 'retry-after': '1' });
    }
    await this.dispatch(session, req, res, body);
  }

  private async dispatch(session: ClientSession, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    session.lastSeen = Date.now();
    const counts = req.method === 'POST';
    if (counts) session.activeHttp++;
    try {
      await session.transport.handleRequest(req, res, body);
    } finally {
      if (counts) session.activeHttp--;
      session.lastSeen = Date.now();
    }
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isInitializeBody(body: unknown): boolean {
  return isInitializeRequest(body) || (Array.isArray(body) && body.some((m) => isInitializeRequest(m)));
}
