import * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { StateFeed } from '../../core/web-ui';
import { WebviewConnection, webviewHtml, webviewOptions, type ApprovalCardActions, type TeamApprovalsSource } from './webview-connection';

/**
 * The Approvals view in the activity-bar container: pending approvals with preview, arguments,
 * rule and client, and the history. A webview view exists only once VS Code resolves it (the
 * first time the person opens it); its badge shows the pending count from then on.
 */
export class ApprovalsViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private connection: WebviewConnection | undefined;
  private pendingCount = 0;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly resolvedEmitter = new vscode.EventEmitter<void>();
  /** Fires when VS Code has resolved the view (the badge moves onto it). */
  readonly onDidResolve = this.resolvedEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly feed: StateFeed,
    private readonly backend: () => UiBackend,
    private readonly log: (message: string) => void,
    private readonly cardActions?: ApprovalCardActions,
    /** The team control plane's section under the local approvals (followed only while the view is visible). */
    private readonly team?: TeamApprovalsSource,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.connection?.dispose();
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'approvals');
    const connection = new WebviewConnection(view.webview, this.feed, this.backend, this.log, this.cardActions, this.team);
    this.connection = connection;
    this.renderBadge();
    this.team?.setWatched(view.visible);
    this.disposables.push(
      view.onDidChangeVisibility(() => {
        // Hidden without retained context, the page is gone; it says `ready` again when shown.
        if (!view.visible) connection.pause();
        // The team's approvals are followed only while someone can see them.
        this.team?.setWatched(view.visible);
      }),
      view.onDidDispose(() => {
        connection.dispose();
        this.team?.setWatched(false);
        if (this.view === view) {
          this.view = undefined;
          this.connection = undefined;
        }
      }),
    );
    this.resolvedEmitter.fire();
  }

  /** Whether the view has been resolved (so its badge is visible). */
  get resolved(): boolean {
    return this.view !== undefined;
  }

  /** The connection of the live webview, if any. */
  get current(): WebviewConnection | undefined {
    return this.connection;
  }

  get badge(): number | undefined {
    const badge = this.view?.badge;
    return badge === undefined ? undefined : badge.value;
  }

  /** Sets the pending count shown on the view's badge (none at 0). */
  setPending(count: number): void {
    this.pendingCount = count;
    this.renderBadge();
  }

  dispose(): void {
    this.team?.setWatched(false);
    this.connection?.dispose();
    for (const d of this.disposables) d.dispose();
    this.resolvedEmitter.dispose();
  }

  private renderBadge(): void {
    if (this.view === undefined) return;
    const n = this.pendingCount;
    this.view.badge = n > 0 ? { value: n, tooltip: `${n} approval${n === 1 ? '' : 's'} pending` } : undefined;
  }
}
