import * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import { handleUiRequest, newNonce, renderUiPage, webviewCsp, type StateFeed, type StateSubscription } from '../../core/web-ui';
import { webviewToHostSchema, type ApprovalView, type DashboardState, type HostToUi, type TeamRequest, type TeamResults, type TeamSection, type UiView } from '../../protocol/ui';

/** What only the Approvals view's host adds: the "Allow this tool from now on…" action of a card. */
export interface ApprovalCardActions {
  /** Whether a card may offer it (the tool is not destructive). */
  canAlwaysAllow(approval: ApprovalView): boolean;
  /** Runs it for the tool of this approval, resolved in the host's own state (a modal dialog asks). */
  allowTool(approvalId: string): Promise<{ written: boolean; message: string }>;
}

/**
 * The Approvals view's "Team · <host>" section: the team control plane's pending approvals, read
 * and decided with the person's separate approver sign-in (src/extension/team), never the MCP API key.
 */
export interface TeamApprovalsSource {
  /** The section as it stands (null: no team URL set). */
  section(): TeamSection | null;
  /** Fires when `section()` changed. */
  readonly onDidChange: vscode.Event<void>;
  /** Whether someone looks at the section: the service is followed only while true. */
  setWatched(watched: boolean): void;
  /** The sign-in row's button: the separate approver sign-in in the browser. */
  signIn(): Promise<TeamResults['team.signIn']>;
  /** A card's Approve/Reject, with the approver session; rejects with what to tell the person. */
  decide(params: { approvalId: string; digest: string; approve: boolean; reason?: string }): Promise<TeamResults['team.decide']>;
}

/** Statistics window of a new UI instance (it may change it with `dashboard.setWindow`). */
export const DEFAULT_WINDOW_MS = 3_600_000;

/** The folder of the built UI: the only local resource a webview may load. */
export function mediaRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'media');
}

/** Webview options: scripts on, local resources limited to the built UI. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: [mediaRoot(extensionUri)] };
}

/** The page of a webview: the UI bundle with a nonce CSP, no inline script. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: UiView): string {
  const nonce = newNonce();
  const root = mediaRoot(extensionUri);
  return renderUiPage({
    host: 'vscode',
    view,
    title: view === 'dashboard' ? 'MCP Control Plane: Dashboard' : view === 'policy-test' ? 'MCP Control Plane: Test Policy' : 'Approvals',
    nonce,
    scriptUrl: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js')).toString(),
    styleUrl: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.css')).toString(),
    cspMeta: webviewCsp(webview.cspSource, nonce),
  });
}

/**
 * The host side of one webview showing the UI. Every message from the webview is validated with
 * `uiToHostSchema` (anything else is dropped); `ready` starts the state pushes; requests go through
 * the shared `handleUiRequest`, so a decision made here is `{ kind: 'vscode-ui' }`: a person pressed
 * a button in the extension's own UI, which no MCP client or command can do.
 */
export class WebviewConnection implements vscode.Disposable {
  private sub: StateSubscription | undefined;
  private windowMs = DEFAULT_WINDOW_MS;
  private readonly listener: vscode.Disposable;
  private lastStateValue: DashboardState | undefined;
  private lastTeamValue: TeamSection | null | undefined;
  private readyCount = 0;
  private teamListener: vscode.Disposable | undefined;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly feed: StateFeed,
    private readonly backend: () => UiBackend,
    private readonly log: (message: string) => void,
    private readonly cardActions?: ApprovalCardActions,
    private readonly team?: TeamApprovalsSource,
  ) {
    this.listener = webview.onDidReceiveMessage((message: unknown) => void this.receive(message));
  }

  /** The team section last posted to the webview (undefined: none posted yet). */
  get lastTeam(): TeamSection | null | undefined {
    return this.lastTeamValue;
  }

  /** The webview said `ready` since it was last (re)loaded. */
  get ready(): boolean {
    return this.sub !== undefined;
  }

  /** How many times the webview said `ready` (a reload says it again). */
  get readyMessages(): number {
    return this.readyCount;
  }

  /** The state last posted to the webview. */
  get lastState(): DashboardState | undefined {
    return this.lastStateValue;
  }

  /**
   * Handles one message as if the webview had posted it, and returns the response it was sent
   * (undefined for `ready` and for anything invalid).
   */
  async receive(raw: unknown): Promise<HostToUi | undefined> {
    const parsed = webviewToHostSchema.safeParse(raw);
    if (!parsed.success) {
      this.log(`webview: dropped an invalid message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return undefined;
    }
    const message = parsed.data;
    if (message.type === 'ready') {
      this.readyCount++;
      this.sub?.dispose();
      this.sub = this.feed.subscribe(this.windowMs, (state) => this.post({ type: 'state', state: this.decorate(state) }));
      this.sub.refresh();
      const team = this.team;
      if (team !== undefined && message.view === 'approvals') {
        this.teamListener?.dispose();
        this.teamListener = team.onDidChange(() => void this.post({ type: 'team', team: team.section() }));
        await this.post({ type: 'team', team: team.section() });
      }
      return undefined;
    }
    if (message.method === 'team.signIn' || message.method === 'team.decide') {
      const response = await this.teamRequest(message);
      await this.post(response);
      return response;
    }
    const response = await handleUiRequest(message, {
      backend: this.backend(),
      by: { kind: 'vscode-ui' },
      setWindow: (ms) => {
        this.windowMs = ms;
        this.sub?.setWindow(ms);
      },
      ...(this.cardActions ? { allowTool: (id: string) => this.cardActions!.allowTool(id) } : {}),
    });
    await this.post(response);
    return response;
  }

  /** A request of the team section: only with a team source (the Approvals view in VS Code). */
  private async teamRequest(message: TeamRequest): Promise<HostToUi> {
    const team = this.team;
    try {
      if (team === undefined) throw new Error('no team control plane here');
      const result = message.method === 'team.signIn' ? await team.signIn() : await team.decide(message.params);
      return { type: 'response', id: message.id, ok: true, result };
    } catch (err) {
      return { type: 'response', id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** The state with each pending card's "Allow this tool from now on…" offer (Approvals view only). */
  private decorate(state: DashboardState): DashboardState {
    const actions = this.cardActions;
    if (actions === undefined) return state;
    return { ...state, pending: state.pending.map((a) => ({ ...a, canAlwaysAllow: a.kind === 'tool' && actions.canAlwaysAllow(a) })) };
  }

  /** The webview's content went away (hidden without retained context): stop pushing until `ready`. */
  pause(): void {
    this.sub?.dispose();
    this.sub = undefined;
    this.teamListener?.dispose();
    this.teamListener = undefined;
  }

  dispose(): void {
    this.pause();
    this.listener.dispose();
  }

  /** Posts a host message (a draft for the Test Policy view). */
  send(message: HostToUi): Promise<void> {
    return this.post(message);
  }

  private async post(message: HostToUi): Promise<void> {
    if (message.type === 'state') this.lastStateValue = message.state;
    if (message.type === 'team') this.lastTeamValue = message.team;
    try {
      await this.webview.postMessage(message);
    } catch {
      // The webview was disposed meanwhile; its dispose handler cleans up.
    }
  }
}
