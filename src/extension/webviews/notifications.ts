import * as vscode from 'vscode';
import { approvalSummary, visible } from '../../core/display';
import { errorMessage } from '../../core/errors';
import type { UiBackend } from '../../core/oversight/ui-backend';
import type { ApprovalView } from '../../protocol/ui';
import { alreadyDecidedText, notificationButtons } from '../wording';

/** More new approvals than this at once get one summary notification instead of one each. */
const MAX_SINGLE_NOTIFICATIONS = 3;

/**
 * A notification per new pending approval, Review first (the primary button). A destructive call
 * gets Review only; others get Reject, and Approve only when the whole call fits in the
 * notification (see `approvalSummary`). Pressing Approve or Reject is a person's gesture in VS
 * Code's own UI (decider `vscode-ui`, name `notification`); Review opens the Approvals view.
 * VS Code cannot withdraw a notification: a button pressed after the approval was decided
 * elsewhere (or expired) decides nothing and says who decided it.
 */
export class ApprovalNotifier {
  private known = new Set<string>();
  private readonly shownTexts: string[] = [];
  private readonly shown_ = new Map<string, { approval: ApprovalView; buttons: Array<'Review' | 'Reject' | 'Approve'> }>();

  constructor(
    private readonly backend: () => UiBackend,
    private readonly review: () => void,
    private readonly log: (message: string) => void,
    /** Whether the tool is destructive (its annotations as the server declares them). */
    private readonly destructive: (server: string, tool: string) => boolean = () => true,
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
    // argument is in the notification and the call is not destructive.
    const { text, complete } = approvalSummary(a);
    this.shownTexts.push(text);
    const buttons = notificationButtons(a.kind === 'tool' && this.destructive(a.server, a.tool), complete);
    this.shown_.set(a.id, { approval: a, buttons });
    // Bounded: the oldest notifications are long decided.
    for (const id of this.shown_.keys()) {
      if (this.shown_.size <= 200) break;
      this.shown_.delete(id);
    }
    const choice = await vscode.window.showWarningMessage(text, ...buttons);
    if (choice === 'Review') return this.review();
    if (choice === 'Approve' || choice === 'Reject') {
      const said = await this.act(a, choice);
      if (said !== undefined) void vscode.window.showInformationMessage(said);
    }
  }

  /**
   * A pressed Approve or Reject. Still pending? A notification outlives its approval, so a stale
   * button decides nothing and returns what to tell the person; undefined when it was recorded.
   */
  private async act(a: ApprovalView, choice: 'Approve' | 'Reject'): Promise<string | undefined> {
    const stale = async (): Promise<string | undefined> => {
      const decided = await this.decidedElsewhere(a);
      return decided && alreadyDecidedText({ ...decided, tool: visible(decided.tool), server: visible(decided.server) }, choice);
    };
    const already = await stale();
    if (already !== undefined) return already;
    try {
      const { status } = await this.backend().decide({ approvalId: a.id, digest: a.digest, approve: choice === 'Approve' }, { kind: 'vscode-ui', name: 'notification' });
      this.log(`approval ${a.id} (${visible(a.tool)} on ${visible(a.server)}): ${status} from the notification`);
      return undefined;
    } catch (err) {
      return (await stale().catch(() => undefined)) ?? `${visible(a.tool)} on ${visible(a.server)} was not ${choice === 'Approve' ? 'approved' : 'rejected'}: ${errorMessage(err)}`;
    }
  }

  /** The approval as decided, when it is no longer pending (from the history; expired when gone). */
  private async decidedElsewhere(a: ApprovalView): Promise<ApprovalView | undefined> {
    const state = await this.backend().state(60 * 60_000);
    if (state.pending.some((p) => p.id === a.id)) return undefined;
    return state.history.find((h) => h.id === a.id) ?? { ...a, status: 'expired' };
  }

  /** The buttons the notification of an approval offered (for tests). */
  buttonsFor(approvalId: string): readonly string[] | undefined {
    return this.shown_.get(approvalId)?.buttons;
  }

  /**
   * For tests: presses a button of the notification shown for `approvalId`, through the same path
   * as a click. Refuses a button that notification did not offer. Resolves with what the person is
   * told ('recorded' when the decision was recorded).
   */
  async press(approvalId: string, button: 'Approve' | 'Reject'): Promise<string> {
    const shown = this.shown_.get(approvalId);
    if (!shown?.buttons.includes(button)) throw new Error(`the notification for ${approvalId} offers ${shown?.buttons.join(', ') ?? 'nothing'}, not ${button}`);
    return (await this.act(shown.approval, button)) ?? 'recorded';
  }
}
