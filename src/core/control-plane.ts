import type { Config } from './config/schema';
import { resolveServerSpecs, type HostEnvironment, type SpecProblem } from './config/server-specs';
import { Gateway, type HostRoot, type RouteHandler } from './gateway/gateway';
import type { OversightStages } from './gateway/pipeline';
import { Metrics } from './metrics/metrics';
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
  stages?: OversightStages;
  publicRoutes?: RouteHandler[];
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
  private problemsList: SpecProblem[] = [];
  private host: HostEnvironment;
  private config: Config;

  private constructor(private readonly options: ControlPlaneOptions) {
    this.host = options.host;
    this.config = options.config;
    this.gateway = new Gateway({
      config: options.config.gateway,
      ...(options.token ? { token: options.token } : {}),
      roots: options.roots,
      metrics: this.metrics,
      ...(options.stages ? { stages: options.stages } : {}),
      ...(options.publicRoutes ? { publicRoutes: options.publicRoutes } : {}),
      ...(options.authedRoutes ? { authedRoutes: options.authedRoutes } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    this.supervisor = new Supervisor({
      config: options.config.supervisor,
      hooks: this.gateway,
      ...(options.logSink ? { logSink: options.logSink } : {}),
    });
    this.gateway.attach(this.supervisor);
  }

  /** Listens on loopback and starts every enabled server. Throws PORT_IN_USE and the like. */
  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const plane = new ControlPlane(options);
    await plane.gateway.listen();
    await plane.applyConfig(options.config, options.host);
    return plane;
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
    this.config = config;
    this.host = host;
    const { specs, problems } = resolveServerSpecs(config, host);
    this.problemsList = problems;
    for (const p of problems) this.options.log?.(`configuration: ${p.message}`);
    await this.supervisor.apply(specs, config.supervisor);
  }

  /** Client configuration in VS Code's mcp.json shape, for every supervised server. */
  clientConfiguration(): ClientConfiguration {
    const servers: ClientConfiguration['servers'] = {};
    for (const s of this.supervisor.list()) {
      servers[s.name] = { type: 'http', url: this.gateway.url(s.name), headers: { Authorization: `Bearer ${this.gateway.token}` } };
    }
    return { servers };
  }

  /** Stops every child (staged, within about 3 s) and the gateway. */
  async stop(): Promise<void> {
    await Promise.allSettled([this.supervisor.stopAll(), this.gateway.close()]);
    this.supervisor.dispose();
  }
}
