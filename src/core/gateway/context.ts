import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Notification } from '@modelcontextprotocol/sdk/types.js';
import type { GatewayConfig } from '../config/schema';
import type { Metrics } from '../metrics/metrics';
import type { Supervisor } from '../supervisor/supervisor';
import type { Drain } from './drain';
import type { CallTelemetry } from '../telemetry';
import type { OversightStages, PipelineEvent } from './pipeline';
import type { EchoGuard } from './secret-echo';
import type { McpAuthResult } from '../team/authenticator';
import type { RequestOrigin } from '../team/forwarded';

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
  /** OpenTelemetry of the moment (undefined when off): a span per guarded call. */
  telemetry?: () => CallTelemetry | undefined;
  /** How long a request waits for a restarting server before failing. */
  waitForServerMs?: number;
  /** What `/readyz` answers (200 when ready, 503 with the reasons); ready when absent. */
  readiness?: () => Readiness;
  /** Team mode (docs/team.md): identities on `/mcp` instead of the client token, the public URL, TLS, trusted proxies. */
  team?: GatewayTeamOptions;
}

/** The gateway's side of team mode. */
export interface GatewayTeamOptions {
  /** Resolves the principal of an `/mcp` request from its Authorization header (OIDC access token or API key). */
  authenticateMcp(authorization: string | undefined): Promise<McpAuthResult>;
  /** `https://mcp.example.com`: its host passes the Host check, its origin the Origin check. */
  publicUrl: string;
  /** Address to listen on (checked by the configuration: beyond loopback only with TLS or trusted proxies). */
  listenHost: string;
  /** PEM certificate and key: the gateway serves HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Addresses or CIDR blocks whose X-Forwarded-* headers are applied. */
  trustedProxies: readonly string[];
  /**
   * OAuth 2.0 Protected Resource Metadata (RFC 9728): the document served at a
   * `/.well-known/oauth-protected-resource…` path (undefined: not one), and the `WWW-Authenticate`
   * value of a 401 on a path.
   */
  protectedResource?: { metadata(pathname: string): object | undefined; challenge(pathname: string): string };
}

export type { RequestOrigin };

/** Whether the control plane can take calls now, and if not, short reasons (no secrets, no paths). */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

/** What the gateway's modules share: options, the supervisor and stages of the moment, logging and audit. */
export interface GatewayContext {
  readonly options: GatewayOptions;
  readonly metrics: Metrics;
  /** Masks what a server was given as a secret in everything it sends towards a client. */
  readonly echo: EchoGuard;
  /** The stop in progress, if any: new requests are refused, waits end, forwards get the drain time. */
  readonly drain: Drain;
  supervisor(): Supervisor | undefined;
  stages(): OversightStages;
  log(message: string): void;
  /** Audits without holding the caller; a failure is logged (and makes policy refuse later calls). */
  auditLater(event: PipelineEvent): void;
}

/** The part of the SDK's request-handler `extra` the gateway uses. */
export type Extra = {
  signal: AbortSignal;
  requestId: string | number;
  sendNotification: (n: Notification) => Promise<void>;
};
