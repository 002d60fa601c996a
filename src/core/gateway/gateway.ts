import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type Notification,
  type Request,
  type Result,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { GatewayConfig } from '../config/schema';
import { ControlPlaneError, errorMessage } from '../errors';
import { Metrics, type CallOutcome } from '../metrics/metrics';
import type { Supervisor } from '../supervisor/supervisor';
import { toolOffered, type UpstreamConnection, type UpstreamHooks } from '../supervisor/managed-server';
import { RateLimiter, readBody, sendJsonRpcError, sendText, tokenMatches } from './http-util';
import { allowAllStages, type ClientIdentity, type GatewayCall, type OversightStages, type PipelineEvent, type PolicyVerdict } from './pipeline';

/** The `_meta` key that ties a server-to-client request to the call that caused it. */
export const CALL_ID_META = 'mcpcp/callId';
/** The `_meta` key by which a tool declares a preview (`dryRun`). */
export const PREVIEW_META = 'mcpcp/preview';

/** Any JSON-RPC result, passed through unchanged. */
const AnyResultSchema = z.looseObject({});

/** A root the host exposes to servers (workspace folders, or configured roots headless). */
export interface HostRoot {
  uri: string;
  name?: string;
}

/** An extra route served behind the same auth, Host and Origin checks (the web UI, later). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export interface GatewayOptions {
  config: GatewayConfig;
  /** The client token; a random 256-bit one when absent. It can call tools, never approve. */
  token?: string;
  /** The host's roots, answered to `roots/list` from built-in servers. */
  roots: () => HostRoot[];
  metrics?: Metrics;
  stages?: OversightStages;
  /** Routes tried before the token check; they see requests that passed the Host and Origin checks. */
  publicRoutes?: RouteHandler[];
  /** Routes tried after the token check, before 404. */
  authedRoutes?: RouteHandler[];
  log?: (message: string) => void;
  /** How long a request waits for a restarting server before failing. */
  waitForServerMs?: number;
}

interface InflightCall {
  session: ClientSession;
  requestId: string | number;
}

interface ClientSession {
  id: string;
  server: string;
  transport: StreamableHTTPServerTransport;
  mcp: Server;
  lastSeen: number;
  activeHttp: number;
  limiter: RateLimiter;
  subscriptions: Set<string>;
  /** Calls of this session now being forwarded, by call id. */
  calls: Set<string>;
  closed: boolean;
}

/**
 * The loopback gateway: one HTTP server, Streamable HTTP per supervised server at `/mcp/<name>`.
 * Every request runs the pipeline auth → limits → policy → approval → forward → audit/metrics.
 * Servers' own requests to clients (sampling, elicitation) reach the session whose call caused
 * them; `roots/list` is answered here from the host's roots, never by a client.
 */
export class Gateway implements UpstreamHooks {
  readonly token: string;
  readonly metrics: Metrics;
  private readonly http: HttpServer;
  private readonly sessions = new Map<string, ClientSession>();
  private readonly calls = new Map<string, InflightCall>();
  /** Per third-party server: the session allowed to have calls in flight, and a queue. */
  private readonly exclusive = new Map<string, { session: string; count: number; queue: Array<() => void> }>();
  /** Resource URI subscriptions per server: uri → subscribed session ids. */
  private readonly subscriptions = new Map<string, Map<string, Set<string>>>();
  private supervisor: Supervisor | undefined;
  private stages: OversightStages;
  private port = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly publicRoutes: RouteHandler[];

  constructor(private readonly options: GatewayOptions) {
    this.token = options.token ?? randomBytes(32).toString('base64url');
    this.metrics = options.metrics ?? new Metrics();
    this.stages = options.stages ?? allowAllStages;
    this.publicRoutes = [...(options.publicRoutes ?? [])];
    this.http = createServer((req, res) => {
      void this.handleHttp(req, res).catch((err: unknown) => {
        this.log(`request failed: ${errorMessage(err)}`);
        sendJsonRpcError(res, 500, ErrorCode.InternalError, 'internal error');
      });
    });
    // Long-polling SSE streams and slow approvals must not be cut by Node's default timeouts.
    this.http.requestTimeout = 0;
    this.http.headersTimeout = 30_000;
    this.http.keepAliveTimeout = 5_000;
  }

