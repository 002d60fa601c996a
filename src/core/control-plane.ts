import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import { secretReferenceAuditKeyStorage, type AuditKeyStorage } from './audit';
import type { Config, ServerConfig } from './config/schema';
import { resolveServerSpecs, type HostEnvironment, type ServerConsent, type SpecProblem } from './config/server-specs';
import { findBuiltin } from './builtin-servers';
import { canonicalJson, sha256Hex } from './canonical-json';
import { prepareNetworkInventory } from './consent/devices';
import { serverProposal } from './consent/server-proposal';
import { ConsentStore, type ConsentGrant, type Proposal, type ServerGrant } from './consent/store';
import { ControlPlaneError } from './errors';
import { Gateway, type GatewayTeamOptions, type HostRoot, type Readiness, type RouteHandler } from './gateway/gateway';
import { Metrics } from './metrics/metrics';
import { Notifier, watchNotifySources, type ChannelStatus, type NotificationsConfig } from './notify';
import { expandReferences, secretEnvName } from './secrets/secret-store';
import { resolveAuditRetention } from './audit/retention';
import { isServing, statePhrase } from './supervisor/state';
import { startTelemetry, type Telemetry } from './telemetry';
import { openOversight, type Oversight } from './oversight/oversight';
import { UndoService } from './undo/service';
import { UndoStore } from './undo/store';
import { LayeredPolicy } from './oversight/policy-source';
import { Redactor } from './redact';
import { DEFAULT_STOP_TIMING } from './supervisor/child-process';
import { InstanceProcessRecord, PROCESSES_DIR, describeLeftovers, newInstanceId, recoverLeftovers, type LeftoverReport } from './supervisor/instance-record';
import type { ServerSpec } from './supervisor/managed-server';
import type { LogSink } from './supervisor/server-log';
import { Supervisor } from './supervisor/supervisor';
import { PostgresApprovalStorage, defaultWriterId } from './approvals/postgres';
import { openPostgres, type PgPool } from './storage/postgres';
import type { SecretStore } from './secrets/secret-store';

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
  /** Where the audit key ring is kept: VS Code SecretStorage; default `<stateDir>/keys/audit.key`. */
  auditKeys?: AuditKeyStorage;
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
  /** Team mode (`mcpcp serve` with `team:`): identities on /mcp, public URL, TLS, trusted proxies (see src/core/team). */
  team?: GatewayTeamOptions;
}

function realPathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** VS Code's mcp.json shape for the gateway's servers. */
export interface ClientConfiguration {
  /** Team mode: the prompt for the client's own credential (an API key or access token), never the gateway's token. */
  inputs?: Array<{ type: 'promptString'; id: string; description: string; password: true }>;
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
  /**
   * This instance's id and record of children: every child carries `MCPCP_INSTANCE=<id>`, and a
   * later start cleans up what a crash of this instance left (see `recoverLeftovers`).
   */
  readonly processes: InstanceProcessRecord;
  private leftoverReports: LeftoverReport[] = [];
  private oversightImpl: Oversight | undefined;
  private problemsList: SpecProblem[] = [];
  private host: HostEnvironment;
  private config: Config;
  /** What a human allowed: servers and devices the workspace proposed, git hooks. */
  readonly consent: ConsentStore;
  private waitingList: Proposal[] = [];
  private readonly inventoryWatchers = new Map<string, FSWatcher>();
  private consentQueue: Promise<void> = Promise.resolve();
  /** Set by `stop`: a consent re-evaluation still queued must not start servers afterwards. */
  private stopping = false;
  private telemetryImpl: Telemetry | undefined;
  private notifier: { notifier: Notifier; watch: { dispose(): void }; key: string } | undefined;
  /** `storage.postgres`: the pool of this replica and the approval state it shares with the others. */
  private shared: { pool: PgPool; approvals: PostgresApprovalStorage } | undefined;

