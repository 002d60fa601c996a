/**
 * The network server's services, built once per server: the inventory (re-read when the file
 * changes), the known-hosts store, the session pool and the fan-out limiter, reachability as last
 * seen, and the TextFSM templates (built-in, then an ntc-templates folder when configured).
 */
import { join } from 'node:path';
import { ControlPlaneError } from '../../core/errors';
import { invalidArgument, type Logger } from '../kit';
import { NetworkErrorCode, SshConnection, type SshCredentials, type SshTarget } from './client';
import { checkCommand, type CheckedCommand } from './command-policy';
import { InventoryFileWatcher, resolveSecret, type Device, type Inventory } from './inventory';
import { KnownHosts } from './known-hosts';
import { platform as platformOf, type PlatformDefinition } from './platforms';
import { Limiter, SessionPool } from './pool';
import { ExecSession, ShellSession, type CommandResult, type Session } from './session';
import { BuiltinTemplates } from './textfsm/builtin';
import { NtcTemplates } from './textfsm/ntc-index';
import type { CompiledTemplate } from './textfsm/template';

export interface NetworkOptions {
  readonly inventoryFile: string;
  readonly knownHostsFile: string;
  /** Trusted folder of configuration templates (nunjucks); undefined: templates disabled. */
  readonly templatesDir: string | undefined;
  /** An ntc-templates folder (with its `index`), for parsing more commands. */
  readonly ntcTemplatesDir: string | undefined;
  /** Devices worked on at once, across all calls. */
  readonly fanOut: number;
  readonly idleMs: number;
  readonly keepaliveMs: number;
  readonly connectTimeoutMs: number;
  /** Minutes of `commit confirmed` / the IOS revert timer. */
  readonly confirmMinutes: number;
  /** Largest output read from a device for one command. */
  readonly maxOutputBytes: number;
  /** Where secrets come from (`MCPCP_SECRET_*`) and SSH_AUTH_SOCK. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Reads the options from the server's environment (see docs/network.md for the list). */
export function networkOptionsFromEnv(env: Readonly<Record<string, string | undefined>>, cwd: string): NetworkOptions {
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
  };
  const home = env['HOME'] ?? cwd;
  return {
    inventoryFile: env['MCPCP_NETWORK_INVENTORY'] ?? join(cwd, '.mcpcp', 'inventory.yaml'),
    knownHostsFile: env['MCPCP_KNOWN_HOSTS'] ?? join(home, '.mcpcp', 'known_hosts'),
    templatesDir: env['MCPCP_WORKSPACE_TRUSTED'] === '0' ? undefined : (env['MCPCP_TEMPLATES_DIR'] ?? join(cwd, '.mcpcp', 'templates')),
    ntcTemplatesDir: env['MCPCP_NTC_TEMPLATES_DIR'] === '' ? undefined : env['MCPCP_NTC_TEMPLATES_DIR'],
    fanOut: num('MCPCP_NETWORK_FANOUT', 16, 1, 256),
    idleMs: num('MCPCP_NETWORK_IDLE_SECONDS', 300, 1, 86_400) * 1000,
    keepaliveMs: num('MCPCP_NETWORK_KEEPALIVE_SECONDS', 30, 0, 3600) * 1000,
    connectTimeoutMs: num('MCPCP_NETWORK_CONNECT_TIMEOUT_SECONDS', 15, 1, 300) * 1000,
    confirmMinutes: num('MCPCP_NETWORK_CONFIRM_MINUTES', 5, 1, 60),
    maxOutputBytes: num('MCPCP_NETWORK_MAX_OUTPUT_BYTES', 2_000_000, 10_000, 50_000_000),
    env,
  };
}

export interface Reachability {
  readonly state: 'reachable' | 'unreachable';
  readonly at: Date;
  readonly error?: string;
}

/** A device and its platform, resolved from the inventory. */
export interface Target {
  readonly device: Device;
  readonly platform: PlatformDefinition;
}

export interface Selection {
  readonly devices?: readonly string[] | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly tags?: readonly string[] | undefined;
}

export class NetworkService {
  readonly options: NetworkOptions;
  readonly limiter: Limiter;
  readonly templates = new BuiltinTemplates();
  private readonly watcher: InventoryFileWatcher;
  private readonly knownHosts: KnownHosts;
  private readonly pool: SessionPool;
  private readonly reach = new Map<string, Reachability>();
  private ntc: Promise<NtcTemplates> | undefined;

  constructor(
    options: NetworkOptions,
    private readonly log: Logger,
  ) {
    this.options = options;
    this.limiter = new Limiter(options.fanOut);
    this.watcher = new InventoryFileWatcher(options.inventoryFile);
    this.knownHosts = new KnownHosts(options.knownHostsFile);
    this.pool = new SessionPool({ idleMs: options.idleMs, log, open: (name, signal) => this.openSession(name, signal) });
  }

  inventory(): Promise<Inventory> {
    return this.watcher.current();
  }

  reachability(name: string): Reachability | undefined {
    return this.reach.get(name);
  }

  async target(name: string, field = 'device'): Promise<Target> {
    const inv = await this.inventory();
    const device = inv.devices.find((d) => d.name === name);
    if (device === undefined) {
      const names = inv.devices.map((d) => d.name);
      throw new ControlPlaneError(NetworkErrorCode.unknownDevice, `Invalid "${field}": no device "${name}" in the inventory`, {
        details: { field, hint: `Known devices: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''} (devices_list shows them all).` },
      });
    }
    return { device, platform: platformOf(device.platform) };
  }

