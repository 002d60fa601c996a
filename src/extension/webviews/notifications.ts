import * as vscode from 'vscode';
import { approvalSummary, visible } from '../../core/display';
import { errorMessage } from '../../core/errors';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { ApprovalView } from '../../protocol/ui';

/** More new approvals than this at once get one summary notification instead of one each. */
const MAX_SINGLE_NOTIFICATIONS = 3;

/**
 * A notification per new pending approval, with Approve, Reject and Review (Approve only when the
 * whole call fits in the notification: see `approvalSummary`). Pressing Approve or
 * Reject is a person's gesture in VS Code's own UI (decider `vscode-ui`, name `notification`);
 * Review opens the Approvals view. A stale button (decided elsewhere, expired) says so.
 */
export class ApprovalNotifier {
  private known = new Set<string>();
  private readonly shownTexts: string[] = [];

  constructor(
    private readonly backend: () => UiBackend,
    private readonly review: () => void,
    private readonly log: (message: string) => void,
  ) {}

  /** The texts of the notifications shown so far (for tests). */
  get shown(): readonly string[] {
    return this.shownTexts;
  }

  update(pending: readonly ApprovalView[]): void {
    const fresh = pending.filter((a) => !this.known.has(a.id));
    this.known = new Set(pending.map((a) => a.id));
    if (fresh.length === 0) return;
    if (fresh.length > MAX_SINGLE_NOTIFICATIONS) {
      const text = `${fresh.length} MCP tool calls are waiting for your approval.`;
      this.shownTexts.push(text);
      void vscode.window.showWarningMessage(text, 'Review').then((choice) => {
        if (choice === 'Review') this.review();
      });
      return;
    }
    for (const a of fresh) void this.notify(a);
  }

  private async notify(a: ApprovalView): Promise<void> {
    // Everything from the agent or a server made visible, flags first; Approve only when every
    // argument is in the notification (otherwise the human reviews the whole card first).
    const { text, complete } = approvalSummary(a);
    this.shownTexts.push(text);
    const choice = await (complete ? vscode.window.showWarningMessage(text, 'Approve', 'Reject', 'Review') : vscode.window.showWarningMessage(text, 'Review', 'Reject'));
    if (choice === 'Review') return this.review();
    if (choice !== 'Approve' && choice !== 'Reject') return;
    try {
      const { status } = await this.backend().decide({ approvalId: a.id, digest: a.digest, approve: choice === 'Approve' }, { kind: 'vscode-ui', name: 'notification' });
      this.log(`approval ${a.id} (${visible(a.tool)} on ${visible(a.server)}): ${status} from the notification`);
    } catch (err) {
      void vscode.window.showInformationMessage(`${visible(a.tool)} on ${visible(a.server)} was not ${choice === 'Approve' ? 'approved' : 'rejected'}: ${errorMessage(err)}`);
    }
  }
}
