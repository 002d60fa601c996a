// The only file that touches @kubernetes/client-node: kubeconfig loading as kubectl does it, one
// client per context with its TLS and credentials (tokens, client certificates, exec plugins,
// OIDC, in-cluster service accounts), raw API requests (so tools choose Accept headers such as the
// Table format), streams (watch, followed logs), exec and port-forward over WebSocket. Every
// library, network and API failure leaves this file as a ControlPlaneError with one actionable
// line that names the context: never a stack, never response headers.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable, type Duplex, type Readable } from 'node:stream';
import { ApiException, Exec, KubeConfig, PortForward, type Cluster, type Context, type User, type V1Status } from '@kubernetes/client-node';
import type { WebSocket } from 'ws';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import { Impersonation } from './impersonation';

/** Codes of Kubernetes failures, beside the kit's own. Tools branch on them. */
export const K8sErrorCode = {
  noKubeconfig: 'K8S_NO_KUBECONFIG',
  badKubeconfig: 'K8S_BAD_KUBECONFIG',
  unknownContext: 'K8S_UNKNOWN_CONTEXT',
  notExposed: 'K8S_NOT_EXPOSED',
  unreachable: 'K8S_UNREACHABLE',
  authFailed: 'K8S_AUTH_FAILED',
  unauthorized: 'K8S_UNAUTHORIZED',
  forbidden: 'K8S_FORBIDDEN',
  notFound: 'K8S_NOT_FOUND',
  alreadyExists: 'K8S_ALREADY_EXISTS',
  conflict: 'K8S_CONFLICT',
  invalid: 'K8S_INVALID',
  badRequest: 'K8S_BAD_REQUEST',
  expired: 'K8S_EXPIRED',
  tooManyRequests: 'K8S_TOO_MANY_REQUESTS',
  timeout: 'K8S_TIMEOUT',
  serverError: 'K8S_SERVER_ERROR',
  unknownResource: 'K8S_UNKNOWN_RESOURCE',
  notServed: 'K8S_NOT_SERVED',
  execFailed: 'K8S_EXEC_FAILED',
  tooLarge: 'K8S_RESPONSE_TOO_LARGE',
} as const;

/** A Status cause as the API server reports it. */
export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** What `details` of a ControlPlaneError from an API response hold. */
export interface ApiErrorDetails {
  readonly context: string;
  readonly httpStatus: number;
  readonly reason: string;
  readonly causes: readonly StatusCause[];
  readonly hint?: string;
}

// ---- kubeconfig ------------------------------------------------------------------------------

/** One context of the merged kubeconfig. */
export interface ContextInfo {
  readonly name: string;
  readonly cluster: string;
  readonly server: string;
  readonly user: string;
  /** The context's namespace, or "default". */
  readonly namespace: string;
  /** How the user authenticates, for display: token, client certificate, exec plugin... */
  readonly auth: string;
}

/** The kubeconfig as loaded: where from, its contexts, or why there is none. */
export interface KubeconfigState {
  readonly source: 'kubeconfig' | 'in-cluster' | 'none';
  readonly files: readonly string[];
  readonly contexts: readonly ContextInfo[];
  readonly currentContext: string | undefined;
  /** Set when no cluster can be used, with the reason (no file, parse error...). */
  readonly problem: string | undefined;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const IN_CLUSTER_CONTEXT = 'in-cluster';

/** Kubeconfig files as kubectl finds them: the KUBECONFIG list, else ~/.kube/config. */
export function kubeconfigFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const list = env['KUBECONFIG'];
  if (list !== undefined && list.length > 0) return list.split(delimiter).filter((f) => f.length > 0);
  const home = env['HOME'] ?? env['USERPROFILE'] ?? homedir();
  return [join(home, '.kube', 'config')];
}

/** True when the server has a cluster to talk to: a kubeconfig file, or a pod's service account. */
export function clusterAvailable(env: Readonly<Record<string, string | undefined>>, saDir = SA_DIR): boolean {
  return kubeconfigFiles(env).some((f) => existsSync(f)) || inCluster(env, saDir);
}

function inCluster(env: Readonly<Record<string, string | undefined>>, saDir: string): boolean {
  return Boolean(env['KUBERNETES_SERVICE_HOST']) && existsSync(join(saDir, 'token'));
}

