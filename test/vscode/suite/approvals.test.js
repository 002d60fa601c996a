// Human approval in a real VS Code: a destructive git call (reset --hard over an uncommitted
// change) made through vscode.lm.invokeTool waits in the gateway; the Approvals webview view
// receives it (badge, notification) and approving it from the view lets the call finish.
//
// How the view is "clicked": a test in the extension host cannot reach into a webview's DOM, so
// the extension exposes, only when it runs in ExtensionMode.Test, a hook that hands the Approvals
// view's host the very message its Approve button posts. The message takes the same path as the
// button's: zod validation, the shared request handler, `UiBackend.decide` as `vscode-ui`. The
// button itself is exercised in a real browser by test/integration/web-ui/browser.test.ts (same
// bundle). Tests run in order and share state.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { definitionId, startServerAndWaitForTools, resultText } = require('../lib/mcp');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');

const EXTENSION_ID = 'mcp-control-plane.mcp-control-plane';
const APPROVALS_VIEW = 'mcpControlPlane.approvals';

describe('Approvals in VS Code', function () {
  this.timeout(120_000);

  /** @type {{ oversight?: import('../../../src/extension/webviews').OversightTestHooks }} */
  let api;
  /** @type {import('../../../src/extension/webviews').OversightTestHooks} */
  let hooks;
  let gitPrefix;
  let readme;
  let original;
  /** The reset call in flight, and whether it settled. */
  let call;
  let settled = false;

  after(() => {
    // Leave the workspace clean for the other files of the suite, whatever happened here.
    if (readme && original !== undefined && fs.readFileSync(readme, 'utf8') !== original) fs.writeFileSync(readme, original);
  });

  it('activates with the oversight test hooks (test mode only)', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
    await api.ready; // activate() returns before the control plane has started
    assert.ok(api.oversight, 'the extension API has no `oversight` test hooks: registerOversightViews(...).testHooks is not exposed in test mode');
    hooks = api.oversight;
  });

  it('opens the Approvals view, whose webview says ready', async () => {
    await vscode.commands.executeCommand(`${APPROVALS_VIEW}.focus`);
    await waitFor('the Approvals webview to say ready', () => hooks.approvalsView().ready, { timeout: 30_000 });
    const view = hooks.approvalsView();
    assert.equal(view.resolved, true);
    assert.deepEqual(view.pending, []);
    assert.equal(view.badge, undefined);
  });

  it('git tools are live in vscode.lm.tools', async () => {
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, 'git'), (t) => /^mcp_.+_reset$/.test(t.name));
    gitPrefix = tools[0].name.slice(0, -'reset'.length);
  });

  it('a hard reset over an uncommitted change waits for approval, shown in the view with its preview', async () => {
    const root = vscode.workspace.workspaceFolders[0].uri.fsPath;
    readme = path.join(root, 'README.md');
    original = fs.readFileSync(readme, 'utf8');
    fs.writeFileSync(readme, `${original}\nAn uncommitted line that a hard reset discards.\n`);
    call = vscode.lm.invokeTool(`${gitPrefix}reset`, { input: { mode: 'hard' }, toolInvocationToken: undefined });
    call.then(() => (settled = true), () => (settled = true));
    const pending = await waitFor('the reset to reach the Approvals view', () => hooks.approvalsView().pending.find((a) => a.server === 'git' && a.tool === 'reset'), { timeout: 30_000 });
    assert.deepEqual(pending.args, { mode: 'hard' });
    assert.match(pending.preview ?? '', /Uncommitted changes discarded in 1 file:\s+README\.md/);
    await waitFor('the badge to count it', () => hooks.approvalsView().badge === 1);
    await waitFor('a notification for it', () => hooks.notifications().some((t) => t.startsWith('Approval needed: reset on git')));
    // A destructive call: the notification offers Review only, and an Approve "pressed" on it is refused.
    assert.deepEqual(hooks.notificationButtons(pending.id), ['Review']);
    await assert.rejects(hooks.pressNotification(pending.id, 'Approve'), /offers Review, not Approve/);
    assert.equal(settled, false, 'the call must wait for the human');
    assert.match(fs.readFileSync(readme, 'utf8'), /An uncommitted line/, 'nothing ran before the approval');
  });

  it('a message without the digest the human saw is refused, and the call keeps waiting', async () => {
    const [pending] = hooks.approvalsView().pending;
    const response = await hooks.postFromApprovalsView({ type: 'request', id: 't0', method: 'approval.decide', params: { approvalId: pending.id, approve: true } });
    assert.equal(response, undefined, 'an invalid message gets no answer');
    const wrong = await hooks.postFromApprovalsView({ type: 'request', id: 't1', method: 'approval.decide', params: { approvalId: pending.id, digest: '0'.repeat(64), approve: true } });
    assert.equal(wrong.ok, false);
    assert.match(wrong.error, /other arguments/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false);
    assert.equal(hooks.approvalsView().pending.length, 1);
  });

  it('approving it in the Approvals view lets the call finish', async () => {
    const [pending] = hooks.approvalsView().pending;
    const started = Date.now();
    const response = await hooks.postFromApprovalsView({ type: 'request', id: 't2', method: 'approval.decide', params: { approvalId: pending.id, digest: pending.digest, approve: true, reason: 'discard the test line' } });
    assert.deepEqual(response, { type: 'response', id: 't2', ok: true, result: { status: 'approved', decidedBy: 'vscode-ui' } });
    const result = await call;
    note(`reset finished ${Date.now() - started} ms after the approval`);
    assert.match(resultText(result), /^Done: hard reset of main/);
    assert.equal(fs.readFileSync(readme, 'utf8'), original, 'the uncommitted line is gone');
    await waitFor('the view to show nothing pending', () => hooks.approvalsView().pending.length === 0);
    await waitFor('the badge to clear', () => hooks.approvalsView().badge === undefined);
  });

  it('a notification of an approval decided in the view keeps no button that acts', async () => {
    // A rule of the user's makes a non-destructive call wait, so its notification has Approve.
    const section = vscode.workspace.getConfiguration('mcpControlPlane');
    await section.update('policy.rules', [{ id: 'ux-stale-test', server: 'git', tool: 'branch_create', decision: 'approve' }], vscode.ConfigurationTarget.Global);
    const root = vscode.workspace.workspaceFolders[0].uri.fsPath;
    const branchExists = () => fs.existsSync(path.join(root, '.git', 'refs', 'heads', 'ux-stale-button'));
    try {
      let create;
      let done = false;
      const pending = await waitFor('branch_create to wait for approval', async () => {
        const found = hooks.approvalsView().pending.find((a) => a.tool === 'branch_create');
        if (found) return found;
        if (create !== undefined && done) {
          // The call ran before the settings reached the policy: undo it and call again.
          if (branchExists()) execFileSync('git', ['branch', '-D', 'ux-stale-button'], { cwd: root });
          create = undefined;
        }
        if (create === undefined) {
          done = false;
          create = vscode.lm.invokeTool(`${gitPrefix}branch_create`, { input: { name: 'ux-stale-button' }, toolInvocationToken: undefined });
          create.then(() => (done = true), () => (done = true));
        }
        return undefined;
      }, { timeout: 30_000, interval: 500 });
      await waitFor('its notification', () => hooks.notificationButtons(pending.id));
      assert.deepEqual(hooks.notificationButtons(pending.id), ['Review', 'Reject', 'Approve'], 'Review first (the primary button), Approve last');
      // Rejected in the Approvals view…
      const response = await hooks.postFromApprovalsView({ type: 'request', id: 't3', method: 'approval.decide', params: { approvalId: pending.id, digest: pending.digest, approve: false, reason: 'not now' } });
      assert.equal(response.ok, true, JSON.stringify(response));
      await create.then(() => undefined, () => undefined);
      // …then Approve pressed on the old notification: it says so and nothing runs.
      const said = await hooks.pressNotification(pending.id, 'Approve');
      assert.match(said, /^branch_create on git was already rejected in VS Code( \(.*\))? at (today|yesterday) \d\d:\d\d:\d\d\. Your Approve did nothing\.$/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(branchExists(), false, 'the stale Approve created the branch');
    } finally {
      await section.update('policy.rules', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('the dashboard opens as a panel', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.dashboard.open');
    await waitFor('the dashboard panel', () => hooks.dashboardOpen());
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
