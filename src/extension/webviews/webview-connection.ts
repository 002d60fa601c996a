import * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import { handleUiRequest, newNonce, renderUiPage, webviewCsp, type StateFeed, type StateSubscription } from '../../core/web-ui';
import { uiToHostSchema, type ApprovalView, type DashboardState, type HostToUi, type UiView } from '../../protocol/ui';

/** What only the Approvals view's host adds: the "Allow this tool from now on…" action of a card. */
export interface ApprovalCardActions {
  /** Whether a card may offer it (the tool is not destructive). */
  canAlwaysAllow(approval: ApprovalView): boolean;
  /** Runs it for the tool of this approval, resolved in the host's own state (a modal dialog asks). */
  allowTool(approvalId: string): Promise<{ written: boolean; message: string }>;
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
  private readyCount = 0;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly feed: StateFeed,
    private readonly backend: () => UiBackend,
    private readonly log: (message: string) => void,
    private readonly cardActions?: ApprovalCardActions,
  ) {
    this.listener = webview.onDidReceiveMessage((message: unknown) => void this.receive(message));
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
    const parsed = uiToHostSchema.safeParse(raw);
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
      return undefined;
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
    try {
      await this.webview.postMessage(message);
    } catch {
      // The webview was disposed meanwhile; its dispose handler cleans up.
    }
  }
}
