// The team control plane's pending approvals, for the "Team · <host>" section of the Approvals view,
// for a person who signed in as themselves (Team: Sign In as Approver…). The session lives in
// SecretStorage per team origin; the MCP API key is never sent on these paths. The service is
// followed (its /ui event stream) only while someone watches: the Approvals view is visible and a
// session exists.
import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import type { ApprovalView, TeamResults, TeamSection } from '../../protocol/ui';
import type { TeamApprovalsSource } from '../webviews/webview-connection';
import { approverSessionSchema, approverSessionSecretName, decideTeamApproval, describeTeamRefusal, signInApprover, watchTeamApprovals, type ApproverSession } from './approver';
import { TEAM_COMMANDS } from './commands';

export class TeamApprovals implements TeamApprovalsSource, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private current: TeamSection | null = null;
  private watched = false;
  private watch: { origin: string; cookie: string; stop(): void } | undefined;
  private signingIn: Promise<TeamResults['team.signIn']> | undefined;
  /** While the browser sign-in runs, the section says so (a refresh meanwhile keeps it). */
  private signInRunning = false;
  /** A reason the section shows on its sign-in row (the session ended…), until the next sign-in. */
  private signedOutMessage: string | undefined;
  /** How many times the service's stream was opened (for tests: no following while unwatched). */
  private watchStarts = 0;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly origin: () => string | undefined,
    private readonly log: (m: string) => void,
    private readonly openBrowser: (url: string) => Promise<unknown> = async (url) => vscode.env.openExternal(vscode.Uri.parse(url, true)),
  ) {
    this.disposables.push(
      this.changed,
      secrets.onDidChange((e) => {
        const origin = this.origin();
        if (origin && e.key === approverSessionSecretName(origin)) void this.refresh();
      }),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamSignInApprover, () => this.signIn()),
      vscode.commands.registerCommand(TEAM_COMMANDS.teamSignOutApprover, () => this.signOut()),
    );
  }

  section(): TeamSection | null {
    return this.current;
  }

  setWatched(watched: boolean): void {
    if (this.watched === watched) return;
    this.watched = watched;
    void this.refresh();
  }

  /** Signs the person in (the browser opens the identity provider); stores the session for this origin. */
  signIn(openBrowser: (url: string) => Promise<unknown> = this.openBrowser): Promise<TeamResults['team.signIn']> {
    this.signingIn ??= this.runSignIn(openBrowser).finally(() => (this.signingIn = undefined));
    return this.signingIn;
  }

  private async runSignIn(openBrowser: (url: string) => Promise<unknown>): Promise<TeamResults['team.signIn']> {
    const origin = this.origin();
    if (!origin) {
      void vscode.window.showInformationMessage('MCP Control Plane: name the team control plane first (user setting mcpControlPlane.team.url).');
      return { signedIn: false, message: 'no team control plane is set (user setting mcpControlPlane.team.url)' };
    }
    const host = new URL(origin).host;
    this.signInRunning = true;
    this.show({ kind: 'signing-in', host });
    try {
      const session = await signInApprover(origin, openBrowser);
      this.signInRunning = false;
      this.signedOutMessage = undefined;
      await this.secrets.store(approverSessionSecretName(origin), JSON.stringify(session));
      this.log(`team ${host}: signed in as ${session.name} (${session.roles.join(', ')}) for approvals`);
      if (!session.roles.includes('approver') && !session.roles.includes('admin')) {
        void vscode.window.showWarningMessage(`MCP Control Plane: ${session.name} is signed in but has no approver role on ${host}; decisions will be refused.`);
      }
      await this.refresh();
      return { signedIn: true, name: session.name };
    } catch (err) {
      this.signInRunning = false;
      this.log(`team approver sign-in failed: ${errorMessage(err)}`);
      this.signedOutMessage = `The sign-in did not finish: ${errorMessage(err)}`;
      await this.refresh();
      void vscode.window.showErrorMessage(`MCP Control Plane: approver sign-in failed: ${errorMessage(err)}`);
      return { signedIn: false, message: errorMessage(err) };
    }
  }

  private async signOut(): Promise<void> {
    const origin = this.origin();
    if (!origin) return;
    const session = await this.session(origin);
    this.stopWatch();
    if (session) await fetch(`${origin}/ui/logout`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, redirect: 'manual', signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    await this.secrets.delete(approverSessionSecretName(origin));
    this.log(`team ${new URL(origin).host}: approver signed out`);
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

  /**
   * Re-reads the setting and the session: shows the sign-in row, or follows the service's pending
   * approvals while watched. activate() calls it when the team URL changes.
   */
  async refresh(): Promise<void> {
    const origin = this.origin();
    if (!origin) {
      this.stopWatch();
      this.show(null);
      return;
    }
    const host = new URL(origin).host;
    if (this.signInRunning) return;
    const session = await this.session(origin);
    if (!session) {
      this.stopWatch();
      this.show({ kind: 'signed-out', host, ...(this.signedOutMessage ? { message: this.signedOutMessage } : {}) });
      return;
    }
    const previous = this.current?.kind === 'signed-in' && this.current.host === host && this.current.signedInAs === session.name ? this.current : undefined;
    this.show({ kind: 'signed-in', host, signedInAs: session.name, roles: session.roles, pending: previous?.pending ?? [], ...(previous?.problem ? { problem: previous.problem } : {}) });
    if (!this.watched) {
      this.stopWatch();
      return;
    }
    if (this.watch && this.watch.origin === origin && this.watch.cookie === session.cookie) return;
    this.stopWatch();
    this.watchStarts++;
    const watch = watchTeamApprovals(origin, session, (event) => {
      if (this.watch !== handle) return;
      if (event.kind === 'signed-out') {
        this.log(`team ${host}: the approver session ended (${event.message})`);
        this.watch = undefined;
        this.signedOutMessage = 'Your approver session ended: sign in again.';
        void this.secrets.delete(approverSessionSecretName(origin)).then(() => this.refresh());
        return;
      }
      const now = this.current;
      if (now?.kind !== 'signed-in') return;
      if (event.kind === 'pending') this.show({ kind: 'signed-in', host, signedInAs: now.signedInAs, roles: now.roles, pending: event.pending });
      else this.show({ ...now, problem: event.message });
    });
    const handle = { origin, cookie: session.cookie, stop: () => watch.stop() };
    this.watch = handle;
  }

  /** Decides as the signed-in person; resolves with the service's answer, rejects with what to tell the person. */
  async decide(params: { approvalId: string; digest: string; approve: boolean; reason?: string }): Promise<TeamResults['team.decide']> {
    const origin = this.origin();
    const session = origin ? await this.session(origin) : undefined;
    if (!origin || !session) throw new Error('You are not signed in as approver: sign in again, then decide.');
    const shown = this.current?.kind === 'signed-in' ? this.current.pending.find((a) => a.id === params.approvalId) : undefined;
    const result = await decideTeamApproval(origin, session, { id: params.approvalId, digest: params.digest }, params.approve, params.reason);
    const what = shown ? `${shown.server}/${shown.tool}` : params.approvalId;
    if (!result.ok) {
      const refusal = describeTeamRefusal(result);
      this.log(`team approval ${what}: the team control plane refused the decision of ${session.name}: ${result.status}${result.code ? ` ${result.code}` : ''}`);
      if (refusal.signedOut) {
        this.stopWatch();
        this.signedOutMessage = 'Your approver session ended: sign in again.';
        await this.secrets.delete(approverSessionSecretName(origin));
        await this.refresh();
      }
      throw new Error(refusal.text);
    }
    this.log(`team approval ${what} ${params.approve ? 'approved' : 'rejected'} as ${result.decidedBy ?? session.name}${result.status === 'pending' ? ' (waiting for another approver)' : ''}`);
    return { status: result.status, ...(result.note ? { note: result.note } : {}), ...(result.decidedBy ? { decidedBy: result.decidedBy } : {}) };
  }

  /** What the section shows and whether the service is followed (for tests). */
  snapshot(): { section: TeamSection | null; signedInAs?: string; pending: Array<{ id: string; server: string; tool: string; digest: string; requestedBy?: string }>; watching: boolean; watchStarts: number } {
    const s = this.current;
    return {
      section: s,
      ...(s?.kind === 'signed-in' ? { signedInAs: s.signedInAs } : {}),
      pending: s?.kind === 'signed-in' ? s.pending.map((a: ApprovalView) => ({ id: a.id, server: a.server, tool: a.tool, digest: a.digest, ...(a.requestedBy ? { requestedBy: a.requestedBy } : {}) })) : [],
      watching: this.watch !== undefined,
      watchStarts: this.watchStarts,
    };
  }

  private show(section: TeamSection | null): void {
    if (JSON.stringify(section) === JSON.stringify(this.current)) return;
    this.current = section;
    this.changed.fire();
  }

  private stopWatch(): void {
    this.watch?.stop();
    this.watch = undefined;
  }

  dispose(): void {
    this.stopWatch();
    for (const d of this.disposables) d.dispose();
  }
}