/**
 * Loads and merges the kubeconfig files the way kubectl does: for clusters, users and contexts
 * the first file that names one wins; current-context comes from the first file that sets it;
 * relative certificate paths resolve against their own file. Missing files in KUBECONFIG are
 * skipped. Without any file, a pod's service account (in-cluster) is used.
 */
export class KubeconfigLoader {
  private state: { stamp: string; kc: KubeConfig | undefined; info: KubeconfigState } | undefined;

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly saDir = SA_DIR,
  ) {}

  /** The current kubeconfig; re-read when a file changed (mtime), so new contexts show up. */
  load(): { kc: KubeConfig | undefined; info: KubeconfigState } {
    const files = kubeconfigFiles(this.env);
    const stamp = files.map((f) => `${f}:${mtime(f)}`).join('|');
    if (this.state && this.state.stamp === stamp) return this.state;
    this.state = { stamp, ...this.read(files) };
    return this.state;
  }

  private read(files: string[]): { kc: KubeConfig | undefined; info: KubeconfigState } {
    const present = files.filter((f) => existsSync(f));
    if (present.length === 0) {
      if (inCluster(this.env, this.saDir)) return this.inCluster();
      return {
        kc: undefined,
        info: {
          source: 'none',
          files,
          contexts: [],
          currentContext: undefined,
          problem: `No kubeconfig found (looked at ${files.join(', ')}) and not running inside a cluster. Set KUBECONFIG or create ~/.kube/config.`,
        },
      };
    }
    const clusters: Cluster[] = [];
    const users: User[] = [];
    const contexts: Context[] = [];
    let current: string | undefined;
    for (const file of present) {
      const one = new KubeConfig();
      try {
        one.loadFromFile(file);
      } catch (err) {
        return {
          kc: undefined,
          info: { source: 'kubeconfig', files: present, contexts: [], currentContext: undefined, problem: `The kubeconfig ${file} cannot be read: ${firstLine(errorMessage(err))}` },
        };
      }
      for (const c of one.getClusters()) if (!clusters.some((x) => x.name === c.name)) clusters.push(c);
      for (const u of one.getUsers()) if (!users.some((x) => x.name === u.name)) users.push(u);
      for (const c of one.getContexts()) if (!contexts.some((x) => x.name === c.name)) contexts.push(c);
      const cc = one.getCurrentContext();
      if (current === undefined && cc) current = cc;
    }
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters, users, contexts, currentContext: current ?? contexts[0]?.name ?? '' });
    return { kc, info: { source: 'kubeconfig', files: present, contexts: contexts.map((c) => describeContext(kc, c)), currentContext: current, problem: undefined } };
  }

  /** A pod's service account, as client-go's InClusterConfig reads it (from our env, not process.env). */
  private inCluster(): { kc: KubeConfig; info: KubeconfigState } {
    const host = this.env['KUBERNETES_SERVICE_HOST'] ?? '';
    const port = this.env['KUBERNETES_SERVICE_PORT'] ?? '443';
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const kc = new KubeConfig();
    const context: Context = { name: IN_CLUSTER_CONTEXT, cluster: IN_CLUSTER_CONTEXT, user: IN_CLUSTER_CONTEXT, namespace: readServiceAccountFile('namespace', this.saDir) ?? 'default' };
    kc.loadFromOptions({
      clusters: [{ name: IN_CLUSTER_CONTEXT, server, caFile: join(this.saDir, 'ca.crt'), skipTLSVerify: false }],
      users: [{ name: IN_CLUSTER_CONTEXT, authProvider: { name: 'tokenFile', config: { tokenFile: join(this.saDir, 'token') } } }],
      contexts: [context],
      currentContext: IN_CLUSTER_CONTEXT,
    });
    return {
      kc,
      info: { source: 'in-cluster', files: [], contexts: [describeContext(kc, context)], currentContext: IN_CLUSTER_CONTEXT, problem: undefined },
    };
  }
}

function mtime(file: string): string {
  try {
    return String(statSync(file).mtimeMs);
  } catch {
    return 'missing';
  }
}