  private constructor(private readonly options: ControlPlaneOptions) {
    this.host = options.host;
    this.config = options.config;
    this.policy = new LayeredPolicy(options.log);
    this.consent = new ConsentStore(options.stateDir);
    this.gateway = new Gateway({
      config: options.config.gateway,
      ...(options.token ? { token: options.token } : {}),
      roots: options.roots,
      metrics: this.metrics,
      publicRoutes: [],
      telemetry: () => this.telemetryImpl?.calls,
      ...(options.authedRoutes ? { authedRoutes: options.authedRoutes } : {}),
      ...(options.log ? { log: options.log } : {}),
      readiness: () => this.readiness(),
      ...(options.team ? { team: options.team } : {}),
    });
    const sink = options.logSink;
    this.processes = new InstanceProcessRecord(join(options.stateDir, PROCESSES_DIR), newInstanceId(options.instancePrefix), options.log);
    this.supervisor = new Supervisor({
      owner: this.processes,
      config: options.config.supervisor,
      hooks: this.gateway,
      // Every line of a child's stderr and of the supervisor (command lines with expanded
      // arguments), and every last error, passes the redactor, which knows each secret handed to
      // a child.
      redact: (text) => this.redactor.redactString(text),
      ...(sink ? { logSink: sink } : {}),
    });
    this.gateway.attach(this.supervisor);
    this.metrics.setServerSource(() => this.supervisor.statuses());
  }

