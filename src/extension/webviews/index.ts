import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import type { UiBackend } from '../../core/oversight/ui-backend';
import { StateFeed } from '../../core/web-ui';
import type { DashboardState, TeamSection } from '../../protocol/ui';
import { ApprovalsViewProvider } from './approvals-view';
import { DashboardPanel } from './dashboard-panel';
import { ApprovalNotifier } from './notifications';
import { PolicyTestPanel } from './policy-test-panel';
import { DEFAULT_WINDOW_MS, type ApprovalCardActions, type TeamApprovalsSource } from './webview-connection';

export { ApprovalsViewProvider } from './approvals-view';
export { DASHBOARD_PANEL_TYPE, DashboardPanel } from './dashboard-panel';
export { ApprovalNotifier } from './notifications';
export { POLICY_TEST_PANEL_TYPE, PolicyTestPanel } from './policy-test-panel';
export { DEFAULT_WINDOW_MS, WebviewConnection, mediaRoot, webviewHtml, webviewOptions, type ApprovalCardActions, type TeamApprovalsSource } from './webview-connection';

export interface OversightViewsOptions {
  /** Id of the Approvals view (a `"type": "webview"` view in the activity-bar container). */
  readonly approvalsViewId: string;
  /** Id of the command that opens the dashboard panel. */
  readonly dashboardCommand: string;
  /** Id of the command that picks a draft policy and opens the Test Policy panel (what-if). */
  readonly testPolicyCommand?: string;
  /**
   * A view that carries the pending-count badge until the Approvals view is first opened (a webview
   * view exists only once resolved): pass the Servers tree view.
   */
  readonly badgeFallback?: { badge?: vscode.ViewBadge | undefined };
  /** A notification per new pending approval (Review first; destructive calls: Review only). Default true. */
  readonly notify?: boolean;
  /** Whether a tool is destructive: its notifications offer Review only. Default: every tool is. */
  readonly isDestructive?: (server: string, tool: string) => boolean;
  readonly log?: (message: string) => void;
  /** "Allow this tool from now on…" on an approval card (VS Code's host resolves the tool, a modal asks). */
  readonly cardActions?: ApprovalCardActions;
  /** The team control plane's pending approvals, shown as a "Team · <host>" section of the Approvals view. */
  readonly team?: TeamApprovalsSource;
}

/** The team section of the Approvals view as a test reads it. */
export type TeamSectionForTest =
  | null
  | undefined
  | { kind: 'signed-out' | 'signing-in'; host: string; message?: string }
  | { kind: 'signed-in'; host: string; signedInAs: string; problem?: string; pending: Array<{ id: string; server: string; tool: string; digest: string; args: unknown; requestedBy?: string; requestedByRoles?: string[]; approvals?: { given: number; required: number; by: string[] } }> };

/** What a test (and only a test: the extension in `ExtensionMode.Test`) may do with the views. */
export interface OversightTestHooks {
  /** The Approvals view as VS Code and its webview see it. */
  approvalsView(): {
    resolved: boolean;
    /** Its webview said `ready` and receives state. */
    ready: boolean;
    badge: number | undefined;
    /** The pending approvals in the state last posted to the webview. */
    pending: Array<{ id: string; server: string; tool: string; digest: string; args: unknown; preview: string | undefined; canAlwaysAllow: boolean }>;
    /**
     * The "Team · <host>" section as last posted to the webview: null without a team URL, the
     * sign-in row (`signed-out`), or the team's pending approvals as its cards show them.
     */
    team: TeamSectionForTest;
  };
  /**
   * Delivers `message` to the Approvals view's host exactly as the webview's `postMessage` does (the
   * Approve button posts `{ type: 'request', id, method: 'approval.decide', params: { approvalId,
   * digest, approve, reason? } }`): same zod validation, same handler, decider `vscode-ui`. A team
   * card's button posts `method: 'team.decide'` with the same params (decided at the team control
   * plane with the approver session), the sign-in row's `method: 'team.signIn'` with `{}`. Resolves
   * with the response the webview is sent. Fails when the view has no live webview.
   */
  postFromApprovalsView(message: unknown): Promise<unknown>;
  /** Texts of the approval notifications shown. */
  notifications(): readonly string[];
  /** The buttons the notification of an approval offered, safest (primary) first. */
  notificationButtons(approvalId: string): readonly string[] | undefined;
  /** Presses a notification's button through the click's own path; resolves with what the person is told. */
  pressNotification(approvalId: string, button: 'Approve' | 'Reject'): Promise<string>;
  dashboardOpen(): boolean;
  /**
   * Opens the Test Policy panel with a draft (as the command does after its file dialog) and
   * resolves once the draft was posted; `postFromPolicyTest` then delivers messages to its host.
   */
  openPolicyTest(draft: { name: string; text: string }): Promise<void>;
  postFromPolicyTest(message: unknown): Promise<unknown>;
}

export interface OversightViews extends vscode.Disposable {
  /** Opens (or reveals) the dashboard panel. */
  openDashboard(): void;
  /** Defined only when the extension runs in `ExtensionMode.Test`; never in a user's VS Code. */
  readonly testHooks: OversightTestHooks | undefined;
}

