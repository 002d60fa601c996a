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
    assert.deepEqual(response, { type: 'response', id: 't2', ok: true, result: { status: 'approved' } });
    const result = await call;
    note(`reset finished ${Date.now() - started} ms after the approval`);
    assert.match(resultText(result), /^Done: hard reset of main/);
    assert.equal(fs.readFileSync(readme, 'utf8'), original, 'the uncommitted line is gone');
    await waitFor('the view to show nothing pending', () => hooks.approvalsView().pending.length === 0);
    await waitFor('the badge to clear', () => hooks.approvalsView().badge === undefined);
  });

  it('the dashboard opens as a panel', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.dashboard.open');
    await waitFor('the dashboard panel', () => hooks.dashboardOpen());
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
