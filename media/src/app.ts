// The UI: header, live region, and the sections of the chosen view, re-rendered from state.
import type { ApprovalView, DashboardState, UiView } from '../../src/protocol/ui';
import type { Channel, ConnectionStatus } from './channel';
import { visible } from '../../src/core/display/visible';
import { h, Slot } from './dom';
import { formatWindow } from './format';
import { PendingApprovals, renderHistory } from './views/approvals';
import { TeamApprovalsSection } from './views/team-approvals';
import { RecentCalls } from './views/calls';
import { UndoPanel } from './views/undo';
import { renderCharts, renderNotices, renderServers, renderTools, renderTotals } from './views/dashboard';
import { PolicyTest } from './views/policy-test';

export interface AppOptions {
  readonly host: 'vscode' | 'web';
  readonly view: UiView;
}

const TITLES: Record<UiView, string> = { dashboard: 'MCP Control Plane', approvals: 'Approvals', 'policy-test': 'Test Policy' };

const WINDOWS = [15 * 60_000, 3_600_000, 6 * 3_600_000, 24 * 3_600_000];
const THEMES = ['auto', 'light', 'dark'] as const;
type Theme = (typeof THEMES)[number];
const THEME_KEY = 'mcpcp.theme';

export class App {
  private state: DashboardState | undefined;
  private readonly live: HTMLElement;
  private readonly status: HTMLElement;
  private readonly pending: PendingApprovals;
  private readonly calls: RecentCalls | undefined;
  private readonly slots: Record<'notices' | 'servers' | 'totals' | 'charts' | 'tools' | 'history', Slot>;
  private readonly windowSelect: HTMLSelectElement | undefined;
  private readonly policyTest: PolicyTest | undefined;
  private readonly undo: UndoPanel;
  /** VS Code's Approvals view: the team control plane's section under the local approvals. */
  private readonly team: TeamApprovalsSection | undefined;