  /**
   * Opens the audit log (recovering approvals a dead instance left pending), loads the policy,
   * listens on loopback and starts every enabled server. Throws PORT_IN_USE, AUDIT_OPEN_FAILED and
   * the like: without an audit log nothing is served.
   */
  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const plane = new ControlPlane(options);
    plane.redactor.addSecret(plane.gateway.token);
    // Audit retention deletes evidence: operator configuration only, never a workspace file's.
    if (options.policyLayer === 'workspace' && (options.config.audit.retention.maxAgeDays !== undefined || options.config.audit.retention.maxTotalBytes !== undefined)) {
      options.log?.('audit retention: ignored in a workspace configuration file; configure it in user settings or a --config file');
    }
    const retention =
      options.policyLayer === 'workspace'
        ? undefined
        : await resolveAuditRetention(
            options.config.audit.retention,
            (reference) => expandReferences(reference, { secrets: plane.host.secrets, env: {}, onSecret: (value) => plane.redactor.addSecret(value) }),
            options.log,
          );
    const teamAudit = await plane.openTeamAudit(options);
    // A team deployment shares approvals with its other replicas (operator configuration only).
    plane.shared = options.policyLayer === 'workspace' ? undefined : await openSharedApprovals(options.config, plane.host.secrets, plane.redactor, options.log);
    plane.oversightImpl = await openOversight({
      ...(retention !== undefined ? { retention } : {}),
      allowSelfApproval: selfApprovalAllowed(options.config),
      ...(plane.shared ? { sharedApprovals: plane.shared.approvals } : {}),
      stateDir: options.stateDir,
      instancePrefix: options.instancePrefix,
      operatorLayer: options.policyLayer === 'user' ? 'user' : 'config',
      ...(teamAudit.auditKeys ? { auditKeys: teamAudit.auditKeys } : options.auditKeys ? { auditKeys: options.auditKeys } : {}),
      ...(teamAudit.postgresAudit ? { postgresAudit: teamAudit.postgresAudit } : {}),
      policy: plane.policy,
      approvals: options.config.approvals,
      redactor: plane.redactor,
      metrics: plane.metrics,
      supervisor: plane.supervisor,
      gatewayUrl: (server) => plane.gateway.url(server),
      ...(options.log ? { log: options.log } : {}),
    }).catch(async (err: unknown) => {
      await plane.auditPool?.end().catch(() => undefined);
      throw err;
    });
    plane.gateway.setStages(plane.oversightImpl);
    plane.startUndo(options.config);
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
    // A grant or revocation (the CLI, the VS Code dialog) applies at once: proposals re-evaluated.
    plane.consent.watch();
    plane.consent.onDidChange(() => plane.reevaluateConsent());
    const startedAt = new Date().toISOString();
    plane.consent.onPolicyReload((at) => {
      if (at >= startedAt) plane.policy.dropKept('a human with the approver credential');
    });
    try {
      await plane.applyPolicy(options.config);
      await plane.gateway.listen();
      await plane.recoverLeftovers();
      await plane.applyConfig(options.config, options.host);
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  /** The PostgreSQL pool of the team audit (`storage.postgres`), closed after the audit at stop. */
  private auditPool: PgPool | undefined;

  /**
   * The team audit (operator configuration only, never a workspace file's): `audit.keyring` takes
   * the key ring from a secret (every replica signs with the same keys), `storage.postgres` writes
   * the audit to PostgreSQL in this replica's own chain (`writerId`, default host name and pid).
   */
  private async openTeamAudit(options: ControlPlaneOptions): Promise<{ auditKeys?: AuditKeyStorage; postgresAudit?: { pool: PgPool; writerId: string } }> {
    if (options.policyLayer === 'workspace') {
      if (options.config.storage.postgres !== undefined || options.config.audit.keyring !== undefined) options.log?.('storage.postgres and audit.keyring: ignored in a workspace configuration file; give them in a --config file');
      return {};
    }
    const reference = options.config.audit.keyring;
    const name = reference?.slice('${secret:'.length, -1);
    const auditKeys = name !== undefined ? secretReferenceAuditKeyStorage(name, this.host.secrets, secretEnvName(name)) : undefined;
    const pg = options.config.storage.postgres;
    if (pg === undefined) return auditKeys !== undefined ? { auditKeys } : {};
    const writerId = pg.writerId ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50)}-${process.pid}`;
    const url = await expandReferences(pg.url, { secrets: this.host.secrets, env: {}, onSecret: (value) => this.redactor.addSecret(value) });
    const { openPostgres } = await import('./storage/postgres');
    this.auditPool = await openPostgres(url, { applicationName: `mcpcp:${writerId}`.slice(0, 63), poolSize: pg.poolSize });
    return { ...(auditKeys !== undefined ? { auditKeys } : {}), postgresAudit: { pool: this.auditPool, writerId } };
  }

  /**
   * Whether calls can be taken now (`/readyz`): the audit log can be written (while it can't,
   * every call is refused), and every server is serving (running, or unhealthy but answering) —
   * servers stopped on purpose (disabled, stopped by a human) do not count. The reasons are short
   * and carry no error text; `mcpcp status` has the details.
   */
  readiness(): Readiness {
    const reasons: string[] = [];
    const audit = this.oversightImpl?.auditHealth;
    if (this.oversightImpl === undefined) reasons.push('starting');
    else if (audit?.state === 'failing') reasons.push(`audit log cannot be written since ${new Date(audit.since).toISOString()} (calls are refused)`);
    for (const s of this.supervisor.statuses()) {
      if (s.state.kind === 'stopped' || isServing(s.state)) continue;
      reasons.push(`server ${s.name} ${statePhrase(s.state.kind)}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  /**
   * Stops what dead instances (a `kill -9`, a VS Code window that was killed) left running, before
   * this instance starts its own servers; logs and audits each cleanup.
   */
  private async recoverLeftovers(): Promise<void> {
    const timing = DEFAULT_STOP_TIMING;
    const reports = await recoverLeftovers({
      dir: join(this.options.stateDir, PROCESSES_DIR),
      selfInstance: this.processes.instanceId,
      graceMs: timing.sigkillAfterMs - timing.sigtermAfterMs,
      ...(this.options.log ? { log: this.options.log } : {}),
    });
    this.leftoverReports = reports.filter((r) => r.processes.length > 0 || r.untouched.length > 0);
    for (const r of this.leftoverReports) {
      await this.oversightImpl
        ?.recordAction({
          action: 'leftovers.stop',
          outcome: r.processes.every((p) => p.outcome !== 'survived') ? 'ok' : 'error',
          detail: { summary: describeLeftovers(r), instance: r.instance, pid: r.pid, processes: r.processes.map((p) => ({ pid: p.pid, server: p.server ?? null, outcome: p.outcome, command: this.redactor.redactString(p.command) })), untouched: r.untouched },
          ...(r.processes.some((p) => p.outcome === 'survived') ? { error: 'some leftover processes survived SIGKILL' } : {}),
        })
        .catch((err: unknown) => this.options.log?.(`cannot audit the leftover cleanup: ${err instanceof Error ? err.message : String(err)}`));
    }
    this.processes.open();
  }