function describeContext(kc: KubeConfig, ctx: Context): ContextInfo {
  const cluster = kc.getCluster(ctx.cluster);
  const user = kc.getUser(ctx.user);
  let auth = 'none';
  if (user?.exec) auth = `exec plugin (${user.exec.command})`;
  else if (user?.authProvider?.name === 'oidc') auth = 'OIDC';
  else if (user?.authProvider?.name === 'tokenFile') auth = 'service account token';
  else if (user?.authProvider) auth = `auth provider ${user.authProvider.name}`;
  else if (user?.token) auth = 'token';
  else if (user?.certData || user?.certFile) auth = 'client certificate';
  else if (user?.username) auth = 'basic';
  return { name: ctx.name, cluster: ctx.cluster, server: cluster?.server ?? '', user: ctx.user, namespace: ctx.namespace ?? 'default', auth };
}

// ---- requests --------------------------------------------------------------------------------

export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface ApiRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. /api/v1/namespaces/default/pods. */
  readonly path: string;
  readonly query?: Query;
  /** Serialised as JSON unless a string. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  readonly signal?: AbortSignal | undefined;
  /** Whole-request timeout (default 30 s). */
  readonly timeoutMs?: number;
  /** Refuse responses larger than this (default 64 MB). */
  readonly maxBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const USER_AGENT = 'mcp-control-plane/0.1 (kubernetes server)';

/**
 * One cluster context: its TLS agent (kept alive and reused for every call) and credentials.
 * Requests name the context in every error.
 */
export class KubeClient {
  private agent: HttpAgent | undefined;

  constructor(
    readonly context: string,
    readonly server: string,
    readonly defaultNamespace: string,
    private readonly kc: KubeConfig,
    /** Whom requests act as (Impersonate-* headers), when the server impersonates callers. */
    private readonly impersonation = new Impersonation(false),
  ) {}

