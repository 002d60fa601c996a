// Settings in human units, in a real VS Code: a deprecated `…Ms` setting still applies and the
// extension says which setting replaces it (log and notification); with both set, the message says
// the new one wins. Removes what it set.
'use strict';

const assert = require('node:assert/strict');
const vscode = require('vscode');
const { activateExtension } = require('../lib/control-plane');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');

const EXTENSION_ID = 'mcp-control-plane.mcp-control-plane';

describe('Settings in human units', function () {
  this.timeout(60_000);
  const section = () => vscode.workspace.getConfiguration('mcpControlPlane');
  let log;

  before(async () => {
    await activateExtension();
    await vscode.commands.executeCommand(`workbench.action.output.show.${EXTENSION_ID}.MCP Control Plane.log`);
    log = await waitFor('the MCP Control Plane output channel', () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && /MCP Control Plane\.log$/.test(decodeURIComponent(d.uri.path))), { timeout: 10_000 });
  });

  after(async () => {
    await section().update('approvals.expiryMs', undefined, vscode.ConfigurationTarget.Global);
    await section().update('approvals.expiry', undefined, vscode.ConfigurationTarget.Global);
  });

  it('contributes the human-unit settings with text defaults, and the old ones as deprecated', () => {
    const props = vscode.extensions.getExtension(EXTENSION_ID).packageJSON.contributes.configuration.properties;
    assert.equal(props['mcpControlPlane.approvals.expiry'].default, '5m');
    assert.match(props['mcpControlPlane.approvals.expiryMs'].deprecationMessage, /use mcpControlPlane\.approvals\.expiry/);
    assert.equal(section().get('approvals.expiry'), '5m');
  });

  it('a deprecated …Ms setting is logged with the key that replaces it', async () => {
    await section().update('approvals.expiryMs', 600_000, vscode.ConfigurationTarget.Global);
    await waitFor('the deprecation warning in the log', () => log.getText().includes('mcpControlPlane.approvals.expiryMs is deprecated: write mcpControlPlane.approvals.expiry: "10m" instead'), { timeout: 15_000 });
  });

  it('with both set, the warning says the new setting wins', async () => {
    await section().update('approvals.expiry', '2m', vscode.ConfigurationTarget.Global);
    await waitFor('the "wins" warning in the log', () => log.getText().includes('mcpControlPlane.approvals.expiryMs is deprecated and ignored: mcpControlPlane.approvals.expiry ("2m") is also set and wins'), { timeout: 15_000 });
    note(log.getText().split('\n').filter((l) => l.includes('deprecated')).slice(-1)[0]);
  });
});