  /** Devices named, in the groups or with the tags given (union), in inventory order. */
  async select(sel: Selection): Promise<Target[]> {
    const inv = await this.inventory();
    for (const g of sel.groups ?? []) if (!inv.groups.includes(g)) throw invalidArgument('groups', `no group "${g}"`, `Groups: ${inv.groups.join(', ') || '(none)'}.`);
    for (const n of sel.devices ?? []) if (!inv.devices.some((d) => d.name === n)) throw invalidArgument('devices', `no device "${n}"`, 'devices_list shows the inventory.');
    const picked = inv.devices.filter(
      (d) => (sel.devices ?? []).includes(d.name) || d.groups.some((g) => (sel.groups ?? []).includes(g)) || d.tags.some((t) => (sel.tags ?? []).includes(t)),
    );
    return picked.map((device) => ({ device, platform: platformOf(device.platform) }));
  }

  /** Runs `fn` with the device's pooled session, within the fan-out limit. */
  async withSession<T>(name: string, fn: (session: Session, target: Target) => Promise<T>, opts: { retryOnDrop: boolean; signal?: AbortSignal | undefined }): Promise<T> {
    const target = await this.target(name);
    return this.limiter.run(() => this.pool.use(name, (s) => fn(s, target), opts), opts.signal);
  }

  /** A checked read-only command on a device (pooled session, retried once on a drop). */
  async readCommand(name: string, checked: CheckedCommand | string, opts: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined }): Promise<CommandResult> {
    return this.withSession(
      name,
      async (session, target) => {
        const text = typeof checked === 'string' ? checked : checked.text;
        if (session instanceof ShellSession) await session.toLevel('privileged', opts.signal);
        return session.run(text, { timeoutMs: opts.timeoutMs ?? target.device.timeoutSeconds * 1000, maxBytes: this.options.maxOutputBytes, signal: opts.signal });
      },
      { retryOnDrop: true, signal: opts.signal },
    );
  }

  check(target: Target, command: string): CheckedCommand {
    return checkCommand(target.platform, command);
  }

  /** A TextFSM template for a resolved command: the ntc-templates folder first when set, then ours. */
  async template(target: Target, command: string): Promise<CompiledTemplate | undefined> {
    if (this.options.ntcTemplatesDir !== undefined) {
      this.ntc ??= NtcTemplates.load(this.options.ntcTemplatesDir);
      const t = await (await this.ntc).find(target.platform.templatePlatforms, command);
      if (t !== undefined) return t;
    }
    return this.templates.find(target.platform.templatePlatforms, command);
  }

  private credentials(inv: Inventory, credentialName: string, device: string): { ssh: SshCredentials; enable: string | undefined } {
    const c = inv.credentials[credentialName];
    if (c === undefined) throw new ControlPlaneError(NetworkErrorCode.inventory, `${device}: unknown credential "${credentialName}"`);
    const env = this.options.env;
    const agentSocket = env['SSH_AUTH_SOCK'];
    return {
      ssh: {
        username: resolveSecret(c.username, env, device, 'username'),
        password: c.password === undefined ? undefined : resolveSecret(c.password, env, device, 'password'),
        privateKey: c.privateKey === undefined ? undefined : resolveSecret(c.privateKey, env, device, 'privateKey'),
        passphrase: c.passphrase === undefined ? undefined : resolveSecret(c.passphrase, env, device, 'passphrase'),
        agent: c.agent === true ? agentSocket : undefined,
      },
      enable: c.enable === undefined ? undefined : resolveSecret(c.enable, env, device, 'enable'),
    };
  }

  private sshTarget(inv: Inventory, name: string, host: string, port: number, credential: string, legacy: boolean, jump: string | undefined): SshTarget {
    let jumpTarget: SshTarget | undefined;
    if (jump !== undefined) {
      const j = inv.jumpHosts[jump];
      if (j === undefined) throw new ControlPlaneError(NetworkErrorCode.inventory, `${name}: unknown jump host "${jump}"`);
      jumpTarget = this.sshTarget(inv, `jump host ${jump}`, j.host, j.port ?? 22, j.credential, false, undefined);
    }
    return {
      name,
      host,
      port,
      credentials: this.credentials(inv, credential, name).ssh,
      legacyAlgorithms: legacy,
      verifyHostKey: async (type, key) => {
        const result = await this.knownHosts.verify(name, host, port, type, key);
        if (result === 'added') this.log.info(`${name}: host key ${type} recorded in ${this.knownHosts.file} (first use)`);
      },
      jump: jumpTarget,
      connectTimeoutMs: this.options.connectTimeoutMs,
      keepaliveIntervalMs: this.options.keepaliveMs,
    };
  }

  /** A new, unpooled session (the pool uses it; so does the post-check after a change). */
  async openSession(name: string, signal?: AbortSignal): Promise<Session> {
    const inv = await this.inventory();
    const { device, platform } = await this.target(name);
    try {
      const creds = this.credentials(inv, device.credential, name);
      const conn = await SshConnection.open(this.sshTarget(inv, name, device.host, device.port, device.credential, device.legacyAlgorithms, device.jumpHost), signal);
      let session: Session;
      if (platform.transport === 'exec') session = new ExecSession(name, platform, conn);
      else {
        session = await ShellSession.open(
          conn,
          { device: name, platform, enableSecret: creds.enable, loginTimeoutMs: Math.max(this.options.connectTimeoutMs, device.timeoutSeconds * 1000), log: this.log },
          signal,
        );
      }
      this.reach.set(name, { state: 'reachable', at: new Date() });
      return session;
    } catch (err) {
      if (!(err instanceof ControlPlaneError && err.code === NetworkErrorCode.cancelled)) {
        this.reach.set(name, { state: 'unreachable', at: new Date(), error: err instanceof Error ? err.message : String(err) });
      }
      throw err;
    }
  }

  close(): void {
    this.pool.close();
  }
}
