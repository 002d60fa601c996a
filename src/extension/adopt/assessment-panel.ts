import * as vscode from 'vscode';
import { renderAssessmentHtml, type AssessmentReport } from '../../core/adopt';
import { newNonce } from '../../core/web-ui';
import { humanTime } from '../wording';
import { ADOPT_COMMANDS, ASSESSMENT_PANEL_TYPE } from './commands';

/**
 * "MCP Configuration Assessment": one panel at a time showing the latest report. The page has no
 * script: its buttons are command links, and the webview allows exactly the report's commands.
 */
export class AssessmentPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private reportValue: AssessmentReport | undefined;
  /** What happened to each finding's fix in this panel (applied, rejected, failed). */
  private readonly outcomes: Record<string, string> = {};

  get report(): AssessmentReport | undefined {
    return this.reportValue;
  }

  show(report: AssessmentReport): void {
    this.reportValue = report;
    if (!this.panel) {
      const panel = vscode.window.createWebviewPanel(ASSESSMENT_PANEL_TYPE, 'MCP Configuration Assessment', vscode.ViewColumn.Active, {
        enableScripts: false,
        enableCommandUris: [ADOPT_COMMANDS.configAssess, ADOPT_COMMANDS.assessExportJson, ADOPT_COMMANDS.assessExportMarkdown, ADOPT_COMMANDS.assessReveal, ADOPT_COMMANDS.assessRemediate],
        localResourceRoots: [],
      });
      panel.onDidDispose(() => {
        this.panel = undefined;
      });
      this.panel = panel;
    } else {
      this.panel.reveal();
    }
    this.render();
  }

  /** Notes a fix's outcome next to its finding. */
  setOutcome(findingId: string, outcome: string): void {
    this.outcomes[findingId] = outcome;
    this.render();
  }

  private render(): void {
    if (!this.panel || !this.reportValue) return;
    this.panel.webview.html = renderAssessmentHtml(this.reportValue, {
      nonce: newNonce(),
      outcomes: this.outcomes,
      formatTime: (iso) => humanTime(iso),
      commands: {
        rerun: ADOPT_COMMANDS.configAssess,
        exportJson: ADOPT_COMMANDS.assessExportJson,
        exportMarkdown: ADOPT_COMMANDS.assessExportMarkdown,
        reveal: ADOPT_COMMANDS.assessReveal,
        remediate: ADOPT_COMMANDS.assessRemediate,
      },
    });
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