  /** Connects the gateway to the supervisor whose servers it fronts. */
  attach(supervisor: Supervisor): void {
    this.supervisor = supervisor;
    supervisor.onDidChangeTools((conn) => this.broadcast(conn.server, (s) => s.mcp.sendToolListChanged()));
    supervisor.onDidConnect((conn) => void this.resubscribe(conn));
  }

  /** Adds routes served after the Host/Origin checks and before the token check. */
  addPublicRoutes(routes: RouteHandler[]): void {
    this.publicRoutes.push(...routes);
  }

  /** Replaces the oversight stages (policy, approval, audit). */
  setStages(stages: OversightStages): void {
    this.stages = stages;
  }

  /** Starts listening on 127.0.0.1. Resolves with the port; PORT_IN_USE when taken. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          err.code === 'EADDRINUSE'
            ? new ControlPlaneError('PORT_IN_USE', `port ${this.options.config.port} on 127.0.0.1 is in use; choose another gateway port or 0 for a free one`, { cause: err })
            : new ControlPlaneError('LISTEN_FAILED', `gateway cannot listen: ${err.message}`, { cause: err }),
        );
      };
      this.http.once('error', onError);
      this.http.listen(this.options.config.port, '127.0.0.1', () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    const every = Math.max(250, Math.min(60_000, Math.floor(this.options.config.sessionIdleMs / 4)));
    this.sweepTimer = setInterval(() => this.sweepIdle(), every);
    this.sweepTimer.unref();
    return this.port;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** The URL of a server's MCP endpoint. */
  url(server: string): string {
    return `http://127.0.0.1:${this.port}/mcp/${server}`;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Closes every session and stops listening. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.all([...this.sessions.values()].map((s) => this.closeSession(s)));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  // ---- HTTP ------------------------------------------------------------------------------

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
      return sendText(res, 200, this.metrics.prometheus(), 'text/plain; version=0.0.4; charset=utf-8');
    }
    const match = /^\/mcp\/([^/]+)\/?$/.exec(url.pathname);
    if (!match) {
      for (const route of this.options.authedRoutes ?? []) {
        if (await route(req, res, url)) return;
      }
      return sendText(res, 404, 'not found\n');
    }
    const serverName = decodeURIComponent(match[1]!);
    const managed = this.supervisor?.get(serverName);
    if (!managed) {
      return sendJsonRpcError(res, 404, ErrorCode.InvalidRequest, `no server named "${serverName}"; known: ${this.supervisor?.list().map((s) => s.name).join(', ') || 'none'}`);
    }
    await this.handleMcp(req, res, serverName);
  }

  private originAllowed(origin: string): boolean {
    if (origin === `http://127.0.0.1:${this.port}` || origin === `http://localhost:${this.port}`) return true;
    return this.options.config.allowedOrigins.includes(origin);
  }

  private async handleMcp(req: IncomingMessage, res: ServerResponse, serverName: string): Promise<void> {
    const sessionId = headerValue(req.headers['mcp-session-id']);
    let body: unknown;
    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, this.options.config.maxBodyBytes);
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
      const session = await this.openSession(serverName, res);
      if (!session) return;
      return this.dispatch(session, req, res, body);
    }

    const session = this.sessions.get(sessionId);
    if (!session || session.server !== serverName) {
      return sendJsonRpcError(res, 404, -32001, 'session not found: it expired or was closed; initialize a new session');
    }
    if (!session.limiter.take()) {
      return sendJsonRpcError(res, 429, ErrorCode.InvalidRequest, `rate limit: more than ${this.options.config.maxRequestsPerSecondPerSession} requests per second in this session`, { 'retry-after': '1' });
    }
    if (req.method === 'POST' && session.activeHttp >= this.options.config.maxConcurrentPerSession) {
      return sendJsonRpcError(res, 429, ErrorCode.InvalidRequest, `too many requests in flight in this session (limit ${this.options.config.maxConcurrentPerSession})`, { 'retry-after': '1' });
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

  // ---- Sessions ----------------------------------------------------------------------------

  private async openSession(serverName: string, res: ServerResponse): Promise<ClientSession | undefined> {
    const managed = this.supervisor!.get(serverName)!;
    let conn: UpstreamConnection;
    try {
      conn = await managed.waitUntilServing(this.options.waitForServerMs ?? 10_000);
    } catch (err) {
      sendJsonRpcError(res, 503, ErrorCode.InternalError, errorMessage(err), { 'retry-after': '5' });
      return undefined;
    }
    const mcp = new Server(conn.serverInfo, {
      capabilities: mirrorCapabilities(conn.capabilities),
      ...(conn.instructions ? { instructions: conn.instructions } : {}),
    });
    const session: ClientSession = {
      id: '',
      server: serverName,
      transport: undefined as never,
      mcp,
      lastSeen: Date.now(),
      activeHttp: 0,
      limiter: new RateLimiter(this.options.config.maxRequestsPerSecondPerSession),
      subscriptions: new Set(),
      calls: new Set(),
      closed: false,
    };
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        session.id = id;
        this.sessions.set(id, session);
      },
      onsessionclosed: () => void this.closeSession(session),
    });
    session.transport = transport;
    transport.onclose = () => void this.closeSession(session);
    this.registerHandlers(session, conn.capabilities);
    await mcp.connect(transport);
    return session;
  }

  private async closeSession(session: ClientSession): Promise<void> {
    if (session.closed) return;
    session.closed = true;
    this.sessions.delete(session.id);
    for (const uri of session.subscriptions) await this.unsubscribe(session, uri);
    await session.mcp.close().catch(() => undefined);
  }

  private sweepIdle(): void {
    const cutoff = Date.now() - this.options.config.sessionIdleMs;
    for (const session of this.sessions.values()) {
      if (session.lastSeen < cutoff && session.activeHttp === 0 && session.calls.size === 0) {
        this.log(`session ${session.id} on ${session.server} expired after ${this.options.config.sessionIdleMs} ms idle`);
        void this.closeSession(session);
      }
    }
  }

  private broadcast(server: string, send: (s: ClientSession) => Promise<void>): void {
    for (const session of this.sessions.values()) {
      if (session.server === server && !session.closed) void send(session).catch(() => undefined);
    }
  }

  // ---- Client → server ---------------------------------------------------------------------

  private registerHandlers(session: ClientSession, caps: ServerCapabilities): void {
    const { mcp } = session;
    const forward = (request: Request, extra: Extra): Promise<Result> => this.handleClientRequest(session, request, extra);
    if (caps.tools) {
      mcp.setRequestHandler(ListToolsRequestSchema, forward as never);
      mcp.setRequestHandler(CallToolRequestSchema, forward as never);
    }
    if (caps.resources) {
      mcp.setRequestHandler(ListResourcesRequestSchema, forward as never);
      mcp.setRequestHandler(ListResourceTemplatesRequestSchema, forward as never);
      mcp.setRequestHandler(ReadResourceRequestSchema, forward as never);
      if (caps.resources.subscribe) {
        mcp.setRequestHandler(SubscribeRequestSchema, (req) => this.subscribe(session, req.params.uri));
        mcp.setRequestHandler(UnsubscribeRequestSchema, (req) => this.unsubscribe(session, req.params.uri));
      }
    }
    if (caps.prompts) {
      mcp.setRequestHandler(ListPromptsRequestSchema, forward as never);
      mcp.setRequestHandler(GetPromptRequestSchema, forward as never);
    }
    if (caps.completions) mcp.setRequestHandler(CompleteRequestSchema, forward as never);
  }

  /** The pipeline for one client request: policy → approval → forward, with audit and metrics. */
  private async handleClientRequest(session: ClientSession, request: Request, extra: Extra): Promise<Result> {
    const managed = this.supervisor?.get(session.server);
    const params = (request.params ?? {}) as Record<string, unknown> & { _meta?: Record<string, unknown> };
    const name = callName(request.method, params);
    const tool = request.method === 'tools/call' ? managed?.lastConnection?.tools.find((t) => t.name === name) : undefined;
    const args = request.method === 'tools/call' || request.method === 'prompts/get' ? ((params['arguments'] ?? {}) as Record<string, unknown>) : request.method === 'resources/read' ? { uri: params['uri'] } : {};
    const call: GatewayCall = {
      id: randomUUID(),
      server: session.server,
      builtin: managed?.spec.builtin ?? false,
      method: request.method,
      name,
      args,
      annotations: tool?.annotations,
      hasPreview: tool?._meta?.[PREVIEW_META] === true,
      client: clientIdentity(session.mcp),
      sessionId: session.id,
      signal: extra.signal,
      progressToken: params._meta?.progressToken as GatewayCall['progressToken'],
      startedAt: Date.now(),
    };
    const guarded = request.method === 'tools/call' || request.method === 'resources/read' || request.method === 'prompts/get';
    if (request.method === 'tools/list') {
      // The server's tool filter applies to what clients see, page by page.
      const { result } = await this.forward(session, call, request, extra, false);
      const filter = managed?.spec.toolFilter;
      if (!filter) return result;
      const tools = (result as { tools?: Array<{ name: string }> }).tools ?? [];
      return { ...result, tools: tools.filter((t) => toolOffered(filter, t.name)) };
    }
    // Lists, completions and subscriptions pass through; only calls count in the metrics.
    if (!guarded) return this.forward(session, call, request, extra, false).then((r) => r.result);
    if (request.method === 'tools/call' && !toolOffered(managed?.spec.toolFilter, name)) {
      return this.refuse(call, 'denied', `Tool "${name}" is turned off on server "${session.server}" by the control plane's tool filter; use another tool.`);
    }

    const requested = this.stages.audit({ type: 'call.requested', call });
    let verdict: PolicyVerdict;
    try {
      verdict = await this.stages.policy(call);
    } catch (err) {
      // A broken policy never means "allow".
      verdict = { decision: 'deny', reason: `policy could not be evaluated: ${errorMessage(err)}` };
    }
    const decided = this.stages.audit({ type: 'policy.decided', call, verdict });
    try {
      await Promise.all([requested, decided]);
    } catch (err) {
      return this.refuse(call, 'denied', `Refused: the audit log cannot be written (${errorMessage(err)}); no call runs unrecorded`);
    }
    if (verdict.decision === 'deny') return this.refuse(call, 'denied', `Denied by policy: ${verdict.reason}`);
    if (verdict.decision === 'approve') {
      const runPreview = async (): Promise<CallToolResult | undefined> => {
        if (!call.builtin || !call.hasPreview) return undefined;
        const previewRequest = { method: 'tools/call', params: { ...params, arguments: { ...args, dryRun: true } } } as Request;
        const { result } = await this.forward(session, { ...call, id: randomUUID() }, previewRequest, extra, false);
        return result as CallToolResult;
      };
      const progress = (message: string): void => {
        if (call.progressToken === undefined) return;
        void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: call.progressToken, progress: 0, message } }).catch(() => undefined);
      };
      let outcome;
      try {
        outcome = await this.stages.approve(call, verdict, runPreview, progress);
      } catch (err) {
        outcome = { approved: false, reason: errorMessage(err) };
      }
      if (!outcome.approved) return this.refuse(call, 'rejected', `Not approved: ${outcome.reason}`);
    }
    const { result, failed } = await this.forward(session, call, request, extra);
    if (!failed) {
      const durationMs = Date.now() - call.startedAt;
      const isError = (result as CallToolResult).isError === true;
      this.auditLater({ type: 'call.completed', call, durationMs, resultBytes: JSON.stringify(result).length, isError });
    }
    return result;
  }

  private refuse(call: GatewayCall, outcome: CallOutcome, message: string): Result {
    const durationMs = Date.now() - call.startedAt;
    this.metrics.record(call.server, call.name, durationMs, outcome);
    this.auditLater({ type: 'call.failed', call, durationMs, outcome, error: message });
    if (call.method === 'tools/call') return { content: [{ type: 'text', text: message }], isError: true };
    throw new McpError(ErrorCode.InvalidRequest, message);
  }

  /**
   * Sends a request to the server's current child. Crashes, restarts and timeouts end the call
   * with a clear message (a tool result for tools/call, a JSON-RPC error otherwise), never a hang.
   */
  private async forward(session: ClientSession, call: GatewayCall, request: Request, extra: Extra, record = true): Promise<{ result: Result; failed: boolean }> {
    const managed = this.supervisor?.get(session.server);
    const release = await this.acquireRoute(session, call);
    try {
      if (!managed) throw new ControlPlaneError('UNKNOWN_SERVER', `server "${session.server}" was removed`);
      const conn = await managed.waitUntilServing(this.options.waitForServerMs ?? 10_000, extra.signal);
      const params = { ...(request.params ?? {}) } as Record<string, unknown>;
      const meta: Record<string, unknown> = { ...((params['_meta'] as Record<string, unknown> | undefined) ?? {}), [CALL_ID_META]: call.id };
      delete meta['progressToken'];
      params['_meta'] = meta;
      this.calls.set(call.id, { session, requestId: extra.requestId });
      session.calls.add(call.id);
      // Progress goes out in order, and before the result it preceded.
      let progressSent: Promise<void> = Promise.resolve();
      try {
        const result = await conn.client.request({ method: request.method, params } as Request, AnyResultSchema, {
          signal: extra.signal,
          timeout: managed.spec.callTimeoutMs ?? this.options.config.callTimeoutMs,
          ...(call.progressToken !== undefined
            ? {
                resetTimeoutOnProgress: true,
                onprogress: (p) => {
                  const notification = { method: 'notifications/progress', params: { ...p, progressToken: call.progressToken! } };
                  progressSent = progressSent.then(() => extra.sendNotification(notification)).catch(() => undefined);
                },
              }
            : {}),
        });
        await progressSent;
        if (record) this.metrics.record(call.server, call.name, Date.now() - call.startedAt, (result as CallToolResult).isError ? 'tool-error' : 'ok');
        return { result: result as Result, failed: false };
      } finally {
        this.calls.delete(call.id);
        session.calls.delete(call.id);
      }
    } catch (err) {
      const durationMs = Date.now() - call.startedAt;
      const cancelled = extra.signal.aborted;
      const message = cancelled ? 'request cancelled by the client' : this.describeForwardError(session.server, err);
      if (record) {
        this.metrics.record(call.server, call.name, durationMs, cancelled ? 'cancelled' : 'failed');
        this.auditLater({ type: 'call.failed', call, durationMs, outcome: cancelled ? 'cancelled' : 'failed', error: message });
      }
      // An error the server itself returned passes through unchanged.
      if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed && err.code !== ErrorCode.RequestTimeout) {
        throw new McpError(err.code, stripMcpPrefix(err.message), err.data);
      }
      if (request.method === 'tools/call' && !cancelled) return { result: { content: [{ type: 'text', text: message }], isError: true }, failed: true };
      throw new McpError(ErrorCode.InternalError, message);
    } finally {
      release();
    }
  }

  private describeForwardError(server: string, err: unknown): string {
    if (err instanceof McpError && err.code === ErrorCode.ConnectionClosed) {
      const managed = this.supervisor?.get(server);
      const exit = managed?.status.lastExit;
      const how = managed?.spec.resolveRemote ? ' (the connection to the upstream was lost)' : exit ? (exit.signal ? ` (${exit.signal})` : ` (exit code ${exit.code})`) : '';
      return `Server "${server}" stopped while handling this call${how}. The control plane restarts it; call again once it is running. Nothing was retried automatically.`;
    }
    if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) {
      return `Server "${server}" did not answer within ${this.supervisor?.get(server)?.spec.callTimeoutMs ?? this.options.config.callTimeoutMs} ms; the call was cancelled.`;
    }
    if (err instanceof ControlPlaneError) return err.message;
    return `Server "${server}" could not handle the call: ${stripMcpPrefix(errorMessage(err))}`;
  }

  /**
   * For a third-party server (it cannot tag its requests with the call), calls from two sessions
   * are serialized so that a sampling or elicitation request it sends has exactly one session to
   * go to. Calls of one session run concurrently. Built-in servers need no such lock.
   */
  private async acquireRoute(session: ClientSession, call: GatewayCall): Promise<() => void> {
    if (call.builtin || (call.method !== 'tools/call' && call.method !== 'prompts/get')) return () => undefined;
    const key = session.server;
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
      await new Promise<void>((resolve) => slot.queue.push(resolve));
    }
    return () => {
      const slot = this.exclusive.get(key);
      if (!slot) return;
      slot.count--;
      if (slot.count === 0) {
        this.exclusive.delete(key);
        for (const wake of slot.queue) wake();
      }
    };
  }

  // ---- Resources subscriptions -------------------------------------------------------------

  private async subscribe(session: ClientSession, uri: string): Promise<Result> {
    const byUri = this.subscriptions.get(session.server) ?? new Map<string, Set<string>>();
    this.subscriptions.set(session.server, byUri);
    const subscribers = byUri.get(uri) ?? new Set<string>();
    const first = subscribers.size === 0;
    subscribers.add(session.id);
    byUri.set(uri, subscribers);
    session.subscriptions.add(uri);
    if (first) {
      const conn = this.supervisor?.get(session.server)?.connection;
      if (conn) await conn.client.subscribeResource({ uri });
    }
    return {};
  }

  private async unsubscribe(session: ClientSession, uri: string): Promise<Result> {
    session.subscriptions.delete(uri);
    const subscribers = this.subscriptions.get(session.server)?.get(uri);
    if (!subscribers) return {};
    subscribers.delete(session.id);
    if (subscribers.size === 0) {
      this.subscriptions.get(session.server)?.delete(uri);
      const conn = this.supervisor?.get(session.server)?.connection;
      if (conn) await conn.client.unsubscribeResource({ uri }).catch(() => undefined);
    }
    return {};
  }

  /** A restarted child has lost its subscriptions: make them again. */
  private async resubscribe(conn: UpstreamConnection): Promise<void> {
    if (!conn.capabilities.resources?.subscribe) return;
    for (const uri of this.subscriptions.get(conn.server)?.keys() ?? []) {
      await conn.client.subscribeResource({ uri }).catch((err: unknown) => this.log(`resubscribe ${uri} on ${conn.server}: ${errorMessage(err)}`));
    }
  }

  // ---- Server → client ---------------------------------------------------------------------

  /** @internal UpstreamHooks: a request from a server (sampling, elicitation, roots). */
  async onServerRequest(server: string, request: Request, signal: AbortSignal): Promise<Result> {
    if (request.method === 'roots/list') {
      this.auditLater({ type: 'server.request', server, method: request.method, sessionId: undefined, callId: undefined });
      return { roots: this.options.roots() };
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
    this.auditLater({ type: 'server.request', server, method: request.method, sessionId: target?.session.id, callId });
    if (!target) {
      throw new McpError(ErrorCode.InvalidRequest, `${request.method} can only be sent while handling a client's call; no client session to route it to`);
    }
    return (await target.session.mcp.request({ method: request.method, params } as never, AnyResultSchema, {
      relatedRequestId: target.requestId,
      signal,
      timeout: this.options.config.callTimeoutMs,
    })) as Result;
  }

  /** @internal UpstreamHooks: a notification from a server. */
  onServerNotification(server: string, notification: Notification): void {
    switch (notification.method) {
      case 'notifications/tools/list_changed':
        return; // the supervisor re-reads the tools and fires onDidChangeTools, which broadcasts
      case 'notifications/resources/list_changed':
        return this.broadcast(server, (s) => s.mcp.sendResourceListChanged());
      case 'notifications/prompts/list_changed':
        return this.broadcast(server, (s) => s.mcp.sendPromptListChanged());
      case 'notifications/message':
        return this.broadcast(server, (s) => s.mcp.sendLoggingMessage(notification.params as never, s.id));
      case 'notifications/resources/updated': {
        const uri = (notification.params as { uri?: string } | undefined)?.uri;
        const subscribers = uri ? this.subscriptions.get(server)?.get(uri) : undefined;
        for (const id of subscribers ?? []) {
          const session = this.sessions.get(id);
          if (session) void session.mcp.sendResourceUpdated(notification.params as never).catch(() => undefined);
        }
        return;
      }
      default:
        this.log(`${server}: notification ${notification.method} not forwarded`);
    }
  }

  /** Audits without holding the caller; a failure is logged (and makes policy refuse later calls). */
  private auditLater(event: PipelineEvent): void {
    void Promise.resolve()
      .then(() => this.stages.audit(event))
      .catch((err: unknown) => this.log(`audit: ${errorMessage(err)}`));
  }

  private log(message: string): void {
    if (!this.closing) this.options.log?.(message);
  }
}

type Extra = {
  signal: AbortSignal;
  requestId: string | number;
  sendNotification: (n: Notification) => Promise<void>;
};

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isInitializeBody(body: unknown): boolean {
  return isInitializeRequest(body) || (Array.isArray(body) && body.some((m) => isInitializeRequest(m)));
}

function callName(method: string, params: Record<string, unknown>): string {
  if (method === 'tools/call' || method === 'prompts/get') return String(params['name'] ?? '');
  if (method === 'resources/read') return String(params['uri'] ?? '');
  return method;
}

function clientIdentity(mcp: Server): ClientIdentity | undefined {
  const info = mcp.getClientVersion();
  return info ? { name: info.name, version: info.version } : undefined;
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

function stripMcpPrefix(message: string): string {
  return message.replace(/^MCP error -?\d+: /, '');
}
