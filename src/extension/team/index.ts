// The team client in VS Code: the control plane named by mcpControlPlane.team.url (user settings
// only), its servers offered to chat through the extension's MCP definition provider with the
// user's API key from SecretStorage, and their health from the service as remote rows of the
// Servers tree. Pure parts live in ./remote.ts.
import * as vscode from 'vscode';
import { apiKeySecretName, checkApiKey, fetchTeamStatus, remoteDefinitionLabel, remoteMcpUrl, remoteRow, TEAM_URL_SETTING, teamNotice, teamTarget, type TeamStatus, type TeamTarget } from './remote';
import { TEAM_COMMANDS } from './commands';

/** How often the service's status is read again while a team is configured. */
const POLL_MS = 15_000;

export type TeamNode = { kind: 'team-server'; name: string } | { kind: 'team-notice'; text: string };

export interface TeamClientOptions {
  log(message: string): void;
  /** The server definitions offered to chat changed (fire the provider's event). */
  definitionsChanged(): void;
  /** The tree rows changed. */
  treeChanged(): void;
}

/** The team control plane as this window sees it; one per window, built in activate(). */
export class TeamClient implements vscode.Disposable {
  private target: TeamTarget = { kind: 'none', ignored: [] };
  private status: TeamStatus = { kind: 'no-key' };
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private warnedIgnored = '';
  private generation = 0;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly options: TeamClientOptions,
  ) {
    this.disposables.push(
      secrets.onDidChange((e) => {
        if (this.target.kind === 'team' && e.key === apiKeySecretName(this.target.origin)) void this.refresh();
      }),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamSetApiKey, () => this.askApiKey()),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamForgetApiKey, () => this.forgetApiKey()),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamRefresh, () => this.refresh()),
    );
  }

  /** Reads the setting (the user's value only) and the service's status; activate() calls it when the setting changes. */
  async reload(): Promise<void> {
    const inspected = vscode.workspace.getConfiguration().inspect<string>(TEAM_URL_SETTING);
    this.target = teamTarget(inspected);
    const ignored = this.target.ignored.join(',');
    if (ignored !== '' && ignored !== this.warnedIgnored) {
      this.options.log(`${TEAM_URL_SETTING}: the ${this.target.ignored.join(' and ')} value is ignored (only your user settings may name a team control plane)`);
      void vscode.window.showWarningMessage(`MCP Control Plane: this ${this.target.ignored.join(' and ')} sets ${TEAM_URL_SETTING}; it is ignored — only your user settings may name a team control plane (it would receive your API key).`);
    }
    this.warnedIgnored = ignored;
    if (this.target.kind === 'invalid') {
      this.options.log(`${TEAM_URL_SETTING}: ${this.target.message}`);
      void vscode.window.showErrorMessage(`MCP Control Plane: ${TEAM_URL_SETTING}: ${this.target.message}`);
    }
    if (this.target.kind === 'team') this.options.log(`team control plane: ${this.target.origin}`);
    this.status = { kind: 'no-key' };
    this.options.definitionsChanged();
    await this.refresh();
  }

  /** Reads GET /status now; keeps polling while a team is configured. */
  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const target = this.target;
    const generation = ++this.generation;
    if (target.kind !== 'team') {
      this.status = { kind: 'no-key' };
      this.options.treeChanged();
      return;
    }
    const key = await this.secrets.get(apiKeySecretName(target.origin));
    const status = await fetchTeamStatus(target.origin, key);
    // A newer refresh (another URL, another key) started meanwhile: its answer wins.
    if (generation !== this.generation) return;
    const before = this.definitionKey();
    if (status.kind !== 'ok' && status.kind !== this.status.kind) this.options.log(`team ${target.host}: ${teamNotice(status, target.host) ?? status.kind}`);
    this.status = status;
    if (this.definitionKey() !== before) this.options.definitionsChanged();
    this.options.treeChanged();
    if (status.kind !== 'no-key') {
      this.timer = setTimeout(() => void this.refresh(), POLL_MS);
      this.timer.unref?.();
    }
  }

  private definitionKey(): string {
    return this.status.kind === 'ok' ? this.status.servers.map((s) => `${s.name}:${s.state}:${s.toolCount}`).join(',') : this.status.kind;
  }

  /** MCP definitions of the team's servers (no credential in them; it is added in `resolve`). */
  definitions(): vscode.McpHttpServerDefinition[] {
    if (this.target.kind !== 'team' || this.status.kind !== 'ok') return [];
    const origin = this.target.origin;
    return this.status.servers.map((s) => new vscode.McpHttpServerDefinition(remoteDefinitionLabel(s.name), vscode.Uri.parse(remoteMcpUrl(origin, s.name)), {}, `${s.state}:${s.toolCount}`));
  }

  /** Whether `definition` is one of the team's (then `resolve` is its only resolver). */
  owns(definition: vscode.McpServerDefinition): definition is vscode.McpHttpServerDefinition {
    if (!(definition instanceof vscode.McpHttpServerDefinition) || this.target.kind !== 'team') return false;
    return this.status.kind === 'ok' && this.status.servers.some((s) => definition.label === remoteDefinitionLabel(s.name) && definition.uri.toString(true) === vscode.Uri.parse(remoteMcpUrl((this.target as { origin: string }).origin, s.name)).toString(true));
  }

  /**
   * Adds `Authorization: Bearer <API key>` when VS Code is about to connect. The key is that of
   * the definition's own origin; without one, asks for it (undefined: VS Code does not start it).
   */
  async resolve(definition: vscode.McpHttpServerDefinition): Promise<vscode.McpHttpServerDefinition | undefined> {
    const origin = new URL(definition.uri.toString(true)).origin;
    let key = await this.secrets.get(apiKeySecretName(origin));
    if (!key) {
      await this.askApiKey();
      key = await this.secrets.get(apiKeySecretName(origin));
    }
    if (!key) return undefined;
    definition.headers = { ...definition.headers, Authorization: `Bearer ${key}` };
    return definition;
  }

  /** "Team: Set API Key…": a masked input box; the key goes to SecretStorage only. */
  async askApiKey(): Promise<boolean> {
    if (this.target.kind !== 'team') {
      void vscode.window.showInformationMessage(`MCP Control Plane: name the team control plane first (user setting ${TEAM_URL_SETTING}).`, 'Open Settings').then((c) => c && vscode.commands.executeCommand('workbench.action.openSettings', TEAM_URL_SETTING));
      return false;
    }
    const value = await vscode.window.showInputBox({
      title: `API key for ${this.target.host}`,
      prompt: 'An MCP API key from your team\'s admin (mcpcp team api-key create). Kept in SecretStorage for this URL only.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => checkApiKey(v),
    });
    if (!value) return false;
    await this.setApiKey(value.trim());
    return true;
  }

  /** Stores the key for the current team URL and reads the status with it. */
  async setApiKey(key: string): Promise<void> {
    if (this.target.kind !== 'team') throw new Error(`no team control plane is configured (${TEAM_URL_SETTING})`);
    const problem = checkApiKey(key);
    if (problem) throw new Error(problem);
    await this.secrets.store(apiKeySecretName(this.target.origin), key);
    this.options.log(`team ${this.target.host}: API key set`);
    await this.refresh();
  }

  private async forgetApiKey(): Promise<void> {
    if (this.target.kind !== 'team') return;
    await this.secrets.delete(apiKeySecretName(this.target.origin));
    this.options.log(`team ${this.target.host}: API key removed`);
    await this.refresh();
  }

  /** Rows for the root of the Servers tree. */
  rootNodes(): TeamNode[] {
    if (this.target.kind === 'invalid') return [{ kind: 'team-notice', text: `Team: ${this.target.message}` }];
    if (this.target.kind !== 'team') return [];
    const notice = teamNotice(this.status, this.target.host);
    const servers: TeamNode[] = this.status.kind === 'ok' ? this.status.servers.map((s) => ({ kind: 'team-server', name: s.name })) : [];
    return notice ? [...servers, { kind: 'team-notice', text: notice }] : servers;
  }

  treeItem(node: TeamNode): vscode.TreeItem {
    if (node.kind === 'team-notice') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.id = 'team-notice';
      item.iconPath = new vscode.ThemeIcon('cloud', new vscode.ThemeColor('list.warningForeground'));
      item.tooltip = this.target.kind === 'team' ? `Team control plane ${this.target.origin} (${TEAM_URL_SETTING}). Click to set its API key.` : node.text;
      if (this.status.kind !== 'ok' && this.status.kind !== 'unreachable') item.command = { command: TEAM_COMMANDS.teamSetApiKey, title: 'Set API Key…' };
      return item;
    }
    const server = this.status.kind === 'ok' ? this.status.servers.find((s) => s.name === node.name) : undefined;
    const host = this.target.kind === 'team' ? this.target.host : '?';
    const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
    item.id = `team-server:${node.name}`;
    item.contextValue = 'server.remote';
    if (!server) return item;
    const row = remoteRow(server, host);
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.icon, row.color ? new vscode.ThemeColor(row.color) : undefined);
    item.accessibilityInformation = { label: `${node.name}, ${row.description}` };
    return item;
  }

  /** For tests and the API: what the client knows. */
  state(): { target: TeamTarget; status: TeamStatus } {
    return { target: this.target, status: this.status };
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

/** A tree of the window's own servers (from `local`) followed by the team's remote servers. */
export class ServersWithTeamTree<T> implements vscode.TreeDataProvider<T | TeamNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<T | TeamNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable | undefined;

  constructor(
    private readonly local: vscode.TreeDataProvider<T> & { snapshot(): Array<{ label: string; description?: string; children: string[]; childDescriptions: Record<string, string> }> },
    private readonly team: TeamClient,
  ) {
    this.subscription = local.onDidChangeTreeData?.((e) => this.changed.fire(Array.isArray(e) ? undefined : (e ?? undefined)));
  }

  /** The team's rows changed: re-render the root. */
  refreshTeam(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: T | TeamNode): Promise<Array<T | TeamNode>> {
    if (node && isTeamNode(node)) return [];
    const local = (await this.local.getChildren(node as T | undefined)) ?? [];
    return node === undefined ? [...local, ...this.team.rootNodes()] : local;
  }

  getTreeItem(node: T | TeamNode): vscode.TreeItem | Thenable<vscode.TreeItem> {
    return isTeamNode(node) ? this.team.treeItem(node) : this.local.getTreeItem(node);
  }

  snapshot(): Array<{ label: string; description?: string; children: string[]; childDescriptions: Record<string, string> }> {
    const team = this.team.rootNodes().map((n) => {
      const item = this.team.treeItem(n);
      return { label: String(item.label), ...(typeof item.description === 'string' ? { description: item.description } : {}), children: [], childDescriptions: {} };
    });
    return [...this.local.snapshot(), ...team];
  }

  dispose(): void {
    this.subscription?.dispose();
    this.changed.dispose();
  }
}

function isTeamNode(node: unknown): node is TeamNode {
  return typeof node === 'object' && node !== null && 'kind' in node && ((node as TeamNode).kind === 'team-server' || (node as TeamNode).kind === 'team-notice');
}
