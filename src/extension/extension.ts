// The extension's composition root: maps VS Code things (settings, SecretStorage, output
// channels, workspace folders and trust) onto the engine in src/core and renders its events.
// Bundled as dist/extension-main.js and loaded by the shell (src/extension/shell.ts, the entry point
// VS Code activates) one macrotask after activation: the shell registered the Servers view, the
// status bar, the MCP definition provider and every contributed command, and hands them over here.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { defaultConfig } from '../core/config/load';
import type { Config } from '../core/config/schema';
import type { HostEnvironment } from '../core/config/server-specs';
import { ControlPlane } from '../core/control-plane';
import { fileAuditKeyStorage, loadOrCreateAuditKeyring, rotateStoredAuditKeyring, secretStoreAuditKeyStorage, serializeAuditKeyring, verifyAudit } from '../core/audit';
import { VSCODE_TOOL_LIMIT } from '../core/oversight/oversight';
import { errorMessage } from '../core/errors';
import type { ServerStatus } from '../core/supervisor/state';
import { APPROVALS_VIEW_ID, COMMANDS, VIEW_CONTAINER_ID } from './commands';
import { registerOversightViews, type OversightTestHooks } from './webviews';
import { registerAdoptCommands } from './adopt';
import { registerConsentCommands } from './consent';
import { backupRoot, ShellPath } from '../core/adopt';
import { VsCodeSecretStore } from './secret-storage';
import { ServersTreeProvider, type TreeNode } from './servers-tree';
import { readSettings } from './settings';
import { registerAddServer } from './add-server';
import { VsCodePrompts, readUserRules, registerToolRuleCommands, type ShownPrompt } from './tool-rules';
import { isDestructiveTool, missingSecret, plural } from './wording';
import { findBuiltin } from '../core/builtin-servers';
import { ServersWithTeamTree, TeamClient } from './team';
import { TeamApprovals } from './team/approvals-view';
import { routeContributedCommands } from './main-vscode';
import type { ShellHandles } from './shell';

/** How often the visible Servers tree re-renders while a server runs (uptime, connections). */
const TREE_TICK_MS = 5_000;

/** What the extension exports: read-only views for tests and other extensions. */
export interface ExtensionApi {
  /** Milliseconds the shell's activate() took: views, status bar and commands registered; the main module loads and the control plane starts after it returns. */
  activationMs: number;
  /** CPU milliseconds (user + system) the extension host spent in the shell's activate(): the wall clock also counts other processes' turns on a busy machine. */
  activationCpuMs: number;
  /** Settles when the control plane has started (gateway listening, servers spawning) and its views are registered. */
  ready: Promise<void>;
  /** Milliseconds from activate() until the control plane was ready (undefined before). */
  readyMs(): number | undefined;
  gatewayUrl(): string | undefined;
  servers(): Array<{ name: string; state: string; toolCount: number; pid?: number; lastError?: string }>;
  treeSnapshot(): Array<{ label: string; description?: string; children: string[]; childDescriptions: Record<string, string> }>;
  /** Client sessions the gateway holds on a server's endpoint (VS Code's among them). */
  serverSessions(name: string): number;
  /** How many times the Servers tree re-rendered (it ticks every 5 s while visible and a server runs). */
  treeRefreshes(): number;
  onDidChangeServers: vscode.Event<void>;
  /** Only when the extension runs its tests (ExtensionMode.Test): the approvals UI's own code paths. */
  oversight?: OversightTestHooks;
  /** Only in ExtensionMode.Test: store a secret without the input boxes of "Set Secret". */
  setSecretForTest?: (name: string, value: string) => Promise<void>;
  /**
   * Only in ExtensionMode.Test, whose workbench refuses modal dialogs: answers for the next dialogs
   * of the per-tool commands and Add Server (a button, an item's label, a text; undefined cancels),
   * and every such dialog as shown (the modal's detail included).
   */
  promptsForTest?: { answer(...answers: Array<string | undefined>): void; shown(): ShownPrompt[]; clear(): number };
  /** Only in ExtensionMode.Test: the Servers tree's own node of a tool, as VS Code hands it to a context-menu command. */
  toolNodeForTest?: (server: string, tool: string) => Promise<unknown>;
  /** Only in ExtensionMode.Test: consent to every waiting workspace proposal without the modal; returns their names. */
  grantProposalsForTest?: () => Promise<string[]>;
  /** The team control plane (mcpControlPlane.team.url) as this window sees it. */
  team: {
    state(): { target: { kind: string; origin?: string; host?: string; ignored: string[] }; status: { kind: string }; credential: { kind: string; account?: string; principal?: string; expiresAt?: number } };
    /** Reads the service's status now. */
    refresh(): Promise<void>;
    /** Only in ExtensionMode.Test: store the API key without the masked input box of "Team: Set API Key…". */
    setApiKeyForTest?: (key: string) => Promise<void>;
    /** The team's approvals as the Approvals view's "Team · <host>" section has them, and whether the service is followed. */
    approvals(): ReturnType<TeamApprovals['snapshot']>;
    /** Only in ExtensionMode.Test: the OIDC choice of "Team: Sign In…" with `openBrowser` acting as the person's browser (instead of openExternal). */
    signInForTest?: (openBrowser: (url: string) => Promise<unknown>) => Promise<boolean>;
    /** Only in ExtensionMode.Test: "Team: Sign In as Approver…" with `openBrowser` acting as the person's browser. */
    signInApproverForTest?: (openBrowser: (url: string) => Promise<unknown>) => Promise<{ signedIn: boolean; name?: string; message?: string }>;
  };
}