  /** A JSON request; resolves to the parsed body. */
  async json<T = unknown>(req: ApiRequest): Promise<T> {
    const { body } = await this.send(req);
    const text = body.toString('utf8');
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ControlPlaneError(K8sErrorCode.serverError, `${this.where()}: the API server sent something that is not JSON: ${firstLine(text).slice(0, 200)}`);
    }
  }

  /** A request whose body is text (pod logs). */
  async text(req: ApiRequest): Promise<string> {
    return (await this.send(req)).body.toString('utf8');
  }

  /**
   * A long-lived GET (watch, followed logs): calls `onData` with each chunk until the server ends
   * the response or `signal` aborts (then resolves normally). HTTP errors reject as in `json`.
   */
  async stream(req: ApiRequest, onData: (chunk: Buffer) => void): Promise<void> {
    const res = await this.open(req);
    if ((res.statusCode ?? 0) >= 300) {
      const body = await readAll(res, 1024 * 1024);
      throw this.httpError(res.statusCode ?? 0, body.toString('utf8'));
    }
    await new Promise<void>((resolve, reject) => {
      const abort = (): void => {
        res.destroy();
        resolve();
      };
      req.signal?.addEventListener('abort', abort, { once: true });
      res.on('data', (chunk: Buffer) => onData(chunk));
      res.on('end', () => {
        req.signal?.removeEventListener('abort', abort);
        resolve();
      });
      res.on('error', (err) => {
        req.signal?.removeEventListener('abort', abort);
        if (req.signal?.aborted) resolve();
        else reject(this.networkError(err));
      });
      res.on('close', () => resolve());
    });
  }

  /**
   * Runs a command in a container over WebSocket (v5.channel.k8s.io): stdout and stderr go to
   * the given writers; resolves with the exit code from the API's Status (0 on success).
   */
  async exec(args: {
    namespace: string;
    pod: string;
    container: string;
    command: readonly string[];
    stdout: Writable;
    stderr: Writable;
    stdin: Readable | null;
    signal: AbortSignal;
  }): Promise<{ exitCode: number; closed: 'status' | 'aborted' | 'disconnected' }> {
    this.impersonation.assertOwnCredentialAllowed(`exec in pod ${args.namespace}/${args.pod}`);
    const exec = new Exec(this.kc);
    let status: V1Status | undefined;
    let ws: WebSocket;
    try {
      ws = await exec.exec(args.namespace, args.pod, args.container, [...args.command], args.stdout, args.stderr, args.stdin, false, (s) => {
        status = s;
      });
    } catch (err) {
      throw this.connectError(err, `exec in pod ${args.namespace}/${args.pod}`);
    }
    const closed = await new Promise<'status' | 'aborted' | 'disconnected'>((resolve) => {
      const abort = (): void => {
        ws.close();
        resolve('aborted');
      };
      if (args.signal.aborted) return abort();
      args.signal.addEventListener('abort', abort, { once: true });
      ws.once('close', () => {
        args.signal.removeEventListener('abort', abort);
        resolve(status ? 'status' : 'disconnected');
      });
    });
    const final: V1Status | undefined = status;
    if (!final) return { exitCode: -1, closed };
    if (final.status === 'Success') return { exitCode: 0, closed };
    const code = final.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
    if (final.reason === 'NonZeroExitCode' && code !== undefined) return { exitCode: Number(code), closed };
    throw new ControlPlaneError(K8sErrorCode.execFailed, `${this.where()}: the command could not run: ${firstLine(final.message ?? 'unknown error')}`);
  }

  /**
   * Connects one local connection to a pod port over WebSocket (v4.channel.k8s.io). Resolves
   * once connected with a function that closes the tunnel; the socket ends when the tunnel does.
   */
  async portForward(namespace: string, pod: string, port: number, socket: Duplex, onError: (message: string) => void): Promise<() => void> {
    this.impersonation.assertOwnCredentialAllowed(`port-forward to pod ${namespace}/${pod}`);
    const pf = new PortForward(this.kc, true);
    const errors = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const text = chunk.toString('utf8').trim();
        if (text.length > 0) onError(text);
        cb();
      },
    });
    let opened: WebSocket | (() => WebSocket | null);
    try {
      opened = await pf.portForward(namespace, pod, [port], socket, errors, socket);
    } catch (err) {
      throw this.connectError(err, `port-forward to pod ${namespace}/${pod}:${port}`);
    }
    if (typeof opened === 'function') throw new ControlPlaneError(K8sErrorCode.unreachable, `${this.where()}: port-forward did not open a connection.`);
    const ws = opened;
    ws.once('close', () => socket.end());
    return () => ws.close();
  }

  /** Throws when streams with the server's own credential (exec, port-forward) are refused (impersonation). */
  assertOwnCredentialAllowed(what: string): void {
    this.impersonation.assertOwnCredentialAllowed(what);
  }

  private where(): string {
    return `context "${this.context}"`;
  }

  private async send(req: ApiRequest): Promise<{ status: number; body: Buffer }> {
    const res = await this.open(req);
    const body = await readAll(res, req.maxBytes ?? DEFAULT_MAX_BYTES).catch((err: unknown) => {
      if (err instanceof ControlPlaneError) throw err;
      throw this.networkError(err);
    });
    const status = res.statusCode ?? 0;
    if (status >= 300) throw this.httpError(status, body.toString('utf8'));
    return { status, body };
  }

  private async open(req: ApiRequest): Promise<IncomingMessage> {
    const url = new URL(this.server.replace(/\/+$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v as readonly string[]) url.searchParams.append(k, item);
      else url.searchParams.set(k, String(v));
    }
    const opts: RequestOptions = {};
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new ControlPlaneError(K8sErrorCode.authFailed, `${this.where()}: getting credentials failed: ${firstLine(errorMessage(err))}`, {
        cause: err,
        details: { hint: 'Check the user entry of this context in the kubeconfig (exec plugin on PATH, token not expired, certificate files present).' },
      });
    }
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string | string[]> = {
      ...(opts.headers as Record<string, string> | undefined),
      ...this.impersonation.headers(),
      Accept: req.accept ?? 'application/json',
      'User-Agent': USER_AGENT,
    };
    if (body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const https = url.protocol === 'https:';
    const agent = this.agentFor(opts, https);
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const request = (https ? httpsRequest : httpRequest)(url, { method: req.method ?? 'GET', headers, agent, ...(opts.auth ? { auth: opts.auth } : {}) });
      const timer = setTimeout(() => {
        request.destroy(new ControlPlaneError(K8sErrorCode.timeout, `${this.where()}: the API server at ${this.server} did not answer within ${Math.round(timeoutMs / 1000)} s.`));
      }, timeoutMs);
      timer.unref();
      const abort = (): void => {
        request.destroy(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
      };
      if (req.signal?.aborted) abort();
      req.signal?.addEventListener('abort', abort, { once: true });
      request.on('response', (res) => {
        // Streams live past the headers: only the connection phase is timed.
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', abort);
        resolve(res);
      });
      request.on('error', (err) => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', abort);
        reject(err instanceof ControlPlaneError || (err as Error).name === 'AbortError' ? err : this.networkError(err));
      });
      request.end(body);
    });
  }

  /** A kept-alive agent with the context's TLS settings; client-node's own agent when a proxy is set. */
  private agentFor(opts: RequestOptions, https: boolean): HttpAgent {
    if (this.kc.getCurrentCluster()?.proxyUrl && opts.agent) return opts.agent as HttpAgent;
    if (!this.agent) {
      const tls = {
        keepAlive: true,
        maxSockets: 16,
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.cert ? { cert: opts.cert } : {}),
        ...(opts.key ? { key: opts.key } : {}),
        ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        ...(opts.servername ? { servername: opts.servername } : {}),
      };
      this.agent = https ? new HttpsAgent(tls) : new HttpAgent({ keepAlive: true });
    }
    return this.agent;
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private httpError(status: number, text: string): ControlPlaneError {
    return statusError(this.context, status, text);
  }

  private networkError(err: unknown): ControlPlaneError {
    const code = (err as { code?: string }).code ?? '';
    const what: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ENOTFOUND: 'host not found',
      EAI_AGAIN: 'host name lookup failed',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
      ETIMEDOUT: 'connection timed out',
      ECONNRESET: 'connection reset',
      EPIPE: 'connection closed',
      DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: the server certificate is self-signed and not trusted (certificate-authority-data missing?)',
      SELF_SIGNED_CERT_IN_CHAIN: 'TLS: the server certificate chain is not trusted',
      UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: the server certificate cannot be verified against the configured CA',
      UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: the server certificate issuer is not trusted',
      CERT_HAS_EXPIRED: 'TLS: the server certificate has expired',
      ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: the server certificate does not match the host name',
    };
    const reason = what[code] ?? firstLine(errorMessage(err));
    return new ControlPlaneError(K8sErrorCode.unreachable, `${this.where()}: cannot reach the API server at ${this.server}: ${reason}.`, {
      cause: err,
      details: { context: this.context, hint: 'Check that the cluster is running and reachable from this machine (VPN, proxy), or pick another context with contexts_list.' },
    });
  }

  /** Errors of client-node's WebSocket helpers (exec, port-forward) before the stream opened. */
  private connectError(err: unknown, what: string): ControlPlaneError {
    if (err instanceof ApiException) return statusError(this.context, err.code, typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? {}));
    const message = errorMessage(err);
    const http = message.match(/Unexpected server response: (\d+)/);
    if (http) {
      const code = Number(http[1]);
      const reason = code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : code === 400 ? 'BadRequest' : 'Failure';
      return statusError(this.context, code, JSON.stringify({ kind: 'Status', reason, message: `${what} was refused (HTTP ${code})` }));
    }
    if ((err as { code?: string }).code) return this.networkError(err);
    return new ControlPlaneError(K8sErrorCode.unreachable, `${this.where()}: ${what} failed: ${firstLine(message)}`, { cause: err });
  }
}

