// VS Code's Approvals view: the "Team · <host>" section under the window's own approvals. The host
// (the extension) reads the team control plane with the person's separate approver sign-in and
// posts the section; the page shows it with the same cards as local approvals and asks the host
// to sign in or decide. Nothing here talks to the service, and nothing from it is parsed as HTML.
import type { TeamSection } from '../../../src/protocol/ui';
import { h } from '../dom';
import { PendingApprovals, type ApprovalActions } from './approvals';

export interface TeamActions {
  /** The sign-in row's button: the host starts the separate approver sign-in (browser). */
  signIn(): Promise<{ signedIn: boolean; name?: string; message?: string }>;
  /** A card's Approve/Reject through the approver session; rejects with plain words. */
  decide: ApprovalActions['decide'];
  announce(text: string): void;
}

export class TeamApprovalsSection {
  readonly el: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly signInRow: HTMLElement;
  private readonly signInText: HTMLParagraphElement;
  private readonly signInButton: HTMLButtonElement;
  private readonly signInStatus: HTMLParagraphElement;
  private readonly who: HTMLParagraphElement;
  private readonly problem: HTMLParagraphElement;
  private readonly cards: PendingApprovals;
  private busy = false;

  constructor(private readonly actions: TeamActions) {
    this.heading = h('h2', { id: 'team-heading' }, 'Team');
    this.signInText = h('p', { class: 'team-sign-in-text' }, 'Sign in as approver to see the team\'s approvals');
    this.signInButton = h('button', { type: 'button', class: 'team-sign-in' }, 'Sign in as approver…');
    this.signInStatus = h('p', { class: 'card-status', role: 'status' });
    this.signInRow = h('div', { class: 'team-sign-in-row' }, this.signInText, this.signInButton, this.signInStatus);
    this.who = h('p', { class: 'muted team-who' });
    this.problem = h('p', { class: 'card-status error team-problem', role: 'alert' });
    this.cards = new PendingApprovals({ decide: (a, yes, reason) => this.actions.decide(a, yes, reason), announce: (t) => this.actions.announce(`Team: ${t}`) }, 'h3', {
      idPrefix: 'team-',
      title: 'Pending on the team',
      emptyText: 'No team approvals pending.',
    });
    this.signInButton.addEventListener('click', () => this.startSignIn());
    this.el = h('section', { class: 'team', 'aria-labelledby': 'team-heading', hidden: true }, this.heading, this.signInRow, this.who, this.problem, this.cards.el);
  }

  update(team: TeamSection | null): void {
    this.el.hidden = team === null;
    if (team === null) return;
    this.heading.textContent = `Team · ${team.host}`;
    const signedIn = team.kind === 'signed-in';
    this.signInRow.hidden = signedIn;
    this.who.hidden = !signedIn;
    this.cards.el.hidden = !signedIn;
    this.problem.hidden = !(signedIn && team.problem !== undefined);
    if (team.kind === 'signing-in') {
      this.signInText.textContent = 'Signing in as approver: finish in the browser…';
      this.signInButton.setAttribute('aria-disabled', 'true');
      return;
    }
    this.signInButton.setAttribute('aria-disabled', String(this.busy));
    if (team.kind === 'signed-out') {
      this.signInText.textContent = 'Sign in as approver to see the team\'s approvals';
      this.signInStatus.textContent = team.message ?? '';
      this.cards.update([]);
      return;
    }
    this.signInStatus.textContent = '';
    this.who.textContent = `Signed in as ${team.signedInAs}${team.roles.length > 0 ? ` (${team.roles.join(', ')})` : ''}: your decisions are recorded with your name.`;
    this.problem.textContent = team.problem !== undefined ? `The team's approvals may be out of date: ${team.problem}` : '';
    this.cards.update(team.pending);
  }

  tick(now: number): void {
    this.cards.tick(now);
  }

  private startSignIn(): void {
    if (this.busy) return;
    this.busy = true;
    this.signInButton.setAttribute('aria-disabled', 'true');
    this.signInStatus.className = 'card-status';
    this.signInStatus.textContent = 'Opening the sign-in in your browser…';
    this.actions.signIn().then(
      (r) => {
        this.busy = false;
        this.signInButton.setAttribute('aria-disabled', 'false');
        this.signInStatus.textContent = r.signedIn ? `Signed in as ${r.name ?? '?'}.` : `Not signed in: ${r.message ?? 'the sign-in did not finish'}`;
        if (r.signedIn) this.actions.announce(`Signed in as approver: ${r.name ?? ''}`);
      },
      (err: unknown) => {
        this.busy = false;
        this.signInButton.setAttribute('aria-disabled', 'false');
        this.signInStatus.className = 'card-status error';
        this.signInStatus.textContent = `Not signed in: ${err instanceof Error ? err.message : String(err)}`;
      },
    );
  }
}
