// "Team Approvals": the team control plane's pending approvals, beside the Approvals view, for a
// person who signed in as themselves (Team: Sign In as Approver…). The session lives in
// SecretStorage per team origin; the MCP API key is never sent on these paths.
import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import type { ApprovalView } from '../../protocol/ui';
import { approverSessionSchema, approverSessionSecretName, decideTeamApproval, listTeamApprovals, signInApprover, type ApproverSession } from './approver';
import { TEAM_COMMANDS } from './commands';

export const TEAM_APPROVALS_VIEW_ID = 'mcpControlPlane.teamApprovals';
const POLL_MS = 5_000;

type Row = { kind: 'approval'; approval: ApprovalView } | { kind: 'notice'; text: string; command?: string };

export class TeamApprovalsView implements vscode.TreeDataProvider<Row>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Row | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows: Row[] = [];
  private pending: ApprovalView[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private signedInAs: string | undefined;
  private readonly view: vscode.TreeView<Row>;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly origin: () => string | undefined,
    private readonly log: (m: string) => void,
  ) {
    const view = vscode.window.createTreeView(TEAM_APPROVALS_VIEW_ID, { treeDataProvider: this });
    this.view = view;
    this.disposables.push(
      view,
      view.onDidChangeVisibility((e) => e.visible && void this.refresh()),
      this.changed,
      vscode.commands.registerCommand(TEAM_COMMANDS.teamSignInApprover, () => this.signIn(async (url) => vscode.env.openExternal(vscode.Uri.parse(url, true)))),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamSignOutApprover, () => this.signOut()),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamDecide, (arg: unknown) => this.decideWithModal(arg)),
    );
  }

  /** Signs the person in (the browser opens the identity provider); stores the session for this origin. */
  async signIn(openBrowser: (url: string) => Promise<unknown>): Promise<string | undefined> {
    const origin = this.origin();
    if (!origin) {
      void vscode.window.showInformationMessage('MCP Control Plane: name the team control plane first (user setting mcpControlPlane.team.url).');
      return undefined;
    }
    try {
      const session = await signInApprover(origin, openBrowser);
      await this.secrets.store(approverSessionSecretName(origin), JSON.stringify(session));
      this.log(`team ${new URL(origin).host}: signed in as ${session.name} (${session.roles.join(', ')}) for approvals`);
      if (!session.roles.includes('approver') && !session.roles.includes('admin')) {
        void vscode.window.showWarningMessage(`MCP Control Plane: ${session.name} is signed in but has no approver role on ${new URL(origin).host}; decisions will be refused.`);
      }
      await this.refresh();
      return session.name;
    } catch (err) {
      this.log(`team approver sign-in failed: ${errorMessage(err)}`);
      void vscode.window.showErrorMessage(`MCP Control Plane: approver sign-in failed: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private async signOut(): Promise<void> {
    const origin = this.origin();
    if (!origin) return;
    const session = await this.session(origin);
    if (session) await fetch(`${origin}/ui/logout`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    await this.secrets.delete(approverSessionSecretName(origin));
    await this.refresh();
  }

  private async session(origin: string): Promise<ApproverSession | undefined> {
    const raw = await this.secrets.get(approverSessionSecretName(origin));
    if (!raw) return undefined;
    try {
      return approverSessionSchema.parse(JSON.parse(raw));
    } catch {
      return undefined;
    }
  }

  /** Reads the pending approvals now (and every 5 s while signed in and the view is visible). */
  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    const origin = this.origin();
    const session = origin ? await this.session(origin) : undefined;
    this.signedInAs = session?.name;
    if (!origin) {
      this.pending = [];
      this.rows = [];
    } else if (!session) {
      this.pending = [];
      this.rows = [{ kind: 'notice', text: 'Sign in as approver to see the team\'s approvals…', command: TEAM_COMMANDS.teamSignInApprover }];
    } else {
      const read = await listTeamApprovals(origin, session);
      if (read.kind === 'signed-out') {
        await this.secrets.delete(approverSessionSecretName(origin));
        this.pending = [];
        this.rows = [{ kind: 'notice', text: 'The approver session ended: sign in again…', command: TEAM_COMMANDS.teamSignInApprover }];
      } else if (read.kind === 'error') {
        this.rows = [{ kind: 'notice', text: `Team approvals cannot be read: ${read.message}` }];
      } else {
        this.pending = read.pending;
        this.rows = read.pending.length > 0 ? read.pending.map((approval) => ({ kind: 'approval', approval })) : [{ kind: 'notice', text: `No pending approvals (signed in as ${session.name})` }];
      }
      if (this.view.visible) {
        this.timer = setTimeout(() => void this.refresh(), POLL_MS);
        this.timer.unref?.();
      }
    }
    this.view.badge = this.pending.length > 0 ? { value: this.pending.length, tooltip: `${this.pending.length} team approval${this.pending.length === 1 ? '' : 's'} pending` } : undefined;
    this.changed.fire(undefined);
  }

  getChildren(row?: Row): Row[] {
    return row ? [] : this.rows;
  }

  getTreeItem(row: Row): vscode.TreeItem {
    if (row.kind === 'notice') {
      const item = new vscode.TreeItem(row.text);
      item.iconPath = new vscode.ThemeIcon('account');
      if (row.command) item.command = { command: row.command, title: row.text };
      return item;
    }
    const a = row.approval;
    const item = new vscode.TreeItem(`${a.server}/${a.tool}`);
    item.id = `team-approval:${a.id}`;
    item.description = `${a.client?.name ?? 'client'} · ${a.reason}`;
    item.tooltip = new vscode.MarkdownString(`**${a.server}/${a.tool}** on the team control plane\n\n${a.reason}\n\nArguments:\n\n\`\`\`json\n${JSON.stringify(a.args, null, 2).slice(0, 2000)}\n\`\`\``);
    item.iconPath = new vscode.ThemeIcon('bell-dot', new vscode.ThemeColor('list.warningForeground'));
    item.contextValue = 'teamApproval';
    item.command = { command: TEAM_COMMANDS.teamDecide, title: 'Decide…', arguments: [a.id] };
    return item;
  }

  private async decideWithModal(arg: unknown): Promise<void> {
    const id = typeof arg === 'string' ? arg : undefined;
    const approval = this.pending.find((a) => a.id === id);
    if (!approval) return;
    const choice = await vscode.window.showWarningMessage(
      `Team approval: ${approval.server}/${approval.tool}\n${approval.reason}\n\nArguments: ${JSON.stringify(approval.args).slice(0, 500)}`,
      { modal: true, detail: `You decide as ${this.signedInAs ?? '?'}; the team's audit records your name.` },
      'Approve',
      'Reject',
    );
    if (choice) await this.decide(approval.id, choice === 'Approve');
  }

  /** Decides as the signed-in person; resolves with the service's answer. */
  async decide(id: string, approve: boolean, reason?: string): Promise<{ ok: true } | { ok: false; status: number; message: string }> {
    const origin = this.origin();
    const session = origin ? await this.session(origin) : undefined;
    const approval = this.pending.find((a) => a.id === id);
    if (!origin || !session || !approval) return { ok: false, status: 0, message: !session ? 'not signed in as approver' : `no pending approval ${id}` };
    const result = await decideTeamApproval(origin, session, approval, approve, reason);
    if (!result.ok) void vscode.window.showErrorMessage(`MCP Control Plane: the team control plane refused the decision: ${result.message}`);
    else this.log(`team approval ${approval.server}/${approval.tool} ${approve ? 'approved' : 'rejected'} as ${session.name}`);
    await this.refresh();
    return result;
  }

  /** What the view shows (for tests). */
  snapshot(): { signedInAs?: string; pending: Array<{ id: string; server: string; tool: string; reason: string }>; rows: string[] } {
    return {
      ...(this.signedInAs ? { signedInAs: this.signedInAs } : {}),
      pending: this.pending.map((a) => ({ id: a.id, server: a.server, tool: a.tool, reason: a.reason })),
      rows: this.rows.map((r) => String(this.getTreeItem(r).label)),
    };
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
