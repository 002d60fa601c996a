import * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { StateFeed } from '../../core/web-ui';
import type { UiView } from '../../protocol/ui';
import { WebviewConnection, webviewHtml, webviewOptions } from './webview-connection';

export interface SinglePanelOptions {
  readonly viewType: string;
  readonly title: string;
  /** Which view of the UI bundle the panel shows. */
  readonly view: UiView;
  /** Stop the state feed while the panel is hidden (it resumes when shown). */
  readonly pauseWhenHidden: boolean;
  readonly extensionUri: vscode.Uri;
  readonly feed: StateFeed;
  readonly backend: () => UiBackend;
  readonly log: (message: string) => void;
}

/** One webview panel of the UI bundle at a time, with its connection: `open` reveals it when it is open. */
export class SinglePanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private connection: WebviewConnection | undefined;

  constructor(private readonly options: SinglePanelOptions) {}

  /** Opens the panel, or reveals it; returns its connection. */
  open(): WebviewConnection {
    if (this.panel !== undefined && this.connection !== undefined) {
      this.panel.reveal();
      return this.connection;
    }
    const o = this.options;
    const panel = vscode.window.createWebviewPanel(o.viewType, o.title, vscode.ViewColumn.Active, webviewOptions(o.extensionUri));
    panel.iconPath = vscode.Uri.joinPath(o.extensionUri, 'media', 'activity.svg');
    panel.webview.html = webviewHtml(panel.webview, o.extensionUri, o.view);
    const connection = new WebviewConnection(panel.webview, o.feed, o.backend, o.log);
    this.panel = panel;
    this.connection = connection;
    const viewState = o.pauseWhenHidden
      ? panel.onDidChangeViewState(() => {
          if (!panel.visible) connection.pause();
        })
      : undefined;
    panel.onDidDispose(() => {
      viewState?.dispose();
      connection.dispose();
      this.panel = undefined;
      this.connection = undefined;
    });
    return connection;
  }

  /** The connection of the open panel, if any. */
  get current(): WebviewConnection | undefined {
    return this.connection;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
