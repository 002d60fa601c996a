// Activation on startup, in a real VS Code: nothing of the extension is opened or run here, yet it
// is active (onStartupFinished); activate() returns in under 50 ms and the control plane starts
// behind it. The first file of the suite (files run in name order), so that no other test has
// activated the extension before. Also reads VS Code's own figure from Developer: Show Running
// Extensions, and checks the Get Started walkthrough is there.
'use strict';

const assert = require('node:assert/strict');
const vscode = require('vscode');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');
const { canDriveWorkbench, workbenchText } = require('../lib/workbench');

const EXTENSION_ID = 'mcp-control-plane.mcp-control-plane';

describe('Activation on startup', function () {
  this.timeout(90_000);
  let api;

  it('is activated by VS Code at startup, without a view or command of its own', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    assert.ok(ext.packageJSON.activationEvents.includes('onStartupFinished'));
    await waitFor('VS Code to activate the extension (onStartupFinished)', () => ext.isActive, { timeout: 60_000 });
    api = ext.exports;
  });

  it('activate() returns in under 50 ms; the control plane starts after it returned', async () => {
    note(`activate() took ${api.activationMs} ms wall clock, ${api.activationCpuMs} ms of CPU (own measurement: entry to return)`);
    assert.equal(typeof api.activationMs, 'number');
    // The work activate() does, in CPU time: on a machine shared with other jobs the wall clock also
    // counts the time the OS gave the CPU to others (both figures are in the note above).
    assert.ok(api.activationCpuMs < 50, `activate() used ${api.activationCpuMs} ms of CPU (${api.activationMs} ms wall clock)`);
    await api.ready;
    const readyMs = api.readyMs();
    note(`control plane ready ${readyMs} ms after activate() was entered`);
    assert.ok(readyMs > api.activationMs, 'the control plane was ready before activate() returned: it was awaited');
    assert.match(api.gatewayUrl() ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('VS Code\'s own activation time (Developer: Show Running Extensions)', async function () {
    if (!canDriveWorkbench()) this.skip();
    await vscode.commands.executeCommand('workbench.action.showRuntimeExtensions');
    const row = await waitFor('our row in Running Extensions with its activation time', async () => {
      const text = await workbenchText(`.monaco-list-row:has-text("${EXTENSION_ID}"), .monaco-list-row:has-text("MCP Control Plane")`).catch(() => '');
      return /Activation: \d+ms/.test(text) ? text : undefined;
    }, { timeout: 30_000 });
    const ms = Number(/Activation: (\d+)ms/.exec(row)[1]);
    note(`Running Extensions: "${row.replace(/\s+/g, ' ').trim()}" (code loading + activate call: ${ms} ms)`);
    // Why VS Code activated it, from the hover of that figure.
    const reason = await waitFor('the activation reason in the hover', () =>
      workbenchText('.monaco-hover', { hover: `.monaco-list-row:has-text("${EXTENSION_ID}") .activation-time` }).catch(() => undefined), { timeout: 60_000, interval: 500 });
    note(`activation reason: ${reason.replace(/\s+/g, ' ').trim()}`);
    assert.match(reason, /after start-up finished/); // VS Code's words for onStartupFinished
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('has a Get Started walkthrough whose steps name the first things to do', async function () {
    const walkthroughs = vscode.extensions.getExtension(EXTENSION_ID).packageJSON.contributes.walkthroughs;
    assert.deepEqual(walkthroughs.map((w) => w.id), ['getStarted']);
    assert.deepEqual(walkthroughs[0].steps.map((s) => s.id), ['openTree', 'enableServer', 'connectChat', 'approveCall', 'readAudit']);
    if (!canDriveWorkbench()) return;
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#getStarted`, false);
    const text = await waitFor('the walkthrough to render', async () => {
      const t = await workbenchText('.gettingStartedContainer').catch(() => '');
      return t.includes('Get Started with MCP Control Plane') && t.includes('Approve a call') ? t : undefined;
    }, { timeout: 30_000 });
    for (const step of ['Open the Servers tree', 'Enable a server', 'Connect VS Code\'s chat', 'Approve a call', 'Read the audit']) assert.ok(text.includes(step), `walkthrough lacks "${step}"`);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
