import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config/schema';
import { resolveServerSpecs, type HostEnvironment, type SpecProblem } from './config/server-specs';
import { ControlPlaneError } from './errors';
import { Gateway, type HostRoot, type RouteHandler } from './gateway/gateway';
import { Metrics } from './metrics/metrics';
import { Notifier, watchNotifySources, type ChannelStatus, type NotificationsConfig } from './notify';
import { expandReferences } from './secrets/secret-store';
import { isServing } from './supervisor/state';
import { startTelemetry, type Telemetry } from './telemetry';
import { openOversight, type Oversight } from './oversight/oversight';
import { LayeredPolicy, WORKSPACE_POLICY_FILE } from './oversight/policy-source';
import { Redactor } from './redact';
import type { ServerSpec } from './supervisor/managed-server';
import type { LogSink } from './supervisor/server-log';
import { Supervisor } from './supervisor/supervisor';

export interface ControlPlaneOptions {
  config: Config;
  host: HostEnvironment;
  /** The host's roots: workspace folders in VS Code, configured roots headless. */
  roots: () => HostRoot[];
  logSink?: LogSink;
  /** A fixed client token (tests, a configured one); random per start otherwise. */
  token?: string;
  /** Where this host keeps audit files, the pending-approvals journal and credentials. */
  stateDir: string;
  /** Prefix of this instance's audit id: `vscode` (one per window) or `cli`. */
  instancePrefix: string;
  /**
   * Which policy layer the configuration's `policy` is: `user` (VS Code user settings), `config`
   * (a config file the operator named), or `workspace` (a `.mcpcp/config.yaml` found in the
   * current directory, which, like `.mcpcp/policy.yaml`, can only tighten).
   */
  policyLayer: 'user' | 'config' | 'workspace';
  /** Routes after the Host/Origin checks and before the token check (the web UI does its own auth). */
  publicRoutes?: RouteHandler[] | ((plane: ControlPlane) => RouteHandler[]);
  authedRoutes?: RouteHandler[];
  log?: (message: string) => void;
}

/** VS Code's mcp.json shape for the gateway's servers. */
export interface ClientConfiguration {
  servers: Record<string, { type: 'http'; url: string; headers: { Authorization: string } }>;
}

/**
 * The engine both hosts run: a supervisor for the servers and the gateway in front of them. The
 * extension and the CLI build one, feed it configuration and roots, and render its events.
 */
export class ControlPlane {
  readonly gateway: Gateway;
  readonly supervisor: Supervisor;
  readonly metrics = new Metrics();
  /** Knows every secret the control plane handles; audit records and previews pass through it. */
  readonly redactor = new Redactor();
  readonly policy: LayeredPolicy;
  private oversightImpl: Oversight | undefined;
  private problemsList: SpecProblem[] = [];
  private host: HostEnvironment;
  private config: Config;
  private telemetryImpl: Telemetry | undefined;
  private notifier: { notifier: Notifier; watch: { dispose(): void }; key: string } | undefined;

