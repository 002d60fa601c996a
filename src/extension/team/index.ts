// The team client in VS Code: the control plane named by mcpControlPlane.team.url (user settings
// only), its servers offered to chat through the extension's MCP definition provider with the
// user's OIDC sign-in (./auth-provider.ts) or API key from SecretStorage, and their health from the
// service as remote rows of the Servers tree. Pure parts live in ./remote.ts and ./oidc-client.ts.
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import { apiKeySecretName, checkApiKey, fetchTeamStatus, remoteDefinitionLabel, remoteMcpUrl, remoteRow, TEAM_URL_SETTING, teamNotice, teamTarget, type TeamStatus, type TeamTarget } from './remote';
import { TEAM_COMMANDS } from './commands';
import { TeamAuthProvider } from './auth-provider';
import { readSignInInfo, sessionPrincipal } from './oidc-client';

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
  /** The OIDC sign-in (Accounts menu provider `mcpcp-team`); its access token wins over an API key. */
  readonly auth: TeamAuthProvider;
  /** Which credential the last read of the service used. */
  private credential: { kind: 'oidc'; account: string; principal: string; expiresAt: number } | { kind: 'api-key' } | { kind: 'none' } = { kind: 'none' };
  /** SHA-256 of the bearer value last handed to VS Code in `resolve` (to notice a renewed token). */
  private handedOut: string | undefined;
  /** Part of the definitions' version: bumped when the bearer VS Code holds is no longer current. */
  private credentialGeneration = 0;
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
    this.auth = new TeamAuthProvider(secrets, {
      origin: () => (this.target.kind === 'team' ? this.target.origin : undefined),
      log: (m) => options.log(m),
      sessionChanged: () => void this.refresh(),
    });
    this.disposables.push(
      this.auth,
      secrets.onDidChange((e) => {
        if (this.target.kind === 'team' && e.key === apiKeySecretName(this.target.origin)) void this.refresh();
      }),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamSignIn, () => this.chooseSignIn()),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamSignOut, () => this.signOut()),
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
    this.handedOut = undefined;
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
    // The OIDC access token is renewed here when it ends within a minute (this runs every 15 s).
    const key = await this.bearer(target.origin);
    const status = await fetchTeamStatus(target.origin, key);
    // A newer refresh (another URL, another key) started meanwhile: its answer wins.
    if (generation !== this.generation) return;
    const before = this.definitionKey();
    // VS Code keeps the headers of a running server until it starts it again: a new version of the
    // definitions makes it stop the server and resolve it (with the current token) on next use.
    if (this.handedOut !== undefined && key !== undefined && digest(key) !== this.handedOut) {
      this.credentialGeneration++;
      this.handedOut = undefined;
    }
    // Without servers to offer, VS Code holds no team server and so no bearer.
    if (status.kind !== 'ok') this.handedOut = undefined;
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
    return this.status.kind === 'ok' ? `${this.credentialGeneration}:${this.status.servers.map((s) => `${s.name}:${s.state}:${s.toolCount}`).join(',')}` : this.status.kind;
  }

  /** MCP definitions of the team's servers (no credential in them; it is added in `resolve`). */
  definitions(): vscode.McpHttpServerDefinition[] {
    if (this.target.kind !== 'team' || this.status.kind !== 'ok') return [];
    const origin = this.target.origin;
    return this.status.servers.map((s) => new vscode.McpHttpServerDefinition(remoteDefinitionLabel(s.name), vscode.Uri.parse(remoteMcpUrl(origin, s.name)), {}, `${s.state}:${s.toolCount}:${this.credentialGeneration}`));
  }

  /** Whether `definition` is one of the team's (then `resolve` is its only resolver). */
  owns(definition: vscode.McpServerDefinition): definition is vscode.McpHttpServerDefinition {
    if (!(definition instanceof vscode.McpHttpServerDefinition) || this.target.kind !== 'team') return false;
    return this.status.kind === 'ok' && this.status.servers.some((s) => definition.label === remoteDefinitionLabel(s.name) && definition.uri.toString(true) === vscode.Uri.parse(remoteMcpUrl((this.target as { origin: string }).origin, s.name)).toString(true));
  }

  /**
   * Adds `Authorization: Bearer <OIDC access token or API key>` when VS Code is about to connect:
   * those of the definition's own origin, the access token of the OIDC sign-in first (renewed
   * when it is about to end, so each resolve picks up the current one), else the API key. Without
   * either, offers to sign in (undefined: VS Code does not start it).
   */
  async resolve(definition: vscode.McpHttpServerDefinition): Promise<vscode.McpHttpServerDefinition | undefined> {
    const origin = new URL(definition.uri.toString(true)).origin;
    let bearer = await this.bearer(origin);
    if (!bearer) {
      await this.chooseSignIn();
      bearer = await this.bearer(origin);
    }
    if (!bearer) return undefined;
    this.handedOut = digest(bearer);
    definition.headers = { ...definition.headers, Authorization: `Bearer ${bearer}` };
    return definition;
  }

  /** The bearer value for `origin`: the OIDC session's access token, else the API key; records which. */
  private async bearer(origin: string): Promise<string | undefined> {
    const session = await this.auth.session(origin);
    if (session) {
      this.credential = { kind: 'oidc', account: session.account.label, principal: sessionPrincipal(session), expiresAt: session.expiresAt };
      return session.accessToken;
    }
    const key = await this.secrets.get(apiKeySecretName(origin));
    this.credential = key ? { kind: 'api-key' } : { kind: 'none' };
    return key;
  }

  /**
   * "Team: Sign In…": the OIDC sign-in when the service offers one for native clients (or the
   * API key input when the person picks that, or when it offers none).
   */
  async chooseSignIn(): Promise<boolean> {
    if (this.target.kind !== 'team') return this.askApiKey();
    const { origin, host } = this.target;
    let issuer: string | undefined;
    try {
      issuer = (await readSignInInfo(origin)).issuer;
    } catch (err) {
      this.options.log(`team ${host}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!issuer) return this.askApiKey();
    const oidc = { label: `$(account) Sign in at ${new URL(issuer).host}`, detail: 'Your identity provider, in the browser (OIDC). Tokens are kept in SecretStorage for this team only and renewed as they expire.' };
    const key = { label: '$(key) Enter an API key…', detail: 'An MCP API key from your team\'s admin (mcpcp team api-key create).' };
    const picked = await vscode.window.showQuickPick([oidc, key], { title: `Sign in to the team control plane ${host}`, ignoreFocusOut: true });
    if (picked === key) return this.askApiKey();
    if (picked !== oidc) return false;
    return this.signInWithOidc();
  }

  /** The OIDC sign-in; `openBrowser` replaces openExternal only in the extension's tests. */
  async signInWithOidc(openBrowser?: (url: string) => Promise<unknown>): Promise<boolean> {
    try {
      const session = await this.auth.signIn(openBrowser);
      void vscode.window.showInformationMessage(`MCP Control Plane: signed in to ${new URL(session.origin).host} as ${session.account.label}.`);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.options.log(`team sign-in failed: ${message}`);
      if (!(err instanceof Error && 'code' in err && err.code === 'SIGN_IN_CANCELLED')) void vscode.window.showErrorMessage(`MCP Control Plane: sign-in failed: ${message}`);
      if (openBrowser) throw err;
      return false;
    }
  }

  /** "Team: Sign Out": forgets the OIDC tokens of the team (revoked at the issuer when it can). */
  async signOut(): Promise<void> {
    if (this.target.kind !== 'team') return;
    await this.auth.signOut(this.target.origin);
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
    const ended = this.status.kind === 'no-key' ? this.auth.endedReason(this.target.origin) : undefined;
    const refusedSignIn = this.credential.kind === 'oidc' && this.status.kind === 'refused' && (this.status.status === 401 || this.status.status === 403);
    const notice = ended
      ? `Team ${this.target.host}: ${ended} — sign in…`
      : refusedSignIn
        ? `Team ${this.target.host}: your sign-in was refused (${(this.status as { status: number }).status}): sign in again…`
        : teamNotice(this.status, this.target.host);
    const servers: TeamNode[] = this.status.kind === 'ok' ? this.status.servers.map((s) => ({ kind: 'team-server', name: s.name })) : [];
    return notice ? [...servers, { kind: 'team-notice', text: notice }] : servers;
  }

  treeItem(node: TeamNode): vscode.TreeItem {
    if (node.kind === 'team-notice') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.id = 'team-notice';
      item.iconPath = new vscode.ThemeIcon('cloud', new vscode.ThemeColor('list.warningForeground'));
      item.tooltip = this.target.kind === 'team' ? `Team control plane ${this.target.origin} (${TEAM_URL_SETTING}). Click to sign in or set its API key.` : node.text;
      if (this.status.kind !== 'ok' && this.status.kind !== 'unreachable') item.command = { command: TEAM_COMMANDS.teamSignIn, title: 'Sign In…' };
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

  /** For tests and the API: what the client knows, and which credential it used (never the credential itself). */
  state(): { target: TeamTarget; status: TeamStatus; credential: TeamClient['credential'] } {
    return { target: this.target, status: this.status, credential: this.credential };
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

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function isTeamNode(node: unknown): node is TeamNode {
  return typeof node === 'object' && node !== null && 'kind' in node && ((node as TeamNode).kind === 'team-server' || (node as TeamNode).kind === 'team-notice');
}
