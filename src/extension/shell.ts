// The extension's entry point (dist/extension.js): a few KB that register, at activation, what VS
// Code needs from package.json's contributions (every command, the Servers tree, the MCP server
// definition provider, the status bar) as proxies, and load the extension itself
// (dist/extension-main.js: src/extension/extension.ts with src/core, zod and the MCP SDK) one
// macrotask after activate() returned. VS Code's own activation figure counts loading this file
// and the activate call: with the 3.8 MB bundle loaded up front it was 0.5 to 1.5 s.
//
// Imports `vscode` and the command and view ids (./commands: constants) at run time, nothing else.
import * as vscode from 'vscode';
import { COMMANDS, MCP_PROVIDER_ID, SERVERS_VIEW_ID } from './commands';
import type { ExtensionApi, MainApi } from './extension';

/** What a command of the main module is, as `vscode.commands.registerCommand` received it. */
interface CommandHandler {
  readonly callback: (...args: never[]) => unknown;
  readonly thisArg: unknown;
}

/**
 * Where the main module's `vscode.commands.registerCommand` puts the handlers of contributed
 * commands: the shell registered those ids with VS Code already (a second registration throws).
 */
export interface ContributedCommands {
  /** Whether `id` is a command of package.json, registered by the shell. */
  has(id: string): boolean;
  /** Makes `callback` the handler the shell's command `id` runs; throws when it has one already. */
  register(id: string, callback: (...args: never[]) => unknown, thisArg?: unknown): vscode.Disposable;
}

/** What the shell created at activation and hands to the main module. */
export interface ShellHandles {
  /** performance.now() when the shell's activate() was entered. */
  readonly startedAt: number;
  readonly output: vscode.LogOutputChannel;
  /** Shows "MCP starting…" until the main module renders its own state. */
  readonly statusBar: vscode.StatusBarItem;
  /** The Servers view, registered at activation with a proxy data provider. */
  readonly serversView: vscode.TreeView<unknown>;
  /** The data provider the Servers view delegates to from now on. */
  attachServersTree<T>(provider: vscode.TreeDataProvider<T>): void;
  /** The MCP server definition provider the shell's registered one delegates to from now on. */
  attachMcpProvider(provider: vscode.McpServerDefinitionProvider): void;
  readonly commands: ContributedCommands;
}

/** The main bundle's module (dist/extension-main.js). */
interface MainModule {
  activate(context: vscode.ExtensionContext, shell: ShellHandles): MainApi;
  deactivate(): Promise<void>;
}

/** The exported API: the main module's, reachable before it is loaded, and the shell's own figures. */
export type ShellApi = ExtensionApi & {
  /** Whether the main bundle was already loaded when activate() returned (it must not be). */
  mainLoadedAtReturn: boolean;
};

const MAIN_FILE = 'extension-main.js';

/** The Servers tree until the main module attaches its own, then a pass-through to it. */
class ServersTreeProxy implements vscode.TreeDataProvider<unknown>, vscode.Disposable {
  private static readonly STARTING = { kind: 'starting' } as const;
  private readonly changed = new vscode.EventEmitter<unknown>();
  readonly onDidChangeTreeData = this.changed.event;
  private target: vscode.TreeDataProvider<unknown> | undefined;
  private subscription: vscode.Disposable | undefined;

  /** Delegates from now on; the nodes VS Code gets are the target's own objects (commands check them by identity). */
  attach(target: vscode.TreeDataProvider<unknown>): void {
    this.target = target;
    this.subscription = target.onDidChangeTreeData?.((e) => this.changed.fire(e));
    this.changed.fire(undefined);
  }

  getTreeItem(node: unknown): vscode.TreeItem | Thenable<vscode.TreeItem> {
    if (node === ServersTreeProxy.STARTING || !this.target) {
      const item = new vscode.TreeItem('MCP Control Plane starting…');
      item.iconPath = new vscode.ThemeIcon('loading~spin');
      return item;
    }
    return this.target.getTreeItem(node);
  }

  getChildren(node?: unknown): vscode.ProviderResult<unknown[]> {
    if (!this.target) return node === undefined ? [ServersTreeProxy.STARTING] : [];
    return this.target.getChildren(node);
  }

