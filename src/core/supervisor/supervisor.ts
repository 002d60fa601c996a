import { Emitter, type Event } from '../events';
import { ControlPlaneError } from '../errors';
import type { SupervisorConfig } from '../config/schema';
import { ManagedServer, type ServerSpec, type SpawnOwner, type UpstreamConnection, type UpstreamHooks } from './managed-server';
import type { LogSink } from './server-log';
import type { StopTiming } from './child-process';
import type { ServerStatus } from './state';

export interface SupervisorOptions {
  config: SupervisorConfig;
  hooks: UpstreamHooks;
  logSink?: LogSink;
  /** Applied to every log line and error before anyone sees it (secrets). */
  redact?: (text: string) => string;
  stopTiming?: StopTiming;
  random?: () => number;
  /** Marks and records every child (see `SpawnOwner`); without it children carry no instance marker. */
  owner?: SpawnOwner;
}

/**
 * The set of supervised servers. Typed events feed the tree, the status bar, the dashboard and the
 * CLI. Nothing here throws into the host: failures are states.
 */
export class Supervisor {
  private readonly servers = new Map<string, ManagedServer>();
  private readonly statusChanged = new Emitter<ServerStatus>();
  private readonly toolsChanged = new Emitter<UpstreamConnection>();
  private readonly connected = new Emitter<UpstreamConnection>();
  private readonly setChanged = new Emitter<void>();
  private config: SupervisorConfig;

  /** A server changed state. */
  readonly onDidChangeStatus: Event<ServerStatus> = this.statusChanged.event;
  /** A server's tool list changed (the gateway sends list_changed; VS Code bumps the version). */
  readonly onDidChangeTools: Event<UpstreamConnection> = this.toolsChanged.event;
  /** A server completed a handshake. */
  readonly onDidConnect: Event<UpstreamConnection> = this.connected.event;
  /** Servers were added or removed. */
  readonly onDidChangeServers: Event<void> = this.setChanged.event;

  constructor(private readonly options: SupervisorOptions) {
    this.config = options.config;
  }

  get(name: string): ManagedServer | undefined {
    return this.servers.get(name);
  }

  list(): ManagedServer[] {
    return [...this.servers.values()];
  }

  statuses(): ServerStatus[] {
    return this.list().map((s) => s.status);
  }

  /**
   * Makes the supervised set equal to `specs`: servers no longer listed are stopped and removed,
   * new ones are added and started, and (with `restartChanged`) those whose spec object changed
   * are restarted. Resolves when removed servers have stopped.
   */
  async apply(specs: ServerSpec[], config: SupervisorConfig = this.config): Promise<void> {
    this.config = config;
    const wanted = new Map(specs.map((s) => [s.name, s]));
    const removals: Promise<void>[] = [];
    for (const [name, server] of this.servers) {
      const next = wanted.get(name);
      if (!next || !sameSpec(server.spec, next) || server.spec.blockedReason !== next.blockedReason) {
        this.servers.delete(name);
        removals.push(server.stop('configuration changed').finally(() => server.dispose()));
      }
    }
    await Promise.all(removals);
    let added = removals.length > 0;
    for (const spec of specs) {
      if (this.servers.has(spec.name)) continue;
      const server = new ManagedServer(spec, {
        config: this.config,
        hooks: this.options.hooks,
        ...(this.options.logSink ? { logSink: this.options.logSink } : {}),
        ...(this.options.redact ? { redact: this.options.redact } : {}),
        ...(this.options.stopTiming ? { stopTiming: this.options.stopTiming } : {}),
        ...(this.options.random ? { random: this.options.random } : {}),
        ...(this.options.owner ? { owner: this.options.owner } : {}),
      });
      server.onDidChangeStatus((s) => this.statusChanged.fire(s));
      server.onDidChangeTools((c) => this.toolsChanged.fire(c));
      server.onDidConnect((c) => this.connected.fire(c));
      this.servers.set(spec.name, server);
      added = true;
      server.start();
    }
    if (added) this.setChanged.fire();
  }

  start(name: string): void {
    this.require(name).start();
  }

  async stop(name: string): Promise<void> {
    await this.require(name).stop();
  }

  async restart(name: string): Promise<void> {
    await this.require(name).restart();
  }

  /** Stops every server in parallel; resolves when all children have exited. */
  async stopAll(reason = 'control plane stopping'): Promise<void> {
    await Promise.all(this.list().map((s) => s.stop(reason)));
  }

  dispose(): void {
    for (const s of this.servers.values()) s.dispose();
    this.servers.clear();
    this.statusChanged.dispose();
    this.toolsChanged.dispose();
    this.connected.dispose();
    this.setChanged.dispose();
  }

  private require(name: string): ManagedServer {
    const server = this.servers.get(name);
    if (!server) throw new ControlPlaneError('UNKNOWN_SERVER', `no server named "${name}"; known: ${[...this.servers.keys()].join(', ') || 'none'}`);
    return server;
  }
}

/** Specs carry a fingerprint of what they run; equal fingerprints need no restart. */
function sameSpec(a: ServerSpec, b: ServerSpec): boolean {
  return a === b || (a.fingerprint !== undefined && a.fingerprint === b.fingerprint);
}
