// Screenshots of what a user sees, from the real workbench, in the light and the dark theme, under
// test-results/vscode/screenshots/: the Servers tree, an approval card in the (narrow) sidebar, the
// dashboard and the Get Started walkthrough. Each also checks what it shows, so a blank picture
// fails. Skipped where nothing answers workbench requests (a launcher other than run.mjs).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { activateExtension, openApprovalsView, waitForPending, decide, rejectPending, waitForServer } = require('../lib/control-plane');
const { definitionId, startServerAndWaitForTools } = require('../lib/mcp');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');
const { canDriveWorkbench, screenshot, workbenchText, inBothThemes, setViewport } = require('../lib/workbench');

const EXTENSION_ID = 'mcp-control-plane.mcp-control-plane';
const SIDEBAR = '.part.sidebar';

describe('Screenshots (light and dark)', function () {
  this.timeout(180_000);
  let api;
  let hooks;
  let readme;
  let original;

  before(async function () {
    if (!canDriveWorkbench()) this.skip();
    api = await activateExtension();
    await waitForServer(api, 'git', 'running', (s) => s.toolCount > 0);
    // What earlier files left open (output panel, editors) is not part of these pictures.
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  after(async () => {
    await rejectPending(hooks, 'git');
    if (readme && original !== undefined) fs.writeFileSync(readme, original);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  const shootBoth = async (name, options) => {
    const files = [];
    await inBothThemes(async (theme) => files.push(await screenshot(`${name}-${theme}`, options)));
    for (const f of files) assert.ok(fs.statSync(f).size > 2_000, `${f} is (nearly) empty`);
    note(`${files.map((f) => path.basename(f)).join(', ')}`);
  };

  it('the Servers tree and the status bar', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.servers.focus');
    const sidebar = await waitFor('the tree to show git running', async () => {
      const t = await workbenchText(SIDEBAR).catch(() => '');
      return /git/.test(t) && /running/.test(t) ? t : undefined;
    });
    assert.match(sidebar, /SERVERS/i);
    assert.match(await workbenchText('.part.statusbar'), /MCP \d+\/\d+ · \d+ tools/);
    await shootBoth('tree', { selector: SIDEBAR });
    await shootBoth('workbench-tree');
  });

  it('an approval card in the narrow sidebar: the whole card, preview and buttons', async () => {
    const root = vscode.workspace.workspaceFolders[0].uri.fsPath;
    readme = path.join(root, 'README.md');
    original = fs.readFileSync(readme, 'utf8');
    fs.writeFileSync(readme, `${original}\nAn uncommitted line that a hard reset would discard.\n`);
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, 'git'), (t) => /^mcp_.+_reset$/.test(t.name));
    hooks = await openApprovalsView(api);
    const call = vscode.lm.invokeTool(tools[0].name, { input: { mode: 'hard' }, toolInvocationToken: undefined });
    call.catch(() => undefined);
    const pending = await waitForPending(hooks, 'git', 'reset');
    assert.equal(pending.server, 'git');
    // The card is inside the view's webview (an iframe: not in the workbench's own text); it renders
    // from the state the view just received.
    await new Promise((r) => setTimeout(r, 1_000));
    // A tall window, so that the whole card (preview, arguments, buttons) is in the picture; the
    // sidebar keeps its default, narrow width.
    await setViewport(1280, 1600);
    try {
      await shootBoth('approval-card-sidebar', { selector: SIDEBAR });
    } finally {
      await setViewport(1280, 800);
    }
    const { response } = await decide(hooks, pending, false, 'screenshot taken');
    assert.equal(response.ok, true);
    await call.catch(() => undefined);
    fs.writeFileSync(readme, original);
  });

  it('the dashboard', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.dashboard.open');
    await waitFor('the dashboard to open', () => hooks.dashboardOpen());
    await new Promise((r) => setTimeout(r, 1_500)); // its first state arrives and renders
    await shootBoth('dashboard');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the Get Started walkthrough', async () => {
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#getStarted`, false);
    await waitFor('the walkthrough to render', async () => ((await workbenchText('.gettingStartedContainer').catch(() => '')).includes('Approve a call') ? true : undefined));
    await shootBoth('walkthrough');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