const HINTS: Record<string, string> = {
  NotFound: 'Check the name, kind and namespace (resources_list shows what exists).',
  AlreadyExists: 'Use resource_apply to update an existing object.',
  Unauthorized: 'The credentials of this context were rejected: log in again or refresh the token in the kubeconfig.',
  Forbidden: 'The identity of this context lacks this permission (RBAC); use another context or ask for access.',
  Invalid: 'Fix the fields named above and try again.',
  Expired: 'The list changed too much since the first page: list again without continue.',
  Gone: 'The list changed too much since the first page: list again without continue.',
  TooManyRequests: 'Wait and retry; for evictions, a PodDisruptionBudget currently forbids it.',
  Conflict: 'Read the object again and retry with the current version.',
};

const CODE_BY_REASON: Record<string, string> = {
  NotFound: K8sErrorCode.notFound,
  AlreadyExists: K8sErrorCode.alreadyExists,
  Conflict: K8sErrorCode.conflict,
  Invalid: K8sErrorCode.invalid,
  Forbidden: K8sErrorCode.forbidden,
  Unauthorized: K8sErrorCode.unauthorized,
  Expired: K8sErrorCode.expired,
  Gone: K8sErrorCode.expired,
  BadRequest: K8sErrorCode.badRequest,
  TooManyRequests: K8sErrorCode.tooManyRequests,
  Timeout: K8sErrorCode.timeout,
  ServerTimeout: K8sErrorCode.timeout,
  MethodNotAllowed: K8sErrorCode.badRequest,
  UnsupportedMediaType: K8sErrorCode.badRequest,
};

