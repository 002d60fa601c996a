import type * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { StateFeed } from '../../core/web-ui';
import { SinglePanel } from './single-panel';
import type { WebviewConnection } from './webview-connection';

/** The view type of the dashboard panel. */
export const DASHBOARD_PANEL_TYPE = 'mcpControlPlane.dashboard';

/** "MCP Control Plane: Dashboard", one panel at a time: `show` reveals it if it is open. */
export class DashboardPanel implements vscode.Disposable {
  private readonly panel: SinglePanel;

  constructor(extensionUri: vscode.Uri, feed: StateFeed, backend: () => UiBackend, log: (message: string) => void) {
    this.panel = new SinglePanel({ viewType: DASHBOARD_PANEL_TYPE, title: 'MCP Control Plane: Dashboard', view: 'dashboard', pauseWhenHidden: true, extensionUri, feed, backend, log });
  }

  show(): void {
    this.panel.open();
  }

  /** The connection of the open panel, if any. */
  get current(): WebviewConnection | undefined {
    return this.panel.current;
  }

  dispose(): void {
    this.panel.dispose();
  }
}
