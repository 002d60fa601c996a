import * as vscode from 'vscode';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { StateFeed } from '../../core/web-ui';
import { SinglePanel } from './single-panel';
import type { WebviewConnection } from './webview-connection';

/** The view type of the Test Policy panel. */
export const POLICY_TEST_PANEL_TYPE = 'mcpControlPlane.policyTest';

/** Drafts larger than this are refused before they reach the webview (the protocol's limit). */
const MAX_DRAFT_BYTES = 48 * 1024;

/**
 * "MCP Control Plane: Test Policy Draft…": picks a draft policy file and shows the what-if report in
 * the UI bundle's Test Policy view (the same view as /ui?view=policy-test). One panel at a time.
 */
export class PolicyTestPanel implements vscode.Disposable {
  private readonly panel: SinglePanel;

  constructor(extensionUri: vscode.Uri, feed: StateFeed, backend: () => UiBackend, private readonly log: (message: string) => void) {
    this.panel = new SinglePanel({ viewType: POLICY_TEST_PANEL_TYPE, title: 'MCP Control Plane: Test Policy', view: 'policy-test', pauseWhenHidden: false, extensionUri, feed, backend, log });
  }

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
    const connection = this.panel.open();
    if (draft === undefined) return;
    // The view registers for drafts before it says `ready`.
    const deadline = Date.now() + 15_000;
    while (!connection.ready && Date.now() < deadline && this.panel.current === connection) await new Promise((r) => setTimeout(r, 50));
    if (connection.ready) await connection.send({ type: 'draft', name: draft.name, text: draft.text });
    else this.log('Test Policy: the view did not load; pick the draft in the view instead');
  }

  /** The connection of the open panel, if any. */
  get current(): WebviewConnection | undefined {
    return this.panel.current;
  }

  dispose(): void {
    this.panel.dispose();
  }
}
