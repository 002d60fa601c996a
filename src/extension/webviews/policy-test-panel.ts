import * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { StateFeed } from '../../core/web-ui';
import { WebviewConnection, webviewHtml, webviewOptions } from './webview-connection';

/** The view type of the Test Policy panel. */
export const POLICY_TEST_PANEL_TYPE = 'mcpControlPlane.policyTest';

/** Drafts larger than this are refused before they reach the webview (the protocol's limit). */
const MAX_DRAFT_BYTES = 48 * 1024;

/**
 * "MCP Control Plane: Test Policy Draft…": picks a draft policy file and shows the what-if report in
 * the UI bundle's Test Policy view (the same view as /ui?view=policy-test). One panel at a time.
 */
export class PolicyTestPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private connection: WebviewConnection | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly feed: StateFeed,
    private readonly backend: () => UiBackend,
    private readonly log: (message: string) => void,
  ) {}

  /** Asks for a draft file, then opens (or reveals) the panel and tests it. */
  async pickAndShow(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: 'Test this draft',
      title: 'Pick a draft policy to test against the recorded calls',
      filters: { 'Policy files': ['yaml', 'yml', 'json'] },
    });
    const uri = picked?.[0];
    if (uri === undefined) return;
    const bytes = await vscode.workspace.fs.readFile(uri);
    if (bytes.byteLength > MAX_DRAFT_BYTES) {
      void vscode.window.showErrorMessage(`${uri.fsPath} is larger than ${MAX_DRAFT_BYTES / 1024} KiB: test it with \`mcpcp policy test\` instead.`);
      return;
    }
    await this.show({ name: uri.fsPath, text: new TextDecoder().decode(bytes) });
  }

  /** Opens (or reveals) the panel; with a draft, the view tests it once it is ready. */
  async show(draft?: { name: string; text: string }): Promise<void> {
    if (this.panel === undefined) {
      const panel = vscode.window.createWebviewPanel(POLICY_TEST_PANEL_TYPE, 'MCP Control Plane: Test Policy', vscode.ViewColumn.Active, webviewOptions(this.extensionUri));
      panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'activity.svg');
      panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'policy-test');
      const connection = new WebviewConnection(panel.webview, this.feed, this.backend, this.log);
      this.panel = panel;
      this.connection = connection;
      panel.onDidDispose(() => {
        connection.dispose();
        this.panel = undefined;
        this.connection = undefined;
      });
    } else {
      this.panel.reveal();
    }
    if (draft === undefined) return;
    const connection = this.connection!;
    // The view registers for drafts before it says `ready`.
    const deadline = Date.now() + 15_000;
    while (!connection.ready && Date.now() < deadline && this.connection === connection) await new Promise((r) => setTimeout(r, 50));
    if (connection.ready) await connection.send({ type: 'draft', name: draft.name, text: draft.text });
    else this.log('Test Policy: the view did not load; pick the draft in the view instead');
  }

  /** The connection of the open panel, if any. */
  get current(): WebviewConnection | undefined {
    return this.connection;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
