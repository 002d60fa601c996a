import { createHash, randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  PromptListChangedNotificationSchema,
  type Implementation,
  type ServerCapabilities,
  type Tool,
  type Notification,
  type Request,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import { Emitter, type Event } from '../events';
import { compileGlob } from '../policy';
import { ControlPlaneError, errorMessage } from '../errors';
import type { SupervisorConfig } from '../config/schema';
import { backoffDelay } from './backoff';
import { type SpawnSpec, type StopTiming, DEFAULT_STOP_TIMING } from './child-process';
import { RemoteLink, StdioLink, type Link, type RemoteSpec } from './link';
import { INSTANCE_ENV, SPAWN_ENV } from './processes';
import { knownFailureCause } from './failure-cause';
import { ServerLog, type LogSink } from './server-log';
import { isServing, statePhrase, type ExitInfo, type ServerState, type ServerStatus } from './state';
import { plural } from '../display/words';

/** Name and version the control plane gives itself when it connects to a server. */
export const CONTROL_PLANE_CLIENT_INFO: Implementation = { name: 'mcp-control-plane', version: '0.1.0' };

/** A running child's MCP session, as the gateway forwards through it. */
export interface UpstreamConnection {
  readonly server: string;
  /** Increments with every child start; a call bound to an older generation failed with it. */
  readonly generation: number;
  readonly client: Client;
  readonly serverInfo: Implementation;
  readonly capabilities: ServerCapabilities;
  readonly instructions: string | undefined;
  readonly tools: readonly Tool[];
  /** Short digest of the tool list; changes whenever the tools change. */
  readonly toolsDigest: string;
  readonly resourceCount: number;
  readonly promptCount: number;
  /** URI of the server's `<scheme>://targets` resource (clusters, devices), if it has one. */
  readonly targetsUri: string | undefined;
}

/** What the owner (the gateway) does with traffic a server starts. */
export interface UpstreamHooks {
  /** A request from the server to its client: sampling, elicitation, roots. */
  onServerRequest(server: string, request: Request, signal: AbortSignal): Promise<Result>;
  /** A notification from the server (logging, resource updates, list changes...). */
  onServerNotification(server: string, notification: Notification): void;
}

/** What is run for a server; `resolveSpawn` is called at every start (secrets may have changed). */
export interface ServerSpec {
  name: string;
  /** Our own server: previews trusted, server-to-client requests tagged with the call. */
  builtin: boolean;
  resolveSpawn(): Promise<SpawnSpec>;
  /** For an HTTP/SSE upstream instead of a child: where it is (secrets expanded at each connect). */
  resolveRemote?(): Promise<RemoteSpec>;
  /** Equal fingerprints mean the same program and settings: a reconfiguration keeps it running. */
  fingerprint?: string;
  /** Longest a forwarded request may run (default: the gateway's). */
  callTimeoutMs?: number;
  /** Quick crashes in a row before crash-looping (default: the supervisor's). */
  crashLoopThreshold?: number;
  /** Tools offered through the gateway: globs to include, then to exclude. */
  toolFilter?: { include?: string[]; exclude?: string[] };
  /** Why this server may not start (for example an untrusted workspace); it stays stopped. */
  blockedReason?: string;
  /** The secret values handed to this server at its last start (env, args, headers): never echoed to clients. */
  secretValues?(): readonly string[];
}

/**
 * The control plane instance that spawns: its id goes into every child's environment
 * (`MCPCP_INSTANCE`), and it is told of each child so a later start can find what a crash left.
 */
export interface SpawnOwner {
  readonly instanceId: string;
  spawned?(server: string, pid: number): void;
  exited?(server: string, pid: number): void;
}

export interface ManagedServerOptions {
  config: SupervisorConfig;
  owner?: SpawnOwner;
  hooks: UpstreamHooks;
  logSink?: LogSink;
  /** Applied to every log line and error before anyone sees it (secrets). */
  redact?: (text: string) => string;
  stopTiming?: StopTiming;
  now?: () => number;
  random?: () => number;
}

/** The current link and, once the handshake is done, its client. */
interface Child {
  link: Link;
  client: Client | undefined;
}

/**
 * One supervised server: spawn, handshake, health pings, restart with backoff, crash-loop
 * detection, staged stop. It never throws into its owner: every failure becomes a state.
 */
export class ManagedServer {
  readonly log: ServerLog;
  private state: ServerState = { kind: 'stopped' };
  private restarts = 0;
  private lastExit: ExitInfo | undefined;
  private lastError: string | undefined;
  private toolCount = 0;
  private child: Child | undefined;
  private spawning: Promise<unknown> | undefined;
  private upstream: UpstreamConnection | undefined;
  private generation = 0;
  private spawnCount = 0;
  private anonymousInstance: string | undefined;
  /** Consecutive crashes within the crash-loop window of becoming running. */
  private quickCrashes = 0;
  private backoffAttempt = 0;
  private runningSince: number | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private missedPings = 0;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly changed = new Emitter<ServerStatus>();
  private readonly connected = new Emitter<UpstreamConnection>();
  private readonly toolsChanged = new Emitter<UpstreamConnection>();

  /** Fires on every state change. */
  readonly onDidChangeStatus: Event<ServerStatus> = this.changed.event;
  /** Fires when a child has completed its handshake and listed its tools. */
  readonly onDidConnect: Event<UpstreamConnection> = this.connected.event;
  /** Fires when the tool list of the running child changed (list_changed, or a restart with other tools). */
  readonly onDidChangeTools: Event<UpstreamConnection> = this.toolsChanged.event;

  constructor(
    readonly spec: ServerSpec,
    private readonly options: ManagedServerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.log = new ServerLog(spec.name, options.logSink, options.redact);
    if (spec.blockedReason) this.state = { kind: 'stopped', reason: spec.blockedReason };
  }

  get name(): string {
    return this.spec.name;
  }

  get status(): ServerStatus {
    return {
      name: this.spec.name,
      builtin: this.spec.builtin,
      state: this.state,
      restarts: this.restarts,
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
      ...(this.lastError ? { lastError: this.options.redact ? this.options.redact(this.lastError) : this.lastError } : {}),
      toolCount: this.toolCount,
    };
  }

  /** The running child's session, if it is serving. */
  get connection(): UpstreamConnection | undefined {
    return isServing(this.state) ? this.upstream : undefined;
  }

  /** The last known tools (of the running child, or of the last one). */
  get lastConnection(): UpstreamConnection | undefined {
    return this.upstream;
  }

  /**
   * Starts the server if it is not running. From `crash-looping`, `failed` or `stopped` this is a
   * manual start: the crash-loop count and the backoff start over.
   */
  start(): void {
    if (this.spec.blockedReason) {
      this.setState({ kind: 'stopped', reason: this.spec.blockedReason });
      return;
    }
    if (this.state.kind === 'starting' || isServing(this.state)) return;
    this.clearRestartTimer();
    this.stopping = false;
    this.quickCrashes = 0;
    this.backoffAttempt = 0;
    void this.launch();
  }

  /** Stops the child in stages (stdin, SIGTERM, SIGKILL); resolves when it has exited. */
  async stop(reason = 'stopped'): Promise<void> {
    this.stopping = true;
    this.clearRestartTimer();
    this.clearPing();
    if (this.spawning) await this.spawning.catch(() => undefined);
    const child = this.child;
    if (child) {
      this.log.note(`stopping (${reason})`);
      await child.link.stop(this.options.stopTiming ?? DEFAULT_STOP_TIMING);
    }
    if (this.state.kind !== 'stopped' && this.state.kind !== 'failed') this.setState({ kind: 'stopped', reason });
  }

  /** Stop, then start as a manual start. */
  async restart(): Promise<void> {
    await this.stop('restarting by request');
    this.start();
  }

  /**
   * Resolves with the connection once the server serves, waiting at most `timeoutMs`. Rejects at
   * once when the server is stopped, failed or crash-looping: a caller should not wait for those.
   */
  async waitUntilServing(timeoutMs: number, signal?: AbortSignal): Promise<UpstreamConnection> {
    const ready = this.connection;
    if (ready) return ready;
    const notWaiting = this.notServingError();
    if (notWaiting) throw notWaiting;
    return await new Promise<UpstreamConnection>((resolve, reject) => {
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        sub.dispose();
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = (): void => finish(() => reject(new ControlPlaneError('CANCELLED', 'request cancelled')));
      const timer = setTimeout(
        () => finish(() => reject(new ControlPlaneError('NOT_RUNNING', `server "${this.name}" ${statePhrase(this.state.kind)}; it did not become ready within ${timeoutMs} ms`))),
        timeoutMs,
      );
      timer.unref();
      const sub = this.changed.event(() => {
        const conn = this.connection;
        if (conn) return finish(() => resolve(conn));
        const err = this.notServingError();
        if (err) finish(() => reject(err));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Why a caller should not wait for this server, or undefined when it is coming up. */
  notServingError(): ControlPlaneError | undefined {
    const s = this.state;
    const detail = this.lastError ? `: ${this.lastError}` : '';
    switch (s.kind) {
      case 'stopped':
        return new ControlPlaneError('NOT_RUNNING', `server "${this.name}" is stopped${s.reason ? ` (${s.reason})` : ''}; start it first`, { details: { manualStartNeeded: true } });
      case 'failed':
        return new ControlPlaneError('NOT_RUNNING', `server "${this.name}" failed to start: ${s.error}`, { details: { manualStartNeeded: true } });
      case 'crash-looping':
        return new ControlPlaneError(
          'NOT_RUNNING',
          `server "${this.name}" is crash-looping (${s.crashes} quick crashes)${detail}; it will not restart by itself: fix it, then start it by hand (VS Code: "MCP Control Plane: Restart Server"; headless: restart \`mcpcp serve\`)`,
          { details: { manualStartNeeded: true } },
        );
      default:
        return undefined;
    }
  }

  dispose(): void {
    this.clearRestartTimer();
    this.clearPing();
    this.changed.dispose();
    this.connected.dispose();
    this.toolsChanged.dispose();
  }

  private async launch(): Promise<void> {
    const since = this.now();
    this.setState({ kind: 'starting', since });
    let link: Link;
    try {
      const linking = this.openLink();
      this.spawning = linking;
      link = await linking;
    } catch (err) {
      const code = err instanceof ControlPlaneError ? err.code : 'SPAWN_FAILED';
      return this.fail(code, errorMessage(err));
    } finally {
      this.spawning = undefined;
    }
    const child: Child = { link, client: undefined };
    this.child = child;
    link.stderr?.on('data', (chunk: Buffer) => this.log.write(chunk));
    void link.exited.then((exit) => this.onExit(child, exit));
    this.log.note(link.pid !== undefined ? `started ${link.description}` : `connecting to ${link.description}`);
    if (this.stopping) return; // stop() is waiting for this child and stops it
    this.setState({ kind: 'starting', ...(link.pid !== undefined ? { pid: link.pid } : {}), since });

    try {
      await withTimeout(this.handshake(child), this.options.config.startTimeoutMs, `handshake did not complete within ${this.options.config.startTimeoutMs} ms`);
    } catch (err) {
      if (this.child !== child || link.hasExited) return; // the exit handler reports it
      this.lastError = `handshake failed: ${errorMessage(err)}`;
      this.log.note(this.lastError);
      link.kill();
    }
  }

  /** Spawns the child, or prepares the upstream connection. Config errors reject with CONFIG_INVALID. */
  private async openLink(): Promise<Link> {
    if (this.spec.resolveRemote) {
      let remote: RemoteSpec;
      try {
        remote = await this.spec.resolveRemote();
      } catch (err) {
        throw new ControlPlaneError('CONFIG_INVALID', errorMessage(err), { cause: err });
      }
      return new RemoteLink(remote);
    }
    let spawnSpec: SpawnSpec;
    try {
      spawnSpec = await this.spec.resolveSpawn();
    } catch (err) {
      throw new ControlPlaneError(err instanceof ControlPlaneError && err.code === 'SPAWN_FAILED' ? 'SPAWN_FAILED' : 'CONFIG_INVALID', errorMessage(err), { cause: err });
    }
    // Without an owner (a bare supervisor) the children are still marked, so that what they
    // leave behind can be found; only the crash recovery of a later start needs the owner's record.
    const instanceId = this.options.owner?.instanceId ?? (this.anonymousInstance ??= `anonymous-${process.pid}-${randomBytes(4).toString('hex')}`);
    const spawnId = `${this.spec.name}#${++this.spawnCount}`;
    const env = { ...spawnSpec.env, [INSTANCE_ENV]: instanceId, [SPAWN_ENV]: spawnId };
    const link = await StdioLink.spawn(
      { ...spawnSpec, env },
      { markers: [`${INSTANCE_ENV}=${instanceId}`, `${SPAWN_ENV}=${spawnId}`], stopTiming: this.options.stopTiming ?? DEFAULT_STOP_TIMING, log: (m) => this.log.note(m) },
    );
    const owner = this.options.owner;
    owner?.spawned?.(this.spec.name, link.pid);
    void link.exited.then(() => owner?.exited?.(this.spec.name, link.pid));
    return link;
  }

  private createClient(): Client {
    const client = new Client(CONTROL_PLANE_CLIENT_INFO, {
      capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
    });
    const name = this.spec.name;
    const hooks = this.options.hooks;
    client.setRequestHandler(CreateMessageRequestSchema, (req, extra) => hooks.onServerRequest(name, req, extra.signal) as never);
    client.setRequestHandler(ElicitRequestSchema, (req, extra) => hooks.onServerRequest(name, req, extra.signal) as never);
    client.setRequestHandler(ListRootsRequestSchema, (req, extra) => hooks.onServerRequest(name, req, extra.signal) as never);
    client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      void this.refreshLists(client).then(() => hooks.onServerNotification(name, n));
    });
    client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => {
      void this.refreshLists(client).then(() => hooks.onServerNotification(name, n));
    });
    client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => {
      void this.refreshLists(client).then(() => hooks.onServerNotification(name, n));
    });
    client.fallbackNotificationHandler = async (n) => hooks.onServerNotification(name, n);
    client.onerror = (err) => this.log.note(`protocol error: ${err.message}`);
    return client;
  }

  private async handshake(child: Child): Promise<void> {
    const client = await child.link.connect(() => this.createClient());
    child.client = client;
    if (child.link.pid === undefined) this.log.note(`connected to ${child.link.description}`);
    if (this.child !== child || child.link.hasExited) return;
    const conn = await this.readLists(client, this.generation + 1);
    if (this.child !== child) return;
    const previousDigest = this.upstream?.toolsDigest;
    this.generation = conn.generation;
    this.upstream = conn;
    this.toolCount = conn.tools.length;
    this.runningSince = this.now();
    this.missedPings = 0;
    this.setState({ kind: 'running', ...(child.link.pid !== undefined ? { pid: child.link.pid } : {}), startedAt: this.runningSince, toolCount: conn.tools.length });
    this.log.note(`running: ${conn.serverInfo.name} ${conn.serverInfo.version}, ${plural(conn.tools.length, 'tool')}`);
    this.connected.fire(conn);
    if (previousDigest !== undefined && previousDigest !== conn.toolsDigest) this.toolsChanged.fire(conn);
    this.schedulePing(child);
  }

  private async readLists(client: Client, generation: number): Promise<UpstreamConnection> {
    const capabilities = client.getServerCapabilities() ?? {};
    const tools: Tool[] = [];
    if (capabilities.tools) {
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined);
        tools.push(...page.tools.filter((t) => toolOffered(this.spec.toolFilter, t.name)));
        cursor = page.nextCursor;
      } while (cursor);
    }
    let resourceCount = 0;
    let targetsUri: string | undefined;
    if (capabilities.resources) {
      let cursor: string | undefined;
      do {
        const page = await client.listResources(cursor ? { cursor } : undefined);
        resourceCount += page.resources.length;
        targetsUri ??= page.resources.find((r) => /^[a-z][a-z0-9+.-]*:\/\/targets$/.test(r.uri))?.uri;
        cursor = page.nextCursor;
      } while (cursor);
    }
    let promptCount = 0;
    if (capabilities.prompts) {
      let cursor: string | undefined;
      do {
        const page = await client.listPrompts(cursor ? { cursor } : undefined);
        promptCount += page.prompts.length;
        cursor = page.nextCursor;
      } while (cursor);
    }
    return {
      server: this.spec.name,
      generation,
      client,
      serverInfo: client.getServerVersion() ?? { name: this.spec.name, version: '0' },
      capabilities,
      instructions: client.getInstructions(),
      tools,
      toolsDigest: createHash('sha256').update(JSON.stringify(tools)).digest('hex').slice(0, 16),
      resourceCount,
      promptCount,
      targetsUri,
    };
  }

  /** Re-reads the lists after a list_changed notification; fires onDidChangeTools on a change. */
  private async refreshLists(client: Client): Promise<void> {
    const current = this.upstream;
    if (!current || current.client !== client) return;
    try {
      const next = await this.readLists(client, current.generation);
      if (this.upstream !== current) return;
      this.upstream = next;
      this.toolCount = next.tools.length;
      if (this.state.kind === 'running') this.setState({ ...this.state, toolCount: next.tools.length });
      if (next.toolsDigest !== current.toolsDigest) this.toolsChanged.fire(next);
    } catch (err) {
      this.log.note(`could not refresh lists: ${errorMessage(err)}`);
    }
  }

  private schedulePing(child: Child): void {
    this.clearPing();
    const { healthIntervalMs, pingTimeoutMs, missedPingsBeforeRestart } = this.options.config;
    this.pingTimer = setTimeout(() => {
      void (async () => {
        if (this.child !== child || !isServing(this.state) || !child.client) return;
        try {
          await child.client.ping({ timeout: pingTimeoutMs });
          if (this.child !== child) return;
          if (this.missedPings > 0 && this.state.kind === 'unhealthy') {
            this.setState({ kind: 'running', pid: this.state.pid, startedAt: this.state.startedAt, toolCount: this.state.toolCount });
          }
          this.missedPings = 0;
          // Healthy long enough: the next crash starts the backoff over.
          if (this.runningSince !== undefined && this.now() - this.runningSince >= this.options.config.backoffResetAfterMs) this.backoffAttempt = 0;
        } catch (err) {
          if (this.child !== child || child.link.hasExited) return;
          this.missedPings++;
          const s = this.state;
          if (isServing(s)) this.setState({ kind: 'unhealthy', pid: s.pid, startedAt: s.startedAt, toolCount: s.toolCount, missedPings: this.missedPings });
          this.log.note(`ping ${this.missedPings} missed: ${errorMessage(err)}`);
          if (this.missedPings >= missedPingsBeforeRestart) {
            this.lastError = `unresponsive: ${this.missedPings} pings missed`;
            this.log.note(`${this.lastError}; ${child.link.pid !== undefined ? `killing pid ${child.link.pid}` : 'reconnecting'}`);
            child.link.kill();
            return;
          }
        }
        if (this.child === child) this.schedulePing(child);
      })();
    }, healthIntervalMs);
    this.pingTimer.unref();
  }

  private onExit(child: Child, exit: ExitInfo): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.clearPing();
    this.log.flush();
    this.lastExit = exit;
    const how = child.link.pid === undefined ? 'connection closed' : exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    void child.client?.close().catch(() => undefined);
    if (this.stopping) {
      this.log.note(`exited (${how})`);
      if (this.state.kind !== 'failed') this.setState({ kind: 'stopped', reason: 'stopped' });
      return;
    }
    const ranFor = this.runningSince === undefined ? 0 : exit.at - this.runningSince;
    const quick = this.runningSince === undefined || ranFor < this.options.config.crashLoopWindowMs;
    const recent = this.log.recent(50);
    // This child's stderr only: the lines after the supervisor's last "started" note.
    const startedAt = recent.map((l) => l.source === 'supervisor' && l.text.startsWith('started ')).lastIndexOf(true);
    const ownLines = recent.slice(startedAt + 1).filter((l) => l.source === 'stderr').map((l) => l.text);
    const cause = knownFailureCause(ownLines);
    if (cause?.permanent) {
      // The same command fails the same way every time (a package that does not exist): say why, do not restart.
      this.runningSince = undefined;
      return this.fail(cause.code, `${cause.message} (${how})`);
    }
    const lastLines = recent.filter((l) => l.source === 'stderr').slice(-3).map((l) => l.text).join(' | ');
    if (!this.lastError?.startsWith('unresponsive') && !this.lastError?.startsWith('handshake')) {
      this.lastError = `crashed (${how})${lastLines ? `: ${lastLines}` : ''}`;
    } else {
      this.lastError = `${this.lastError} (${how})`;
    }
    this.log.note(`crashed: ${how}`);
    if (ranFor >= this.options.config.backoffResetAfterMs) this.backoffAttempt = 0;
    this.quickCrashes = quick ? this.quickCrashes + 1 : 0;
    this.runningSince = undefined;
    if (this.quickCrashes >= (this.spec.crashLoopThreshold ?? this.options.config.crashLoopThreshold)) {
      this.log.note(`crash-looping after ${this.quickCrashes} quick crashes; not restarting until started by hand`);
      this.setState({ kind: 'crash-looping', crashes: this.quickCrashes, since: this.now() });
      return;
    }
    const delayMs = backoffDelay(this.backoffAttempt, { baseMs: this.options.config.backoffBaseMs, capMs: this.options.config.backoffCapMs }, this.random);
    const attempt = ++this.backoffAttempt;
    this.restarts++;
    this.setState({ kind: 'restarting', attempt, delayMs, nextStartAt: this.now() + delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) void this.launch();
    }, delayMs);
    this.restartTimer.unref();
  }

  private fail(code: string, message: string): void {
    this.lastError = message;
    this.log.note(`failed: ${message}`);
    this.setState({ kind: 'failed', error: message, code });
  }

  private setState(state: ServerState): void {
    this.state = state;
    this.changed.fire(this.status);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private clearPing(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ControlPlaneError('START_TIMEOUT', message)), ms);
        timer.unref();
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Whether a tool passes a server's filter: included (all when no include list) and not excluded. */
export function toolOffered(filter: { include?: string[]; exclude?: string[] } | undefined, name: string): boolean {
  if (!filter) return true;
  const matches = (globs: string[]): boolean => globs.some((g) => compileGlob(g)(name));
  if (filter.include && !matches(filter.include)) return false;
  return !(filter.exclude && matches(filter.exclude));
}