  dispose(): void {
    this.subscription?.dispose();
    this.changed.dispose();
  }
}

let loaded: MainModule | undefined;
let deactivated = false;

export function activate(context: vscode.ExtensionContext): ShellApi {
  const startedAt = performance.now();
  const startedCpu = process.cpuUsage();
  deactivated = false;
  const output = vscode.window.createOutputChannel('MCP Control Plane', { log: true });

  // ---- Commands: every contributed one, as a proxy to the main module's handler ----------------
  const handlers = new Map<string, CommandHandler>();
  const contributed = new Set<string>(
    ((context.extension.packageJSON as { contributes?: { commands?: Array<{ command: string }> } }).contributes?.commands ?? []).map((c) => c.command),
  );
  const commands: ContributedCommands = {
    has: (id) => contributed.has(id),
    register: (id, callback, thisArg) => {
      if (handlers.has(id)) throw new Error(`command '${id}' already exists`);
      const handler: CommandHandler = { callback, thisArg };
      handlers.set(id, handler);
      return new vscode.Disposable(() => {
        if (handlers.get(id) === handler) handlers.delete(id);
      });
    },
  };

  // ---- The main module: loaded one macrotask after activate() returned, or by the first use ----
  let main: { module: MainModule; api: MainApi } | undefined;
  const serversChanged = new vscode.EventEmitter<void>();
  const tree = new ServersTreeProxy();
  let mcpProvider: vscode.McpServerDefinitionProvider | undefined;
  const definitionsChanged = new vscode.EventEmitter<void>();
  let mcpProviderSubscription: vscode.Disposable | undefined;
  const statusBar = vscode.window.createStatusBarItem('mcpControlPlane.status', vscode.StatusBarAlignment.Left, 50);
  statusBar.name = 'MCP Control Plane';
  statusBar.command = COMMANDS.viewFocus;
  statusBar.text = '$(loading~spin) MCP starting…';
  statusBar.tooltip = 'MCP Control Plane is starting its gateway and servers.';
  statusBar.show();
  const serversView = vscode.window.createTreeView<unknown>(SERVERS_VIEW_ID, { treeDataProvider: tree, showCollapseAll: true });
  const shell: ShellHandles = {
    startedAt,
    output,
    statusBar,
    serversView,
    // The proxy hands the provider only nodes it got from that provider.
    attachServersTree: (provider) => tree.attach(provider as vscode.TreeDataProvider<unknown>),
    attachMcpProvider: (provider) => {
      mcpProvider = provider;
      mcpProviderSubscription = provider.onDidChangeMcpServerDefinitions?.(() => definitionsChanged.fire());
      definitionsChanged.fire();
    },
    commands,
  };

  // Settles once the main module is loaded and activated; loading starts at most once.
  let settleMain!: { resolve: (m: { module: MainModule; api: MainApi }) => void; reject: (err: Error) => void };
  const mainLoaded = new Promise<{ module: MainModule; api: MainApi }>((resolve, reject) => (settleMain = { resolve, reject }));
  mainLoaded.catch(() => undefined); // awaited by every proxy; the failure is shown below
  let loadStarted = false;
  const load = (): Promise<{ module: MainModule; api: MainApi }> => {
    if (loadStarted) return mainLoaded;
    loadStarted = true;
    // A window closed before the load began starts nothing.
    if (deactivated) {
      settleMain.reject(new Error('MCP Control Plane was deactivated before it was loaded'));
      return mainLoaded;
    }
    const began = performance.now();
    try {
      // The second bundle, external to this one (esbuild.config.mjs): resolved next to dist/extension.js.
      const mod = require('./extension-main.js') as MainModule;
      loaded = mod;
      const api = mod.activate(context, shell);
      main = { module: mod, api };
      context.subscriptions.push(api.onDidChangeServers(() => serversChanged.fire()));
      output.info(`main module loaded and activated in ${Math.round(performance.now() - began)} ms`);
      settleMain.resolve(main);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      output.error(`the main module did not load: ${message}`);
      statusBar.text = '$(error) MCP not started';
      statusBar.tooltip = `MCP Control Plane did not start: ${message}`;
      statusBar.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      void vscode.window.showErrorMessage(`MCP Control Plane did not start: ${message}`, 'Show Log').then((c) => c && output.show());
      settleMain.reject(err instanceof Error ? err : new Error(message));
    }
    return mainLoaded;
  };

  for (const id of contributed) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        const { api } = await load();
        // Commands on the control plane's views (dashboard, policy test) exist once it started.
        if (!handlers.has(id)) await api.ready.catch(() => undefined);
        const handler = handlers.get(id);
        if (!handler) throw new Error(`command '${id}' not found`);
        return (handler.callback as (...a: unknown[]) => unknown).apply(handler.thisArg, args);
      }),
    );
  }

  // ---- MCP server definitions for VS Code's chat: the main module's provider, once attached ----
  const provider = async (): Promise<vscode.McpServerDefinitionProvider> => {
    await load();
    if (!mcpProvider) throw new Error('the MCP server definition provider was not attached');
    return mcpProvider;
  };
  context.subscriptions.push(
    vscode.lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, {
      onDidChangeMcpServerDefinitions: definitionsChanged.event,
      provideMcpServerDefinitions: async (token) => (await provider()).provideMcpServerDefinitions(token),
      resolveMcpServerDefinition: async (definition, token) => {
        const p = await provider();
        return p.resolveMcpServerDefinition ? p.resolveMcpServerDefinition(definition, token) : definition;
      },
    }),
    output,
    statusBar,
    serversView,
    tree,
    serversChanged,
    definitionsChanged,
    { dispose: () => mcpProviderSubscription?.dispose() },
  );

  // ---- The exported API: the main module's, with defaults until it is loaded --------------------
  const ready = mainLoaded.then((m) => m.api.ready);
  ready.catch(() => undefined); // awaited by tests and other extensions; the failure is shown above or by the main module
  const teamBeforeMain: ExtensionApi['team'] = {
    state: () => ({ target: { kind: 'starting', ignored: [] }, status: { kind: 'starting' }, credential: { kind: 'none' } }),
    refresh: async () => {
      await ready;
      await main?.api.team.refresh();
    },
    approvals: () => ({ section: null, pending: [], watching: false, watchStarts: 0 }),
  };
  const api: ShellApi = {
    activationMs: 0,
    activationCpuMs: 0,
    mainLoadedAtReturn: false,
    ready,
    readyMs: () => main?.api.readyMs(),
    gatewayUrl: () => main?.api.gatewayUrl(),
    servers: () => main?.api.servers() ?? [],
    treeSnapshot: () => main?.api.treeSnapshot() ?? [],
    serverSessions: (name) => main?.api.serverSessions(name) ?? 0,
    treeRefreshes: () => main?.api.treeRefreshes() ?? 0,
    onDidChangeServers: serversChanged.event,
    get team() {
      return main?.api.team ?? teamBeforeMain;
    },
  };
  // Everything else of the main module's API (test hooks, later additions), read through once loaded.
  const exposeRest = (): void => {
    if (!main) return;
    const from = main.api as unknown as Record<string, unknown>;
    for (const key of Object.keys(from)) {
      if (key in api) continue;
      Object.defineProperty(api, key, { get: () => from[key], enumerable: true, configurable: true });
    }
  };
  void mainLoaded.then(exposeRest, () => undefined);
  void ready.then(exposeRest, () => undefined); // `oversight` is set when the control plane is ready

  // One macrotask after activate() returned: VS Code has recorded its activation time by then.
  setImmediate(() => void load().catch(() => undefined));

  api.mainLoadedAtReturn = loaded !== undefined || Object.keys(require.cache).some((f) => f.endsWith(MAIN_FILE));
  api.activationMs = Math.round((performance.now() - startedAt) * 10) / 10;
  const cpu = process.cpuUsage(startedCpu);
  api.activationCpuMs = Math.round((cpu.user + cpu.system) / 100) / 10;
  output.info(`activated in ${api.activationMs} ms (${api.activationCpuMs} ms of CPU); the extension's main module loads now`);
  return api;
}

/** VS Code waits for this (about 5 s): the main module stops the control plane, a start under way included. */
export async function deactivate(): Promise<void> {
  deactivated = true;
  const mod = loaded;
  loaded = undefined;
  await mod?.deactivate();
}