/**
 * Registers the human-oversight UI of VS Code: the Approvals webview view (badge = pending count),
 * the dashboard panel and its command, and the approval notifications. Call once from `activate`
 * after the control plane started; everything is disposed with `context.subscriptions`. No command
 * decides an approval: deciding takes a button in these views or a notification.
 */
export function registerOversightViews(context: vscode.ExtensionContext, backend: UiBackend | (() => UiBackend), options: OversightViewsOptions): OversightViews {
  const log = options.log ?? (() => undefined);
  const feed = new StateFeed(backend, { onError: (err) => log(`oversight UI: state failed: ${errorMessage(err)}`) });
  const getBackend = (): UiBackend => feed.backend;
  const approvals = new ApprovalsViewProvider(context.extensionUri, feed, getBackend, log, options.cardActions, options.team);
  const dashboard = new DashboardPanel(context.extensionUri, feed, getBackend, log);
  const policyTest = new PolicyTestPanel(context.extensionUri, feed, getBackend, log);
  const review = (): void => void vscode.commands.executeCommand(`${options.approvalsViewId}.focus`);
  const notifier = options.notify === false ? undefined : new ApprovalNotifier(getBackend, review, log, options.isDestructive);

  let pendingCount = 0;
  const renderFallbackBadge = (): void => {
    if (options.badgeFallback === undefined) return;
    options.badgeFallback.badge = !approvals.resolved && pendingCount > 0 ? { value: pendingCount, tooltip: `${pendingCount} approval${pendingCount === 1 ? '' : 's'} pending` } : undefined;
  };
  const onState = (state: DashboardState): void => {
    pendingCount = state.pending.length;
    approvals.setPending(pendingCount);
    renderFallbackBadge();
    notifier?.update(state.pending);
  };
  // Badge and notifications follow changes only; open views also refresh periodically.
  const watcher = feed.subscribe(DEFAULT_WINDOW_MS, onState, { periodic: false });
  watcher.refresh();

  const disposables: vscode.Disposable[] = [
    vscode.window.registerWebviewViewProvider(options.approvalsViewId, approvals),
    vscode.commands.registerCommand(options.dashboardCommand, () => dashboard.show()),
    ...(options.testPolicyCommand !== undefined ? [vscode.commands.registerCommand(options.testPolicyCommand, () => policyTest.pickAndShow())] : []),
    policyTest,
    approvals.onDidResolve(renderFallbackBadge),
    approvals,
    dashboard,
    { dispose: () => watcher.dispose() },
    { dispose: () => feed.dispose() },
  ];
  for (const d of disposables) context.subscriptions.push(d);

  const testHooks: OversightTestHooks | undefined =
    context.extensionMode === vscode.ExtensionMode.Test
      ? {
          approvalsView: () => ({
            resolved: approvals.resolved,
            ready: approvals.current?.ready ?? false,
            badge: approvals.badge,
            pending: (approvals.current?.lastState?.pending ?? []).map((a) => ({ id: a.id, server: a.server, tool: a.tool, digest: a.digest, args: a.args, preview: a.preview.text, canAlwaysAllow: a.canAlwaysAllow === true })),
            team: teamForTest(approvals.current?.lastTeam),
          }),
          postFromApprovalsView: async (message) => {
            const connection = approvals.current;
            if (connection === undefined) throw new Error('the Approvals view has no live webview: open it first');
            return connection.receive(message);
          },
          notifications: () => notifier?.shown ?? [],
          notificationButtons: (id) => notifier?.buttonsFor(id),
          pressNotification: async (id, button) => {
            if (notifier === undefined) throw new Error('notifications are off');
            return notifier.press(id, button);
          },
          dashboardOpen: () => dashboard.current !== undefined,
          openPolicyTest: (draft) => policyTest.show(draft),
          postFromPolicyTest: async (message) => {
            const connection = policyTest.current;
            if (connection === undefined) throw new Error('the Test Policy panel is not open');
            return connection.receive(message);
          },
        }
      : undefined;

  return {
    openDashboard: () => dashboard.show(),
    testHooks,
    dispose: () => {
      for (const d of disposables) d.dispose();
    },
  };
}

function teamForTest(team: TeamSection | null | undefined): TeamSectionForTest {
  if (team === null || team === undefined) return team;
  if (team.kind !== 'signed-in') return { kind: team.kind, host: team.host, ...(team.kind === 'signed-out' && team.message ? { message: team.message } : {}) };
  return {
    kind: 'signed-in',
    host: team.host,
    signedInAs: team.signedInAs,
    ...(team.problem ? { problem: team.problem } : {}),
    pending: team.pending.map((a) => ({ id: a.id, server: a.server, tool: a.tool, digest: a.digest, args: a.args, ...(a.requestedBy ? { requestedBy: a.requestedBy } : {}), ...(a.requestedByRoles ? { requestedByRoles: a.requestedByRoles } : {}), ...(a.approvals ? { approvals: a.approvals } : {}) })),
  };
}