  private constructor(private readonly options: ControlPlaneOptions) {
    this.host = options.host;
    this.config = options.config;
    this.policy = new LayeredPolicy(options.log);
    this.gateway = new Gateway({
      config: options.config.gateway,
      ...(options.token ? { token: options.token } : {}),
      roots: options.roots,
      metrics: this.metrics,
      publicRoutes: [],
      telemetry: () => this.telemetryImpl?.calls,
      ...(options.authedRoutes ? { authedRoutes: options.authedRoutes } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    const sink = options.logSink;
    this.supervisor = new Supervisor({
      config: options.config.supervisor,
      hooks: this.gateway,
      // Every line of a child's stderr and of the supervisor (command lines with expanded
      // arguments), and every last error, passes the redactor, which knows each secret handed to
      // a child.
      redact: (text) => this.redactor.redactString(text),
      ...(sink ? { logSink: sink } : {}),
    });
    this.gateway.attach(this.supervisor);
  }

  /**
   * Opens the audit log (recovering approvals a dead instance left pending), loads the policy,
   * listens on loopback and starts every enabled server. Throws PORT_IN_USE, AUDIT_OPEN_FAILED and
   * the like: without an audit log nothing is served.
   */
  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const plane = new ControlPlane(options);
    plane.redactor.addSecret(plane.gateway.token);
    plane.oversightImpl = await openOversight({
      stateDir: options.stateDir,
      instancePrefix: options.instancePrefix,
      policy: plane.policy,
      approvals: options.config.approvals,
      redactor: plane.redactor,
      metrics: plane.metrics,
      supervisor: plane.supervisor,
      gatewayUrl: (server) => plane.gateway.url(server),
      ...(options.log ? { log: options.log } : {}),
    });
    plane.gateway.setStages(plane.oversightImpl);
    plane.policy.onDidChange((source) => plane.oversightImpl?.configChanged(source, { problems: plane.policy.problems() }));
    try {
      plane.telemetryImpl = await plane.startTelemetry(options.config);
    } catch (err) {
      // Tracing is an aid: a collector we cannot configure never stops the control plane.
      options.log?.(`telemetry: not started: ${err instanceof Error ? err.message : String(err)}`);
    }
    plane.configureNotifications(options.config);
    const routes = typeof options.publicRoutes === 'function' ? options.publicRoutes(plane) : (options.publicRoutes ?? []);
    plane.gateway.addPublicRoutes(routes);
    try {
      await plane.applyPolicy(options.config);
      await plane.gateway.listen();
      await plane.applyConfig(options.config, options.host);
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  /** The policy, approval and audit stages, and the UIs' backend. */
  get oversight(): Oversight {
    if (!this.oversightImpl) throw new ControlPlaneError('NOT_STARTED', 'the control plane has not started');
    return this.oversightImpl;
  }

  /** Loads the configuration's rules into their layer and the roots' workspace policy files. */
  private async applyPolicy(config: Config): Promise<void> {
    const layer = this.options.policyLayer;
    const rules = config.policy.rules;
    if (layer === 'workspace') {
      // A workspace config may turn read-only mode on, never off, and its rules only tighten.
      this.policy.setBase({ readOnlyMode: config.policy.readOnlyMode, config: [] });
      this.policy.setWorkspaceRules(rules);
    } else {
      this.policy.setBase({ [layer]: rules, readOnlyMode: config.policy.readOnlyMode });
    }
    const files = this.options.roots().map((r) => join(fileURLToPath(r.uri), WORKSPACE_POLICY_FILE));
    await this.policy.setWorkspaceFiles(this.host.workspaceTrusted ? files : []);
  }

  get port(): number {
    return this.gateway.listeningPort;
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** Configuration entries that could not become servers, with the reason. */
  get problems(): readonly SpecProblem[] {
    return this.problemsList;
  }

  /**
   * Applies a new configuration or host environment (trust granted, settings edited): servers whose
   * definition changed restart, removed ones stop, new ones start. The gateway's own settings
   * (port, limits) apply at the next start.
   */
  async applyConfig(config: Config, host: HostEnvironment = this.host): Promise<void> {
    const changed = this.config !== config;
    this.config = config;
    this.host = host;
    if (changed) {
      this.configureNotifications(config);
      await this.applyPolicy(config);
      this.oversightImpl?.configChanged('configuration', { servers: Object.keys(config.servers) });
    }
    const redactor = this.redactor;
    const { specs, problems } = resolveServerSpecs(config, {
      ...host,
      onSecret: (value) => {
        redactor.addSecret(value);
        host.onSecret?.(value);
      },
    });
    this.problemsList = problems;
    for (const p of problems) this.options.log?.(`configuration: ${p.message}`);
    await this.supervisor.apply(this.withTelemetryEnv(specs), config.supervisor);
  }

  /** The telemetry in force, when an endpoint is configured (it applies at start, like the gateway's settings). */
  get telemetry(): Telemetry | undefined {
    return this.telemetryImpl;
  }

  /** Starts OpenTelemetry when the operator configured an endpoint; nothing is loaded otherwise. */
  private async startTelemetry(config: Config): Promise<Telemetry | undefined> {
    if (!config.telemetry.endpoint) return undefined;
    if (this.options.policyLayer === 'workspace') {
      this.options.log?.('telemetry: ignored in a workspace configuration file; configure it in user settings or a --config file');
      return undefined;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(config.telemetry.headers)) {
      headers[key] = await expandReferences(value, { secrets: this.host.secrets, env: {}, onSecret: (v) => this.redactor.addSecret(v) });
    }
    return startTelemetry(config.telemetry, {
      headers,
      serversUp: () => this.supervisor.list().map((s) => ({ server: s.name, up: isServing(s.status.state), state: s.status.state.kind })),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
  }

  /** Built-in servers get the collector's settings so their spans continue the gateway's traces. */
  private withTelemetryEnv(specs: ServerSpec[]): ServerSpec[] {
    const env = this.telemetryImpl?.serverEnv;
    if (!env) return specs;
    return specs.map((spec) => {
      if (!spec.builtin || !spec.resolveSpawn) return spec;
      const resolve = spec.resolveSpawn.bind(spec);
      return { ...spec, resolveSpawn: async () => {
        const spawn = await resolve();
        return { ...spawn, env: { ...spawn.env, ...env } };
      } };
    });
  }

  /** Delivery state of each notification channel: queued, delivered, failed, dropped, last error. */
  notificationStatus(): ChannelStatus[] {
    return this.notifier?.notifier.status() ?? [];
  }

  /**
   * (Re)builds the notifier when its configuration changed. Channels come from operator
   * configuration only: a workspace `.mcpcp/config.yaml` could otherwise send approvals and
   * arguments to a receiver of its choosing, so its `notifications` are ignored.
   */
  private configureNotifications(config: Config): void {
    let settings: NotificationsConfig = config.notifications;
    if (this.options.policyLayer === 'workspace' && Object.keys(settings.channels).length > 0) {
      this.options.log?.('notifications: ignored in a workspace configuration file; configure channels in user settings or a --config file');
      settings = { ...settings, channels: {} };
    }
    const key = JSON.stringify(settings);
    if (this.notifier?.key === key) return;
    this.notifier?.watch.dispose();
    this.notifier?.notifier.close();
    this.notifier = undefined;
    if (Object.keys(settings.channels).length === 0) return;
    const notifier = new Notifier({
      config: settings,
      resolveSecret: (reference) =>
        expandReferences(reference, { secrets: this.host.secrets, env: {}, onSecret: (value) => this.redactor.addSecret(value) }),
      redact: (text) => this.redactor.redactString(text),
      redactDeep: (value) => this.redactor.redact(value),
      ...(this.options.log ? { log: this.options.log } : {}),
      onDelivery: (channel, outcome) => this.telemetryImpl?.notificationDelivery(channel, outcome),
    });
    const oversight = this.oversightImpl;
    const watch = watchNotifySources((event) => notifier.publish(event), {
      supervisor: this.supervisor,
      ...(oversight ? { approvals: oversight.store, onAuditFailure: oversight.onDidFailAudit } : {}),
      onPolicyChange: this.policy.onDidChange,
      policyProblems: () => this.policy.problems(),
    }, { downAfterMs: settings.downAfterMs });
    this.notifier = { notifier, watch, key };
  }

  /** Client configuration in VS Code's mcp.json shape, for every supervised server. */
  clientConfiguration(): ClientConfiguration {
    const servers: ClientConfiguration['servers'] = {};
    for (const s of this.supervisor.list()) {
      servers[s.name] = { type: 'http', url: this.gateway.url(s.name), headers: { Authorization: `Bearer ${this.gateway.token}` } };
    }
    return { servers };
  }

  /** Roots changed (workspace folders): servers re-read them, workspace policy files reload. */
  async rootsChanged(): Promise<void> {
    for (const s of this.supervisor.list()) void s.connection?.client.sendRootsListChanged().catch(() => undefined);
    await this.applyPolicy(this.config);
  }

  /** Rejects pending approvals, stops every child (staged, within about 3 s) and the gateway, closes the audit log. */
  async stop(): Promise<void> {
    // Stopping is not an outage: no alerts for the servers this stop ends.
    this.notifier?.watch.dispose();
    this.notifier?.notifier.close();
    this.oversightImpl?.rejectPending();
    await Promise.allSettled([this.supervisor.stopAll(), this.gateway.close()]);
    await this.oversightImpl?.close().catch(() => undefined);
    await this.telemetryImpl?.shutdown().catch(() => undefined);
    this.policy.dispose();
    this.supervisor.dispose();
  }
}