  constructor(private readonly root: HTMLElement, private readonly channel: Channel, private readonly options: AppOptions) {
    const dashboard = options.view === 'dashboard';
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.status = h('span', { class: 'connection', role: 'status' }, 'Connecting…');
    this.pending = new PendingApprovals(
      {
        decide: (approval, approve, reason) => this.channel.request('approval.decide', { approvalId: approval.id, digest: approval.digest, approve, ...(reason.trim() !== '' ? { reason: reason.trim() } : {}) }),
        announce: (text) => this.announce(text),
        ...(options.host === 'vscode' ? { allowTool: (approval: ApprovalView) => this.channel.request('approval.allowTool', { approvalId: approval.id }) } : {}),
      },
      'h2',
    );
    this.undo = new UndoPanel({
      preview: (callId) => this.channel.request('undo.preview', { callId }),
      submit: (callId, digest) => this.channel.request('undo.submit', { callId, digest }),
      announce: (text) => this.announce(text),
    });
    this.team =
      options.host === 'vscode' && options.view === 'approvals'
        ? new TeamApprovalsSection({
            signIn: () => this.channel.request('team.signIn', {}),
            decide: (approval, approve, reason) => this.channel.request('team.decide', { approvalId: approval.id, digest: approval.digest, approve, ...(reason.trim() !== '' ? { reason: reason.trim() } : {}) }),
            announce: (text) => this.announce(text),
          })
        : undefined;
    const slot = (cls: string): Slot => new Slot(h('div', { class: cls }));
    this.slots = { notices: slot('notices'), servers: slot('servers-slot'), totals: slot('totals-slot'), charts: slot('charts-slot'), tools: slot('tools-slot'), history: slot('history-slot') };
    this.calls = dashboard ? new RecentCalls((filter, cursor) => this.channel.request('audit.query', { filter, ...(cursor !== undefined ? { cursor } : {}), limit: 50 })) : undefined;
    this.windowSelect = dashboard ? this.renderWindowSelect() : undefined;
    const testing = options.view === 'policy-test';
    this.policyTest = testing
      ? new PolicyTest({
          run: (params) => this.channel.request('policy.test', params),
          callRecords: (callId) => this.channel.request('audit.query', { filter: { callId }, limit: 50 }),
          announce: (text) => this.announce(text),
        })
      : undefined;

    this.undo.listen(this.slots.history.el);
    if (this.calls !== undefined) this.undo.listen(this.calls.el);
    const section = (id: string, title: string, ...content: HTMLElement[]): HTMLElement =>
      h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...content);
    const header = h(
      'header',
      { class: 'top' },
      h('h1', {}, TITLES[options.view]),
      this.status,
      h('div', { class: 'controls' }, this.windowSelect !== undefined ? h('label', { class: 'inline' }, 'Window ', this.windowSelect) : null, options.host === 'web' ? this.renderWebControls() : null),
    );
    const main = h(
      'main',
      { class: `view-${options.view}` },
      this.slots.notices.el,
      this.pending.el,
      this.team?.el ?? null,
      this.undo.el,
      dashboard ? section('servers-heading', 'Servers', this.slots.servers.el) : null,
      dashboard ? section('calls-heading', 'Calls', this.slots.totals.el, this.slots.charts.el) : null,
      dashboard ? section('tools-heading', 'Tools', this.slots.tools.el) : null,
      dashboard && this.calls !== undefined ? section('recent-heading', 'Recent calls', this.calls.el) : null,
      this.policyTest !== undefined ? section('policy-test-heading', 'Test a draft policy', this.policyTest.el) : null,
      testing ? null : section('history-heading', 'Decided approvals', this.slots.history.el),
    );
    this.root.replaceChildren(header, main, this.live);
  }

  start(): void {
    this.channel.onState((state) => this.render(state));
    this.channel.onStatus((status) => this.showStatus(status));
    this.channel.onDraft?.((name, text) => this.policyTest?.setDraft(name, text));
    const team = this.team;
    if (team !== undefined) this.channel.onTeam?.((section) => team.update(section));
    this.channel.ready(this.options.view);
    window.setInterval(() => {
      this.pending.tick(Date.now());
      this.team?.tick(Date.now());
    }, 1000);
  }

  private render(state: DashboardState): void {
    this.state = state;
    this.pending.update(state.pending);
    const n = state.pending.length;
    document.title = `${n > 0 ? `(${n}) ` : ''}${TITLES[this.options.view]}`;
    this.slots.notices.update(JSON.stringify([state.policy, state.toolBudget]), () => renderNotices(state));
    this.slots.history.update(JSON.stringify(state.history.slice(0, 50).map((a) => [a.id, a.status])), () => renderHistory(state.history, this.options.view === 'dashboard' ? 50 : 20, this.options.view !== 'dashboard'));
    if (this.options.view !== 'dashboard') return;
    if (this.windowSelect !== undefined) this.windowSelect.value = String(state.windowMs);
    this.slots.servers.update(JSON.stringify(state.servers), () => renderServers(state.servers));
    this.slots.totals.update(JSON.stringify([state.windowMs, state.totals]), () => renderTotals(state));
    this.slots.charts.update(JSON.stringify([state.windowMs, state.series]), () => renderCharts(state));
    this.slots.tools.update(JSON.stringify(state.tools), () => renderTools(state.tools));
    this.calls?.update(state.recentCalls, state.servers.map((s) => s.name));
  }

  private showStatus(status: ConnectionStatus): void {
    const text: Record<ConnectionStatus, string> = {
      connecting: 'Connecting…',
      connected: 'Live',
      disconnected: 'Reconnecting…',
      'signed-out': 'Signed out',
    };
    this.status.textContent = text[status];
    this.status.dataset['status'] = status;
    if (status === 'signed-out') {
      this.status.replaceChildren('Signed out · ', h('a', { href: '/ui' }, 'sign in again'));
      this.announce('Signed out of the control plane. Sign in again to approve.');
    }
  }

  private announce(text: string): void {
    // Re-setting the same text would not be read again.
    this.live.textContent = '';
    window.setTimeout(() => (this.live.textContent = visible(text)), 50);
  }

  private renderWindowSelect(): HTMLSelectElement {
    const select = h('select', { 'aria-label': 'Statistics window' }, WINDOWS.map((ms) => h('option', { value: ms }, formatWindow(ms))));
    select.value = String(this.state?.windowMs ?? 3_600_000);
    select.addEventListener('change', () => {
      void this.channel.request('dashboard.setWindow', { windowMs: Number(select.value) }).catch((err: unknown) => this.announce(`Could not change the window: ${String(err)}`));
    });
    return select;
  }

  private renderWebControls(): HTMLElement {
    const stored = localStorage.getItem(THEME_KEY);
    const initial: Theme = THEMES.find((t) => t === stored) ?? 'auto';
    applyTheme(initial);
    const theme = h('select', { 'aria-label': 'Theme', id: 'theme' }, THEMES.map((t) => h('option', { value: t }, t[0]!.toUpperCase() + t.slice(1))));
    theme.value = initial;
    theme.addEventListener('change', () => {
      const chosen = THEMES.find((t) => t === theme.value) ?? 'auto';
      localStorage.setItem(THEME_KEY, chosen);
      applyTheme(chosen);
    });
    const signOut = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
    signOut.addEventListener('click', () => void this.channel.signOut?.().then(() => window.location.assign('/ui')));
    const other = this.options.view === 'dashboard' ? h('a', { href: '/ui?view=approvals' }, 'Approvals only') : h('a', { href: '/ui' }, 'Dashboard');
    const test = this.options.view === 'policy-test' ? null : h('a', { href: '/ui?view=policy-test' }, 'Test policy');
    return h('span', { class: 'web-controls' }, other, test, h('label', { class: 'inline' }, 'Theme ', theme), signOut);
  }
}

function applyTheme(theme: Theme): void {
  if (theme === 'auto') delete document.body.dataset['theme'];
  else document.body.dataset['theme'] = theme;
}