  /** What this start found and stopped of instances that ended without stopping their servers. */
  get leftovers(): readonly LeftoverReport[] {
    return this.leftoverReports;
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
    const roots = this.options.roots().filter((r) => r.uri.startsWith('file:')).map((r) => fileURLToPath(r.uri));
    await this.policy.setWorkspaceRoots(this.host.workspaceTrusted ? roots : []);
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
    const consent = await this.evaluateConsent(config, host);
    if (this.stopping) return;
    const { specs, problems } = resolveServerSpecs(config, {
      ...host,
      workspaceDefined: new Set([...consent.granted.keys(), ...consent.waiting.keys(), ...(host.workspaceDefined ?? [])]),
      consent,
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
    // Team mode: one publicUrl drives every link the product prints, approval links in alerts too.
    if (config.team?.publicUrl !== undefined) settings = { ...settings, publicUrl: config.team.publicUrl };
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

  /** Grants changed, or a workspace inventory: proposals are evaluated again (serially). */
  private reevaluateConsent(): void {
    if (this.stopping) return;
    this.consentQueue = this.consentQueue.then(() => this.applyConfig(this.config, this.host)).catch((err: unknown) => this.options.log?.(`consent: ${String(err)}`));
  }

  /**
   * Watches each root's .mcpcp folder: an edited workspace inventory is evaluated at once, so a
   * device whose destination changed leaves the server's inventory and waits for consent again.
   */
  private watchInventories(rootPaths: readonly string[]): void {
    for (const dir of rootPaths.map((r) => join(r, '.mcpcp'))) {
      if (this.inventoryWatchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_e, name) => {
          if (name === null || name === 'inventory.yaml') this.reevaluateConsent();
        });
        w.on('error', () => undefined);
        this.inventoryWatchers.set(dir, w);
      } catch {
        // No .mcpcp folder: nothing proposed there.
      }
    }
  }

  /** Proposals from the workspace that wait for a human (servers and devices). */
  get waiting(): readonly Proposal[] {
    return this.waitingList;
  }

  /**
   * Which workspace-proposed servers have a grant for their current spec, which wait, and digests
   * of the grants built-in servers depend on; publishes what waits for `mcpcp consent list`.
   */
  private async evaluateConsent(config: Config, host: HostEnvironment): Promise<ServerConsent> {
    const granted = new Map<string, ServerGrant>();
    const waiting = new Map<string, Proposal>();
    const grants: ConsentGrant[] = await this.consent.grants().catch((err: unknown) => {
      this.options.log?.(`consent: ${String(err)}; every proposal waits`);
      return [];
    });
    const serverGrants = grants.filter((g): g is ServerGrant => g.kind === 'server');
    for (const [name, source] of this.proposedServers(config, host)) {
      const proposal = await serverProposal(name, config.servers[name]!, this.proposalContext(host, source));
      const grant = serverGrants.find((g) => g.source === proposal.source && g.name === name && g.hash === proposal.hash);
      if (grant) granted.set(name, grant);
      else waiting.set(name, proposal);
    }
    let devices: Proposal[] = [];
    if (host.workspaceTrusted) {
      this.watchInventories(host.rootPaths);
      try {
        devices = (await prepareNetworkInventory({ env: host.env, rootPaths: host.rootPaths, stateDir: host.stateDir, trustedInventory: host.trustedInventory }, this.consent)).waiting;
      } catch (err) {
        this.options.log?.(`network inventory: ${String(err)}`);
      }
    }
    const digest = (kind: string): string => sha256Hex(canonicalJson(grants.filter((g) => g.kind === kind).map((g) => ({ ...g, grantedAt: '' }))));
    const hint = host.consentHint ?? ((p: Proposal) => `grant it with \`mcpcp consent grant ${p.id}\``);
    this.waitingList = [...waiting.values(), ...devices];
    for (const p of this.waitingList) this.options.log?.(`${p.kind} "${p.name}" waits for consent (${p.id}): ${hint(p)}`);
    await this.consent.setPending(String(process.pid), this.waitingList).catch(() => undefined);
    return {
      granted,
      waiting,
      hint,
      recheck: (name, entry) => serverProposal(name, entry, this.proposalContext(host, this.proposedServers(config, host).get(name) ?? '')),
      builtinDigests: { network: digest('device'), git: digest('git-hooks') },
      changed: () => this.reevaluateConsent(),
    };
  }

  /**
   * Servers that are proposals, with the file that proposed each: those the host says came from the
   * workspace (a config found in the working directory, workspace settings) and those adopted from
   * a file inside a root (`adoptedFrom`), which the workspace wrote.
   */
  private proposedServers(config: Config, host: HostEnvironment): Map<string, string> {
    const out = new Map<string, string>();
    const inRoots = (file: string): boolean => host.rootPaths.some((r) => file === r || file.startsWith(`${r}/`) || file.startsWith(`${r}\\`));
    for (const [name, entry] of Object.entries(config.servers)) {
      if (entry.enabled === false || findBuiltin(name)) continue;
      if (host.workspaceDefined?.has(name)) out.set(name, host.proposalSource ?? `workspace:${host.rootPaths[0] ?? host.defaultCwd}`);
      else if (entry.adoptedFrom && inRoots(realPathOr(entry.adoptedFrom.file))) out.set(name, realPathOr(entry.adoptedFrom.file));
    }
    return out;
  }

  private proposalContext(host: HostEnvironment, source: string): { source: string; env: NodeJS.ProcessEnv; defaultCwd: string; rootPaths: readonly string[] } {
    return { source, env: host.env, defaultCwd: host.defaultCwd, rootPaths: host.rootPaths };
  }

  /**
   * Records consent for these proposed servers as they are now. Only for a caller that just had a
   * human's gesture over exactly these servers (the VS Code modal of Adopt Servers or of the
   * consent dialog); never reachable from the gateway.
   */
  async grantProposals(names: readonly string[], options: { allowSecretInArgs?: boolean; entries?: Readonly<Record<string, ServerConfig>> } = {}): Promise<Proposal[]> {
    // The entries just written may not have reached this.config yet (a settings update in flight).
    const config = { ...this.config, servers: { ...this.config.servers, ...(options.entries ?? {}) } };
    const proposed = this.proposedServers(config, this.host);
    const done: Proposal[] = [];
    for (const name of names) {
      const source = proposed.get(name);
      const entry = config.servers[name];
      if (source === undefined || entry === undefined) continue;
      const p = await serverProposal(name, entry, this.proposalContext(this.host, source));
      if (p.argSecrets.length > 0 && options.allowSecretInArgs !== true) continue;
      await this.consent.grant({ kind: 'server', id: p.id, source: p.source, name, hash: p.hash, secrets: p.secrets, argSecrets: p.argSecrets.length > 0, summary: p.summary, grantedAt: new Date().toISOString() });
      done.push(p);
    }
    await this.applyConfig(this.config, this.host);
    return done;
  }

  /** Client configuration in VS Code's mcp.json shape, for every supervised server. */
  clientConfiguration(): ClientConfiguration {
    const servers: ClientConfiguration['servers'] = {};
    // Team mode: each client brings its own identity (the loopback token is not accepted on /mcp).
    const team = this.options.team !== undefined;
    const authorization = team ? 'Bearer ${input:mcpcp-credential}' : `Bearer ${this.gateway.token}`;
    for (const s of this.supervisor.list()) {
      servers[s.name] = { type: 'http', url: this.gateway.url(s.name), headers: { Authorization: authorization } };
    }
    if (!team) return { servers };
    return { inputs: [{ type: 'promptString', id: 'mcpcp-credential', description: 'Your MCP Control Plane API key or OIDC access token', password: true }], servers };
  }

  /** Roots changed (workspace folders): servers re-read them, workspace policy files reload. */
  async rootsChanged(): Promise<void> {
    for (const s of this.supervisor.list()) void s.connection?.client.sendRootsListChanged().catch(() => undefined);
    await this.applyPolicy(this.config);
  }

  /**
   * Stops draining first: new calls are refused and waiting ones (approval, queue) end at once
   * with an error naming `reason`; calls already running get `gateway.drainTimeoutMs` to finish.
   * Then rejects pending approvals, stops every child (staged, within about 3 s) and the gateway,
   * and closes the audit log.
   */
  /** Undo of destructive calls (docs/undo.md): handles kept encrypted in `<stateDir>/undo`. */
  get undo(): UndoService {
    if (this.undoImpl === undefined) throw new Error('the control plane has not started');
    return this.undoImpl;
  }

  private undoImpl: UndoService | undefined;
  private undoSweep: NodeJS.Timeout | undefined;

  private startUndo(config: Config): void {
    const oversight = this.oversightImpl!;
    const store = new UndoStore({ dir: join(this.options.stateDir, 'undo'), secrets: this.host.secrets, maxHandleBytes: config.undo.maxHandleBytes, retentionDays: config.undo.retentionDays });
    this.undoImpl = new UndoService({
      store,
      supervisor: () => this.supervisor,
      gateway: () => this.gateway,
      redactor: this.redactor,
      auditDir: join(this.options.stateDir, 'audit'),
      callTimeoutMs: config.approvals.expiryMs + config.gateway.callTimeoutMs,
      requestApproval: (input) => oversight.requestInternalApproval(input),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
    oversight.undo = this.undoImpl;
    // Expired handles go at start and once a day.
    const sweep = (): void => void store.sweep().then((n) => n > 0 && this.options.log?.(`undo: removed ${n} expired undo handle(s) (older than ${config.undo.retentionDays} days)`)).catch(() => undefined);
    sweep();
    this.undoSweep = setInterval(sweep, 86_400_000);
    this.undoSweep.unref();
  }

  async stop(reason = 'the control plane is stopping'): Promise<void> {
    this.stopping = true;
    if (this.undoSweep !== undefined) clearInterval(this.undoSweep);
    await this.gateway.drain(reason).catch((err: unknown) => this.options.log?.(`drain: ${err instanceof Error ? err.message : String(err)}`));
    // Stopping is not an outage: no alerts for the servers this stop ends.
    this.notifier?.watch.dispose();
    this.notifier?.notifier.close();
    this.oversightImpl?.rejectPending();
    await Promise.allSettled([this.supervisor.stopAll(), this.gateway.close()]);
    // Anything still carrying this instance's marker (a grandchild that left every group) goes too.
    const stray = await this.processes.sweep(DEFAULT_STOP_TIMING.sigkillAfterMs - DEFAULT_STOP_TIMING.sigtermAfterMs).catch(() => []);
    if (stray.length > 0) this.options.log?.(`stopped ${stray.length} process${stray.length === 1 ? '' : 'es'} that outlived their server's stop: ${stray.map((p) => `pid ${p.pid} ${p.outcome}`).join(', ')}`);
    this.processes.close();
    await this.oversightImpl?.close().catch(() => undefined);
    await this.auditPool?.end().catch(() => undefined);
    await this.shared?.approvals.close().catch(() => undefined);
    await this.shared?.pool.end().catch(() => undefined);
    await this.telemetryImpl?.shutdown().catch(() => undefined);
    this.policy.dispose();
    this.consent.dispose();
    for (const w of this.inventoryWatchers.values()) w.close();
    await this.consent.setPending(String(process.pid), []).catch(() => undefined);
    this.supervisor.dispose();
  }
}

/**
 * Whether the requester may decide their own request: `team.allowSelfApproval` in team mode; the
 * loopback single-user mode is self-approval by construction (one local user asks and decides),
 * unless it shares state with other replicas (`storage.postgres`), where it must be said explicitly.
 */
export function selfApprovalAllowed(config: Config): boolean {
  if (config.team !== undefined) return config.team.allowSelfApproval;
  return config.storage.postgres === undefined;
}

/** `storage.postgres`: opens this replica's pool and the shared approval state (migrations run now). */
async function openSharedApprovals(
  config: Config,
  secrets: SecretStore,
  redactor: Redactor,
  log: ((message: string) => void) | undefined,
): Promise<{ pool: PgPool; approvals: PostgresApprovalStorage } | undefined> {
  const settings = config.storage.postgres;
  if (settings === undefined) return undefined;
  const url = await expandReferences(settings.url, { secrets, env: {}, onSecret: (value) => redactor.addSecret(value) });
  const writerId = settings.writerId ?? defaultWriterId();
  const pool = await openPostgres(url, { applicationName: `mcpcp-${writerId}`, poolSize: settings.poolSize });
  try {
    const timeoutMs = settings.replicaTimeoutSeconds * 1000;
    const approvals = await PostgresApprovalStorage.open(pool, { url, writerId, orphanAfterMs: timeoutMs, heartbeatMs: Math.max(200, Math.floor(timeoutMs / 5)), ...(log ? { log } : {}) });
    log?.(`approvals shared through PostgreSQL as replica ${writerId}`);
    return { pool, approvals };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}
