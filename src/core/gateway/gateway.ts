import { randomBytes } from 'node:crypto';
import type { Notification, Request, Result } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../errors';
import { Metrics } from '../metrics/metrics';
import type { Supervisor } from '../supervisor/supervisor';
import type { UpstreamHooks } from '../supervisor/managed-server';
import { CallPipeline } from './call-pipeline';
import type { IncomingMessage } from 'node:http';
import type { GatewayContext, GatewayOptions, RequestOrigin, RouteHandler } from './context';
import { Drain } from './drain';
import { GatewayHttpServer } from './http-server';
import { allowAllStages, type OversightStages, type PipelineEvent } from './pipeline';
import { EchoGuard } from './secret-echo';
import { ServerRequestRouter } from './server-requests';
import { Sessions } from './sessions';
import { Subscriptions } from './subscriptions';

export { PREVIEW_META } from './call-pipeline';
export type { GatewayOptions, GatewayTeamOptions, HostRoot, Readiness, RequestOrigin, RouteHandler } from './context';
export { CALL_ID_META } from './server-requests';

/**
 * The loopback gateway: one HTTP server, Streamable HTTP per supervised server at `/mcp/<name>`.
 * Every request runs the pipeline auth → limits → policy → approval → forward → audit/metrics.
 * Servers' own requests to clients (sampling, elicitation) reach the session whose call caused
 * them; `roots/list` is answered here from the host's roots, never by a client.
 *
 * This class wires the parts together: `http-server.ts` (HTTP, auth, limits), `sessions.ts`,
 * `call-pipeline.ts` (client → server), `server-requests.ts` (server → client routing) and
 * `subscriptions.ts`.
 */
export class Gateway implements UpstreamHooks {
  readonly token: string;
  readonly metrics: Metrics;
  private readonly http: GatewayHttpServer;
  private readonly sessions: Sessions;
  private readonly subscriptions: Subscriptions;
  private readonly router: ServerRequestRouter;
  private readonly pipeline: CallPipeline;
  private supervisor: Supervisor | undefined;
  private stages: OversightStages;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly publicRoutes: RouteHandler[];
  private readonly drainState = new Drain();

  constructor(private readonly options: GatewayOptions) {
    this.token = options.token ?? randomBytes(32).toString('base64url');
    this.metrics = options.metrics ?? new Metrics();
    this.stages = options.stages ?? allowAllStages;
    this.publicRoutes = [...(options.publicRoutes ?? [])];
    const ctx: GatewayContext = {
      options,
      metrics: this.metrics,
      echo: new EchoGuard(() => this.supervisor),
      drain: this.drainState,
      supervisor: () => this.supervisor,
      stages: () => this.stages,
      log: (message) => this.log(message),
      auditLater: (event) => this.auditLater(event),
    };
    this.subscriptions = new Subscriptions(ctx);
    this.sessions = new Sessions(ctx, {
      register: (session, caps) => this.pipeline.registerHandlers(session, caps),
      onClose: (session) => this.subscriptions.dropSession(session),
    });
    this.router = new ServerRequestRouter(ctx, this.sessions, this.subscriptions);
    this.pipeline = new CallPipeline(ctx, this.router, this.subscriptions);
    this.http = new GatewayHttpServer(ctx, this.token, this.sessions, this.publicRoutes);
  }

  /** Connects the gateway to the supervisor whose servers it fronts. */
  attach(supervisor: Supervisor): void {
    this.supervisor = supervisor;
    supervisor.onDidChangeTools((conn) => this.sessions.broadcast(conn.server, (s) => s.mcp.sendToolListChanged()));
    supervisor.onDidConnect((conn) => void this.subscriptions.resubscribe(conn));
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
    const port = await this.http.listen();
    const every = Math.max(250, Math.min(60_000, Math.floor(this.options.config.sessionIdleMs / 4)));
    this.sweepTimer = setInterval(() => this.sessions.sweepIdle(), every);
    this.sweepTimer.unref();
    return port;
  }

  get listeningPort(): number {
    return this.http.listeningPort;
  }

  /** The client address, Host and scheme of a request, X-Forwarded-* applied only from `team.trustedProxies`. */
  requestOrigin(req: IncomingMessage): RequestOrigin {
    return this.http.requestOrigin(req);
  }

  /** The URL of a server's MCP endpoint. */
  url(server: string): string {
    const publicUrl = this.options.team?.publicUrl;
    if (publicUrl !== undefined) return `${publicUrl.replace(/\/+$/, '')}/mcp/${server}`;
    return `http://127.0.0.1:${this.listeningPort}/mcp/${server}`;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Open client sessions on one server's endpoint (0: no client has connected to it yet). */
  sessionsFor(server: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.server === server && !s.closed) n++;
    return n;
  }

  /** Connections held open that have not shown the client token. */
  get unauthenticatedConnections(): number {
    return this.http.unauthenticatedConnections;
  }

  /**
   * The first step of a stop: refuses new requests and sessions, ends waiting calls (approval,
   * queue, server start) at once with a JSON-RPC error naming `reason`, and gives calls already
   * forwarded `timeoutMs` (default `gateway.drainTimeoutMs`) to finish before they get that error.
   * Resolves when every request has its answer on the wire (audited as `stopped` where it did not
   * complete).
   */
  async drain(reason: string, timeoutMs: number = this.options.config.drainTimeoutMs): Promise<void> {
    const inFlight = this.drainState.size;
    if (inFlight > 0 && !this.drainState.stopping) this.options.log?.(`${reason}: draining ${inFlight} request${inFlight === 1 ? '' : 's'} (waiting ones end now, running ones get up to ${timeoutMs / 1000} s)`);
    await this.drainState.begin(reason, timeoutMs);
    // The SDK writes each answer a few microtasks after its handler settles: let them reach the sockets.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Closes every session and stops listening. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.sessions.closeAll();
    await this.http.close();
  }

  /** @internal UpstreamHooks: a request from a server (sampling, elicitation, roots). */
  onServerRequest(server: string, request: Request, signal: AbortSignal): Promise<Result> {
    return this.router.onServerRequest(server, request, signal);
  }

  /** @internal UpstreamHooks: a notification from a server. */
  onServerNotification(server: string, notification: Notification): void {
    this.router.onServerNotification(server, notification);
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