/** The main module's part of the API (the shell adds the activation figures). */
export type MainApi = Omit<ExtensionApi, 'activationMs' | 'activationCpuMs'>;

let running: { plane: ControlPlane; disposables: vscode.Disposable[] } | undefined;
/** The start under way, so that a window closing before it finished still stops what it started. */
let starting: Promise<unknown> | undefined;

/**
 * Attaches the tree and the MCP definition provider to the shell's, registers the command handlers
 * and returns at once. The control plane starts a macrotask later; everything that needs it waits
 * on `ready`.
 */
export function activate(context: vscode.ExtensionContext, shell: ShellHandles): MainApi {
  // Before any module registers a command: the shell holds every contributed id.
  routeContributedCommands(shell.commands);
  const started = shell.startedAt;
  const output = shell.output;
  const serverLogs = new Map<string, vscode.LogOutputChannel>();
  const logFor = (server: string): vscode.LogOutputChannel => {
    let channel = serverLogs.get(server);
    if (!channel) {
      channel = vscode.window.createOutputChannel(`MCP Server: ${server}`, { log: true });
      serverLogs.set(server, channel);
      context.subscriptions.push(channel);
    }
    return channel;
  };
  const secrets = new VsCodeSecretStore(context.secrets, context.globalState);
  // The audit key ring, in SecretStorage under its own key: outside the `secret:` names, so no
  // configuration can hand it to a server as `${secret:…}` and the secrets list never shows it.
  const auditKeys = secretStoreAuditKeyStorage({ get: async (n) => context.secrets.get(n), set: async (n, v) => context.secrets.store(n, v) }, 'mcpControlPlane.auditKeys');
  const serversChanged = new vscode.EventEmitter<void>();
  const definitionsChanged = new vscode.EventEmitter<void>();
  const disposables: vscode.Disposable[] = [output, serversChanged, definitionsChanged];

  // VS Code started from a desktop launcher has a minimal PATH: npx/uvx come from the login
  // shell's PATH, read once in the background (activation does not wait for it).
  const shellPath = new ShellPath();
  let loginPath: string | undefined;
  const host = (): HostEnvironment => ({
    serversDir: join(context.extensionPath, 'dist', 'servers'),
    nodePath: process.execPath,
    runAsNode: Boolean(process.versions['electron']),
    env: loginPath ? { ...process.env, PATH: loginPath } : process.env,
    secrets,
    workspaceTrusted: vscode.workspace.isTrusted,
    workspaceDefined: currentWorkspaceDefined,
    defaultCwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? context.globalStorageUri.fsPath,
    rootPaths: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    stateDir: context.globalStorageUri.fsPath,
    // Workspace and folder values of mcpControlPlane.servers are proposals: a modal consents.
    proposalSource: settingsSource(),
    consentHint: () => 'run "MCP Control Plane: Review Workspace Proposals…"',
    trustedInventory: currentTrustedInventory,
  });
  let currentWorkspaceDefined = new Set<string>();
  let currentTrustedInventory: string | undefined;
  const settings = (): Config => {
    const read = readSettings();
    if ('error' in read) {
      output.error(read.error);
      void vscode.window.showErrorMessage(`MCP Control Plane: ${read.error}. The last valid settings stay in force.`);
      return running?.plane.currentConfig ?? defaultConfig();
    }
    currentWorkspaceDefined = read.workspaceDefined;
    currentTrustedInventory = read.config.network.trustedInventory;
    showDeprecations(read.warnings);
    return read.config;
  };
  // Deprecated settings (`…Ms` durations) still work: say once per set which key replaces them.
  let shownDeprecations = '';
  const showDeprecations = (warnings: string[]): void => {
    const key = warnings.join('\n');
    if (key === shownDeprecations) return;
    shownDeprecations = key;
    for (const w of warnings) output.warn(w);
    if (warnings.length === 0) return;
    void vscode.window
      .showWarningMessage(`MCP Control Plane: ${warnings.length === 1 ? warnings[0] : `${warnings.length} deprecated settings are in use (durations are now written "30s", "5m"): ${warnings.join('; ')}`}.`, 'Open Settings')
      .then((choice) => choice && vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${context.extension.id}`));
  };
  const roots = (): Array<{ uri: string; name: string }> =>
    (vscode.workspace.workspaceFolders ?? []).map((f) => ({ uri: f.uri.toString(), name: f.name }));

  // The control plane: started after activate() returned (startPlane, at the end), awaited through `ready`.
  let plane!: ControlPlane;
  let readyMs: number | undefined;
  let markReady!: (p: ControlPlane) => void;
  let markFailed!: (err: unknown) => void;
  const ready = new Promise<ControlPlane>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  // A command or view that runs before the start finished waits for it; a failed start says why.
  ready.catch(() => undefined);
  starting = ready;
  const startPlane = async (): Promise<ControlPlane> => {
    const p = await ControlPlane.start({
      config: settings(),
      host: host(),
      roots,
      stateDir: context.globalStorageUri.fsPath,
      instancePrefix: 'vscode',
      auditKeys,
      policyLayer: 'user',
      // The child's stderr as it wrote it; the supervisor's own notes marked as such.
      logSink: (line) => logFor(line.server).info(line.source === 'supervisor' ? `[control plane] ${line.text}` : line.text),
      log: (message) => output.info(message),
    });
    plane = p;
    running = { plane: p, disposables };
    // A full disk is a state the human should see: calls are refused until the log can be written.
    disposables.push(
      p.oversight.onDidChangeAuditHealth((health) => {
        if (health.state === 'failing') {
          void vscode.window.showWarningMessage(`MCP Control Plane: the audit log cannot be written (${health.lastError}). Tool calls are refused until it can; they resume by themselves once there is space again.`);
        } else if (health.resumed) {
          void vscode.window.showInformationMessage(`MCP Control Plane: the audit log is writable again; ${plural(health.resumed.refusedCount, 'call was', 'calls were')} refused meanwhile (recorded in the log).`);
        }
      }),
    );
    output.info(`gateway on 127.0.0.1:${p.port}`);
    wirePlane(p);
    return p;
  };

  // ---- MCP server definitions for VS Code's chat ---------------------------------------------
  // The team control plane's servers (user setting mcpControlPlane.team.url), with the user's API key.
  let teamTree: ServersWithTeamTree<TreeNode> | undefined;
  const team = new TeamClient(context.secrets, {
    log: (m) => output.info(m),
    definitionsChanged: () => definitionsChanged.fire(),
    treeChanged: () => teamTree?.refreshTeam(),
  });
  // The team's pending approvals, for a person signed in as themselves (never with the API key).
  const teamApprovals = new TeamApprovals(context.secrets, () => (team.state().target.kind === 'team' ? (team.state().target as { origin: string }).origin : undefined), (m) => output.info(m));
  disposables.push(team, teamApprovals);
  const definitionFor = (name: string): vscode.McpHttpServerDefinition => {
    const conn = plane.supervisor.get(name)?.lastConnection;
    const version = conn ? createHash('sha256').update(`${conn.serverInfo.version}:${conn.toolsDigest}`).digest('hex').slice(0, 12) : undefined;
    return new vscode.McpHttpServerDefinition(name, vscode.Uri.parse(plane.gateway.url(name)), {}, version);
  };
  shell.attachMcpProvider({
    onDidChangeMcpServerDefinitions: definitionsChanged.event,
    provideMcpServerDefinitions: async () => {
      await ready;
      return [...plane.supervisor.list().map((s) => definitionFor(s.name)), ...team.definitions()];
    },
    resolveMcpServerDefinition: async (definition) => {
      // A team server gets the team's API key and never this window's gateway token.
      if (team.owns(definition)) return team.resolve(definition);
      await ready;
      // The token goes in only here, when VS Code is about to connect; it is never persisted in a definition.
      if (definition instanceof vscode.McpHttpServerDefinition) {
        definition.headers = { ...definition.headers, Authorization: `Bearer ${plane.gateway.token}` };
      }
      return definition;
    },
  });

  // ---- Tree, status bar ------------------------------------------------------------------------
  const tree = new ServersTreeProvider(() => running?.plane, {
    trusted: () => vscode.workspace.isTrusted,
    userRules: () => {
      try {
        return readUserRules();
      } catch {
        return [];
      }
    },
  });
  const serversTree = new ServersWithTeamTree(tree, team);
  teamTree = serversTree;
  const view = shell.serversView;
  shell.attachServersTree(serversTree);
  void team.reload().then(() => teamApprovals.refresh());
  disposables.push(vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('mcpControlPlane.team.url') && void team.reload().then(() => teamApprovals.refresh())));
  const statusBar = shell.statusBar;
  let toolBudgetWarned = false;
  const renderStatusBar = (): void => {
    if (!running) {
      statusBar.text = '$(loading~spin) MCP starting…';
      statusBar.tooltip = 'MCP Control Plane is starting its gateway and servers.';
      statusBar.show();
      return;
    }
    const all = plane.supervisor.statuses();
    const restricted = all.filter((s) => tree.row(s.name)?.flags.includes('restricted'));
    const healthy = all.filter((s) => s.state.kind === 'running').length;
    const bad = all.filter((s) => s.state.kind === 'failed' || s.state.kind === 'crash-looping' || s.state.kind === 'unhealthy');
    // VS Code sends at most 128 tools per chat request: warn before the servers offer more.
    const tools = all.reduce((n, s) => n + s.toolCount, 0);
    const overBudget = tools > VSCODE_TOOL_LIMIT;
    const nearBudget = tools > VSCODE_TOOL_LIMIT * 0.8;
    statusBar.text = `$(${bad.length > 0 || overBudget ? 'warning' : restricted.length > 0 ? 'shield' : 'server'}) MCP ${healthy}/${all.length} · ${plural(tools, 'tool')}${restricted.length > 0 ? ' · Restricted Mode' : ''}`;
    statusBar.tooltip = [
      ...all.map((s) => `${s.name}: ${tree.row(s.name)?.description ?? s.state.kind}, ${plural(s.toolCount, 'tool')}`),
      ...(restricted.length > 0
        ? [`Restricted Mode: this workspace is not trusted, so ${restricted.map((s) => s.name).join(', ')} ${restricted.length === 1 ? 'is' : 'are'} blocked (workspace servers do not start; git refuses every call). Trust the workspace from the Servers view.`]
        : []),
      `${tools} of the ${plural(VSCODE_TOOL_LIMIT, 'tool')} VS Code sends per request${overBudget ? ' — over the limit: disable servers or filter tools' : nearBudget ? ' — close to the limit' : ''}`,
    ].join('\n');
    statusBar.backgroundColor = bad.length > 0 || overBudget ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    statusBar.show();
    if (nearBudget && !toolBudgetWarned) {
      toolBudgetWarned = true;
      void vscode.window.showWarningMessage(
        `MCP Control Plane: the enabled servers offer ${plural(tools, 'tool')}; VS Code sends at most ${VSCODE_TOOL_LIMIT} per request. Disable servers or set a tool filter (mcpControlPlane.servers.<name>.tools).`,
      );
    }
    if (!nearBudget) toolBudgetWarned = false;
  };
  renderStatusBar();
  disposables.push(tree, serversTree, view, statusBar);

  // Uptime and "VS Code not connected yet" change without a supervisor event: re-render while the
  // tree is visible and a server runs (VS Code asks again only for what it shows).
  const ticker = setInterval(() => {
    if (!view.visible || !running) return;
    if (!plane.supervisor.statuses().some((s) => s.state.kind === 'running' || s.state.kind === 'unhealthy' || s.state.kind === 'restarting')) return;
    tree.refresh();
  }, TREE_TICK_MS);
  disposables.push({ dispose: () => clearInterval(ticker) }, view.onDidChangeVisibility((e) => e.visible && tree.refresh()));

  // What the workspace proposes waits for a modal consent: say so once per new set of proposals.
  let announced = '';
  const announceProposals = (): void => {
    const ids = plane.waiting.map((p) => p.id).sort().join(',');
    if (ids !== '' && ids !== announced) {
      const n = plane.waiting.length;
      void vscode.window
        .showInformationMessage(`MCP Control Plane: the workspace proposes ${n} server${n === 1 ? '' : 's'} or device${n === 1 ? '' : 's'}; none runs or gets a secret until you review it.`, 'Review…')
        .then((choice) => choice && vscode.commands.executeCommand(COMMANDS.consentReview));
    }
    announced = ids;
  };

  // ---- Per-tool controls, Add Server ----------------------------------------------------------------
  const prompts = new VsCodePrompts(context.extensionMode === vscode.ExtensionMode.Test);
  const toolRules = registerToolRuleCommands({ plane: () => running?.plane, tree, prompts, log: (m) => output.info(m) });
  disposables.push(toolRules.disposable);

  // ---- Once the control plane runs: its events, the approvals view and dashboard --------------
  let oversightViews: ReturnType<typeof registerOversightViews> | undefined;
  /** Everything that subscribes to the started control plane; runs once, right after it started. */
  const wirePlane = (p: ControlPlane): void => {
    announceProposals();
    disposables.push({ dispose: p.policy.onDidChange(() => tree.refresh()).dispose });
    // ---- Approvals view, dashboard, notifications ---------------------------------------------------
    oversightViews = registerOversightViews(context, p.oversight, {
      approvalsViewId: APPROVALS_VIEW_ID,
      dashboardCommand: COMMANDS.dashboardOpen,
      testPolicyCommand: COMMANDS.policyTest,
      badgeFallback: view,
      // Unknown tools (a server gone, tools not listed yet) count as destructive: Review only.
      isDestructive: (server, tool) => isDestructiveTool(plane.supervisor.get(server)?.lastConnection?.tools.find((t) => t.name === tool)?.annotations ?? undefined),
      log: (m) => output.info(m),
      cardActions: { canAlwaysAllow: (a) => toolRules.canAlwaysAllow(a), allowTool: (id) => toolRules.allowFromApproval(id) },
      team: teamApprovals,
    });

    const lastStates = new Map<string, string>();
    disposables.push(
      { dispose: plane.supervisor.onDidChangeStatus((s) => {
        tree.refresh();
        announceProposals();
        renderStatusBar();
        serversChanged.fire();
        const previous = lastStates.get(s.name);
        lastStates.set(s.name, s.state.kind);
        if (previous !== s.state.kind && (s.state.kind === 'crash-looping' || s.state.kind === 'failed')) notifyFailure(s);
      }).dispose },
      { dispose: plane.supervisor.onDidConnect(() => definitionsChanged.fire()).dispose },
      { dispose: plane.supervisor.onDidChangeTools(() => definitionsChanged.fire()).dispose },
      { dispose: plane.supervisor.onDidChangeServers(() => {
        tree.refresh();
        renderStatusBar();
        serversChanged.fire();
        definitionsChanged.fire();
      }).dispose },
    );
    for (const d of disposables) if (!context.subscriptions.includes(d)) context.subscriptions.push(d);
    tree.refresh();
    renderStatusBar();
    serversChanged.fire();
    definitionsChanged.fire();
  };

  const notifyFailure = (s: ServerStatus): void => {
    // A missing secret has its own next step: set it (a password box for that very name), then the
    // server is started again.
    const missing = missingSecret(s.lastError);
    const buttons = missing !== undefined ? ['Set Secret…', 'Show Log'] : ['Show Log', 'Restart'];
    void vscode.window
      .showErrorMessage(`MCP server "${s.name}" ${s.state.kind === 'failed' ? 'failed' : 'is crash-looping'}: ${s.lastError ?? 'see its log'}`, ...buttons)
      .then(async (choice) => {
        if (choice === 'Show Log') void vscode.commands.executeCommand(COMMANDS.serverShowLog, s.name);
        if (choice === 'Restart') void vscode.commands.executeCommand(COMMANDS.serverRestart, s.name);
        if (choice === 'Set Secret…' && missing !== undefined && (await askSecretValue(missing))) {
          output.info(`secret "${missing}" set; starting ${s.name} again`);
          await plane.supervisor.restart(s.name).catch((err: unknown) => output.error(`restarting ${s.name} failed: ${errorMessage(err)}`));
        }
      });
  };
  /** Asks for a secret's value (password box) and stores it; false when cancelled. */
  const askSecretValue = async (name: string): Promise<boolean> => {
    const value = await vscode.window.showInputBox({ prompt: `Value of secret "${name}"`, password: true, ignoreFocusOut: true });
    if (value === undefined || value === '') return false;
    await secrets.set(name, value);
    void vscode.window.showInformationMessage(`Secret "${name}" stored in VS Code's secret storage.`);
    return true;
  };

  // ---- Configuration, roots, trust -------------------------------------------------------------
  const reapply = async (): Promise<void> => {
    try {
      await ready;
      await plane.applyConfig(settings(), host());
      for (const p of plane.problems) void vscode.window.showWarningMessage(`MCP Control Plane: ${p.message}`);
    } catch (err) {
      output.error(`applying settings failed: ${errorMessage(err)}`);
    }
  };
  disposables.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('mcpControlPlane')) void reapply();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      tree.refresh();
      renderStatusBar();
      void reapply();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void ready.then((p) => p.rootsChanged()).then(reapply, (err: unknown) => output.error(`roots change: ${errorMessage(err)}`))),
  );

  // The network server follows its inventory: created, changed or deleted, it starts, restarts or stops.
  const inventoryWatcher = vscode.workspace.createFileSystemWatcher('**/.mcpcp/inventory.yaml');
  const onInventory = async (): Promise<void> => {
    await ready;
    const before = plane.supervisor.get('network');
    await reapply();
    // Still the same server (the inventory changed, not appeared or vanished): it re-reads it at start.
    if (before && plane.supervisor.get('network') === before) await before.restart();
  };
  disposables.push(inventoryWatcher, inventoryWatcher.onDidCreate(() => void onInventory()), inventoryWatcher.onDidChange(() => void onInventory()), inventoryWatcher.onDidDelete(() => void onInventory()));

  // The login shell's PATH: read after activate() returned (spawning a shell from the extension
  // host takes tens of milliseconds); servers started before it arrives are restarted by reapply.
  const readLoginPath = (): void =>
    void shellPath.path().then(
      (p) => {
        if (p === process.env['PATH']) return;
        loginPath = p;
        void reapply();
      },
      (err: unknown) => output.warn(`login shell PATH not read: ${errorMessage(err)}`),
    );
  disposables.push(registerAddServer({ plane: () => running?.plane, secrets, shellPath, prompts, log: (m) => output.info(m), backupDir: backupRoot(context.globalStorageUri.fsPath) }));
  disposables.push(
    registerConsentCommands({ plane: () => running?.plane, log: (m) => output.info(m) }),
    registerAdoptCommands(context, {
      plane: () => running?.plane,
      secrets,
      shellPath,
      log: (m) => output.info(m),
      reviewApprovals: () => void vscode.commands.executeCommand(`${APPROVALS_VIEW_ID}.focus`),
    }),
  );

  // ---- Commands ---------------------------------------------------------------------------------
  /** A server from the argument (a name, a tree node) or picked from a list of those in `states`. */
  const pickServer = async (arg: unknown, placeHolder: string, states?: readonly string[]): Promise<string | undefined> => {
    await ready;
    if (typeof arg === 'string') return arg;
    if (arg && typeof arg === 'object' && 'kind' in arg && (arg as TreeNode).kind === 'server') return (arg as TreeNode & { kind: 'server' }).name;
    const names = plane.supervisor
      .list()
      .filter((s) => states === undefined || states.includes(s.status.state.kind))
      .map((s) => ({ label: s.name, description: tree.row(s.name)?.description ?? s.status.state.kind }));
    if (names.length === 0) {
      void vscode.window.showInformationMessage(states ? `MCP Control Plane: no ${states.join(' or ')} server.` : 'MCP Control Plane: no server is configured.');
      return undefined;
    }
    return (await vscode.window.showQuickPick(names, { placeHolder }))?.label;
  };
  const serverCommand = (id: string, placeHolder: string, run: (name: string) => Promise<void> | void, states?: readonly string[]): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (arg: unknown) => {
      const name = await pickServer(arg, placeHolder, states);
      if (!name) return;
      if (!plane.supervisor.get(name) && id !== COMMANDS.serverEnable) {
        void vscode.window.showErrorMessage(`No MCP server named "${name}".`);
        return;
      }
      try {
        await run(name);
      } catch (err) {
        void vscode.window.showErrorMessage(`MCP Control Plane: ${errorMessage(err)}`);
      }
    });
  /**
   * Writes `enabled` where it takes effect: in the workspace settings when the workspace defines
   * the server (a user value would be overridden there), else in the user settings.
   */
  const setEnabled = async (name: string, enabled: boolean): Promise<void> => {
    const section = vscode.workspace.getConfiguration('mcpControlPlane');
    const inspected = section.inspect<Record<string, Record<string, unknown>>>('servers');
    const target =
      inspected?.workspaceFolderValue?.[name] !== undefined
        ? vscode.ConfigurationTarget.WorkspaceFolder
        : inspected?.workspaceValue?.[name] !== undefined
          ? vscode.ConfigurationTarget.Workspace
          : vscode.ConfigurationTarget.Global;
    const current =
      (target === vscode.ConfigurationTarget.WorkspaceFolder ? inspected?.workspaceFolderValue : target === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue) ?? {};
    await section.update('servers', { ...current, [name]: { ...(current[name] ?? {}), enabled } }, target);
  };
  disposables.push(
    serverCommand(COMMANDS.serverStart, 'Server to start', (name) => plane.supervisor.start(name), ['stopped', 'failed', 'crash-looping']),
    serverCommand(COMMANDS.serverStop, 'Server to stop', (name) => plane.supervisor.stop(name), ['running', 'unhealthy', 'starting', 'restarting']),
    serverCommand(COMMANDS.serverRestart, 'Server to restart', (name) => plane.supervisor.restart(name)),
    serverCommand(COMMANDS.serverShowLog, 'Server whose log to show', (name) => logFor(name).show(true)),
    serverCommand(COMMANDS.serverDisable, 'Server to disable', (name) => setEnabled(name, false)),
    vscode.commands.registerCommand(COMMANDS.serverEnable, async (arg: unknown) => {
      await ready;
      // Only a server the configuration knows (built-in, or an entry): never free text, which
      // would write a junk entry into the settings.
      const candidates = tree.disabledServers();
      const given = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && (arg as TreeNode).kind === 'disabled' ? (arg as TreeNode & { kind: 'disabled' }).name : undefined;
      const name =
        given ??
        (candidates.length === 0
          ? void vscode.window.showInformationMessage('Every configured MCP server is enabled. Add one with "Adopt MCP Servers…" or in the settings (mcpControlPlane.servers).')
          : (await vscode.window.showQuickPick(candidates.map((n) => ({ label: n, description: findBuiltin(n) ? 'built-in' : 'configured' })), { placeHolder: 'Server to enable' }))?.label);
      if (!name) return;
      if (!candidates.includes(name) && !findBuiltin(name) && plane.currentConfig.servers[name] === undefined) {
        void vscode.window.showErrorMessage(`No MCP server named "${name}" is configured; nothing was written.`);
        return;
      }
      await setEnabled(name, true);
    }),
    vscode.commands.registerCommand(COMMANDS.serverConnect, async (arg: unknown) => {
      const name = await pickServer(arg, 'Server to connect VS Code to');
      if (!name || !plane.supervisor.get(name)) return;
      // The command behind "Start" in VS Code's MCP list, for our definition of this server
      // (id: <extension id, lower case>/<label>). It is the workbench's own, not a published API:
      // when it is missing, open the list where the user can start it.
      try {
        await vscode.commands.executeCommand('workbench.mcp.startServer', `${context.extension.id.toLowerCase()}/${name}`, { autoTrustChanges: true });
      } catch (err) {
        output.warn(`workbench.mcp.startServer failed (${errorMessage(err)}); opening MCP: List Servers`);
        await vscode.commands.executeCommand('workbench.mcp.listServer');
      }
      tree.refresh();
    }),
    vscode.commands.registerCommand(COMMANDS.workspaceTrust, () => vscode.commands.executeCommand('workbench.trust.manage')),
    vscode.commands.registerCommand(COMMANDS.clientConfigCopy, async () => {
      await ready;
      await vscode.env.clipboard.writeText(JSON.stringify(plane.clientConfiguration(), null, 2));
      void vscode.window.showInformationMessage('MCP client configuration (with this window\'s gateway token) copied. It is valid until VS Code restarts.');
    }),
    vscode.commands.registerCommand(COMMANDS.secretSet, async () => {
      const name = await vscode.window.showInputBox({ prompt: 'Secret name (reference it as ${secret:name})', validateInput: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(v) ? undefined : 'letters, digits, ".", "-" and "_"') });
      if (!name) return;
      await askSecretValue(name);
    }),
    vscode.commands.registerCommand(COMMANDS.secretList, async () => {
      const names = await secrets.list();
      await vscode.window.showQuickPick(names.length ? names : ['(no secrets)'], { placeHolder: 'Stored secrets (names only)' });
    }),
    vscode.commands.registerCommand(COMMANDS.secretDelete, async () => {
      const name = await vscode.window.showQuickPick(await secrets.list(), { placeHolder: 'Secret to delete' });
      if (name) await secrets.delete(name);
    }),
    vscode.commands.registerCommand(COMMANDS.auditVerify, async () => {
      const dir = join(context.globalStorageUri.fsPath, 'audit');
      const result = await verifyAudit(dir, { keys: await loadOrCreateAuditKeyring(auditKeys) });
      output.info(`audit verify ${dir}: ${JSON.stringify({ status: result.status, files: result.files, records: result.records, firstBroken: result.firstBroken, tornTails: result.tornTails })}`);
      if (result.status === 'intact') {
        void vscode.window.showInformationMessage(`Audit log verified: ${plural(result.records, 'record')} in ${plural(result.files, 'file')}; the signed chain and its checkpoints are intact.`);
        return result;
      }
      if (result.status === 'torn') {
        void vscode.window.showWarningMessage(`Audit log intact up to a last line cut short by a crash (${result.tornTails.map((t) => `${t.file}:${t.line}`).join(', ')}); the next start of that window quarantines it.`);
        return result;
      }
      const b = result.firstBroken;
      const choice = await vscode.window.showErrorMessage(`Audit log BROKEN${b ? ` at ${b.file}:${b.line}: ${b.reason}` : ''}.`, ...(b ? ['Open File'] : []));
      if (choice === 'Open File' && b) {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(dir, b.file)));
        await vscode.window.showTextDocument(doc, { selection: new vscode.Range(b.line - 1, 0, b.line - 1, 0) });
      }
      return result;
    }),
    vscode.commands.registerCommand(COMMANDS.auditExportKey, async () => {
      // A human gesture (the command, the save dialog, a modal confirmation) writes the key ring to
      // an owner-only file, for `mcpcp audit verify --dir <globalStorage>/audit --key-file <file>`.
      const picked = await vscode.window.showSaveDialog({ title: 'Export the audit key ring (owner-only file)', defaultUri: vscode.Uri.file(join(context.globalStorageUri.fsPath, '..', 'mcpcp-audit.key')), saveLabel: 'Export Key' });
      if (!picked || picked.scheme !== 'file') return undefined;
      const confirm = await vscode.window.showWarningMessage(
        `Write the audit key to ${picked.fsPath}? Whoever can read that file can re-sign this window's audit log: keep it owner-only and delete it after verifying.`,
        { modal: true },
        'Export',
      );
      if (confirm !== 'Export') return undefined;
      await fileAuditKeyStorage(picked.fsPath).write(serializeAuditKeyring(await loadOrCreateAuditKeyring(auditKeys)));
      output.info(`audit key ring exported to ${picked.fsPath} (mode 0600)`);
      void vscode.window.showInformationMessage(`Audit key exported (mode 0600). Verify with: mcpcp audit verify --dir "${join(context.globalStorageUri.fsPath, 'audit')}" --key-file "${picked.fsPath}"`);
      return picked.fsPath;
    }),
    vscode.commands.registerCommand(COMMANDS.auditRotateKey, async () => {
      await ready;
      const ring = await rotateStoredAuditKeyring(auditKeys);
      await plane.oversight.rotateAuditKey(ring);
      output.info(`audit key rotated: ${ring.current} (${ring.keys.size} keys kept)`);
      void vscode.window.showInformationMessage(`Audit key rotated: new records are signed with ${ring.current}; the old keys are kept to verify older records. Other windows switch at their next start.`);
      return ring.current;
    }),
    vscode.commands.registerCommand(COMMANDS.viewFocus, () => vscode.commands.executeCommand(`workbench.view.extension.${VIEW_CONTAINER_ID}`)),
  );
  for (const d of disposables) context.subscriptions.push(d);

  renderStatusBar();
  const readyForApi = ready.then(() => undefined);
  readyForApi.catch(() => undefined); // awaited by tests and other extensions; the failure itself is shown below
  const api: MainApi = {
    ready: readyForApi,
    readyMs: () => readyMs,
    gatewayUrl: () => (running ? `http://127.0.0.1:${plane.port}` : undefined),
    servers: () =>
      !running
        ? []
        : plane.supervisor.statuses().map((s) => ({
            name: s.name,
            state: s.state.kind,
            toolCount: s.toolCount,
            ...('pid' in s.state && s.state.pid !== undefined ? { pid: s.state.pid } : {}),
            ...(s.lastError ? { lastError: s.lastError } : {}),
          })),
    treeSnapshot: () => serversTree.snapshot(),
    serverSessions: (name: string) => (running ? plane.gateway.sessionsFor(name) : 0),
    treeRefreshes: () => tree.refreshes,
    onDidChangeServers: serversChanged.event,
    team: {
      state: () => team.state(),
      refresh: () => team.refresh(),
      approvals: () => teamApprovals.snapshot(),
      ...(context.extensionMode === vscode.ExtensionMode.Test
        ? {
            setApiKeyForTest: (key: string) => team.setApiKey(key),
            signInForTest: (openBrowser: (url: string) => Promise<unknown>) => team.signInWithOidc(openBrowser),
            signInApproverForTest: (openBrowser: (url: string) => Promise<unknown>) => teamApprovals.signIn(openBrowser),
          }
        : {}),
    },
    ...(context.extensionMode === vscode.ExtensionMode.Test
      ? {
          setSecretForTest: (name: string, value: string) => secrets.set(name, value),
          promptsForTest: { answer: (...answers: Array<string | undefined>) => prompts.answer(...answers), shown: () => [...prompts.shown], clear: () => prompts.clearAnswers() },
          toolNodeForTest: async (server: string, tool: string) => {
            const serverNode = (await tree.getChildren()).find((n) => n.kind === 'server' && n.name === server);
            return serverNode ? (await tree.getChildren(serverNode)).find((n) => (n.kind === 'tool' || n.kind === 'disabledTool') && n.tool === tool) : undefined;
          },
          grantProposalsForTest: async () => {
            await ready;
            const waiting = [...plane.waiting];
            for (const p of waiting) {
              if (p.kind === 'server') await plane.grantProposals([p.name], { allowSecretInArgs: true });
              else await plane.consent.grant({ kind: 'device', id: p.id, source: p.source, name: p.name, hash: p.hash, destination: p.destination ?? '', secrets: p.secrets, hostKeys: p.hostKeys ?? {}, summary: p.summary, grantedAt: new Date().toISOString() });
            }
            return waiting.map((p) => p.name);
          },
        }
      : {}),
  };

  // The control plane starts a macrotask later: nothing above waits for it.
  setImmediate(() => {
    readLoginPath();
    startPlane().then(
      (p) => {
        readyMs = Math.round(performance.now() - started);
        if (oversightViews?.testHooks) api.oversight = oversightViews.testHooks;
        output.info(`control plane ready ${readyMs} ms after activation started`);
        markReady(p);
      },
      (err: unknown) => {
        output.error(`the control plane did not start: ${errorMessage(err)}`);
        statusBar.text = '$(error) MCP not started';
        statusBar.tooltip = `MCP Control Plane did not start: ${errorMessage(err)}`;
        statusBar.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        void vscode.window.showErrorMessage(`MCP Control Plane did not start: ${errorMessage(err)}`, 'Show Log').then((c) => c && output.show());
        markFailed(err);
      },
    );
  });

  return api;
}

/**
 * Which file workspace-scoped settings come from, as the consent store keys proposals: the
 * .code-workspace file, else the first folder's .vscode/settings.json (real paths).
 */
function settingsSource(): string {
  const file = vscode.workspace.workspaceFile?.scheme === 'file' ? vscode.workspace.workspaceFile.fsPath : undefined;
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
  const path = file ?? (folder ? join(folder, '.vscode', 'settings.json') : undefined);
  if (!path) return 'vscode-settings:none';
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** VS Code waits for this (about 5 s): children are stopped in stages within 3 s. */
export async function deactivate(): Promise<void> {
  await starting?.catch(() => undefined);
  starting = undefined;
  const current = running;
  running = undefined;
  if (!current) return;
  await current.plane.stop('VS Code is closing the window');
}
