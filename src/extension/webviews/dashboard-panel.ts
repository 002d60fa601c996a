import * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { StateFeed } from '../../core/web-ui';
import { WebviewConnection, webviewHtml, webviewOptions } from './webview-connection';

/** The view type of the dashboard panel. */
export const DASHBOARD_PANEL_TYPE = 'mcpControlPlane.dashboard';

/** "MCP Control Plane: Dashboard", one panel at a time: `show` reveals it if it is open. */
export class DashboardPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private connection: WebviewConnection | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly feed: StateFeed,
    private readonly backend: () => UiBackend,
    private readonly log: (message: string) => void,
  ) {}

  show(): void {
    if (this.panel !== undefined) {
      this.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_PANEL_TYPE, 'MCP Control Plane: Dashboard', vscode.ViewColumn.Active, webviewOptions(this.extensionUri));
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'activity.svg');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'dashboard');
    const connection = new WebviewConnection(panel.webview, this.feed, this.backend, this.log);
    this.panel = panel;
    this.connection = connection;
    const viewState = panel.onDidChangeViewState(() => {
      if (!panel.visible) connection.pause();
    });
    panel.onDidDispose(() => {
      viewState.dispose();
      connection.dispose();
      this.panel = undefined;
      this.connection = undefined;
    });
  }

  /** The connection of the open panel, if any. */
  get current(): WebviewConnection | undefined {
    return this.connection;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