/**
 * A Status response as one actionable line: `<Reason>: <message> [fields: a, b] (context "x")`.
 * Non-Status bodies (a proxy's HTML page...) keep only their first line.
 */
export function statusError(context: string, httpStatus: number, text: string): ControlPlaneError {
  let reason = httpStatus === 404 ? 'NotFound' : httpStatus === 401 ? 'Unauthorized' : httpStatus === 403 ? 'Forbidden' : httpStatus === 410 ? 'Expired' : `HTTP ${httpStatus}`;
  let message = firstLine(text).slice(0, 300) || `the API server answered HTTP ${httpStatus}`;
  let causes: StatusCause[] = [];
  try {
    const parsed = JSON.parse(text) as { kind?: string; reason?: string; message?: string; details?: { causes?: StatusCause[] } };
    if (parsed.kind === 'Status' || parsed.reason !== undefined) {
      reason = parsed.reason && parsed.reason.length > 0 ? parsed.reason : reason;
      message = parsed.message ?? message;
      causes = parsed.details?.causes ?? [];
    }
  } catch {
    // Not JSON: keep the first line.
  }
  const fields = causes.map((c) => c.field).filter((f): f is string => Boolean(f) && !message.includes(String(f)));
  const line = `${reason}: ${message.replace(/\s*\n\s*/g, message.includes('\n- ') ? '\n' : ' ')}${fields.length ? ` [fields: ${[...new Set(fields)].join(', ')}]` : ''} (context "${context}")`;
  const code = CODE_BY_REASON[reason] ?? (httpStatus >= 500 ? K8sErrorCode.serverError : K8sErrorCode.badRequest);
  const hint = HINTS[reason];
  const details: ApiErrorDetails = { context, httpStatus, reason, causes, ...(hint ? { hint } : {}) };
  return new ControlPlaneError(code, line, { details: { ...details } });
}

/** The Status details of an API error, when `err` is one. */
export function apiErrorDetails(err: unknown): ApiErrorDetails | undefined {
  if (!(err instanceof ControlPlaneError)) return undefined;
  const d = err.details;
  if (typeof d['httpStatus'] !== 'number' || typeof d['context'] !== 'string' || typeof d['reason'] !== 'string') return undefined;
  const causes = Array.isArray(d['causes']) ? (d['causes'] as StatusCause[]) : [];
  return { context: d['context'], httpStatus: d['httpStatus'], reason: d['reason'], causes };
}

/** Whether `err` is an API error with this code (K8sErrorCode). */
export function isK8sError(err: unknown, code: string): boolean {
  return err instanceof ControlPlaneError && err.code === code;
}

async function readAll(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.destroy();
      throw new ControlPlaneError(K8sErrorCode.tooLarge, `The API response exceeded ${Math.round(maxBytes / 1024 / 1024)} MB; narrow the request (namespace, selector, limit).`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim().length > 0) ?? '').trim();
}

/** Client for a context of a loaded kubeconfig (a copy of it with that context current). */
export function clientFor(kc: KubeConfig, info: ContextInfo, impersonation = new Impersonation(false)): KubeClient {
  const copy = new KubeConfig();
  copy.loadFromOptions({ clusters: kc.getClusters(), users: kc.getUsers(), contexts: kc.getContexts(), currentContext: info.name });
  return new KubeClient(info.name, info.server, info.namespace, copy, impersonation);
}

/** Reads a file the in-cluster service account provides (namespace), if present. */
export function readServiceAccountFile(name: string, saDir = SA_DIR): string | undefined {
  try {
    return readFileSync(join(saDir, name), 'utf8').trim();
  } catch {
    return undefined;
  }
}
