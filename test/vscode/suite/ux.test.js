// One truth about server state, and no dead ends, in a real VS Code: a server the user adds in
// the user settings runs, but VS Code has no session with it yet (its MCP list shows it Stopped):
// the Servers tree says "VS Code not connected yet" with Connect, which opens VS Code's session.
// Disabled, it stays listed with Enable; Enable from that row brings it back. Runs last (files
// run in name order) and removes its setting.
'use strict';

const assert = require('node:assert/strict');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');

const EXTENSION_ID = 'mcp-control-plane.mcp-control-plane';
const NAME = 'ux-memory';

describe('Servers tree: connection state and next steps', function () {
  this.timeout(120_000);

  let api;
  const treeRow = (name) => api.treeSnapshot().find((row) => row.label === name);
  const section = () => vscode.workspace.getConfiguration('mcpControlPlane');
  let before;

  after(async () => {
    await section().update('servers', before, vscode.ConfigurationTarget.Global);
  });

  it('a server added in the user settings runs; the tree says VS Code has not connected yet, with Connect', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    api = await ext.activate();
    await api.ready; // activate() returns before the control plane has started
    const memoryBin = path.join(path.dirname(require.resolve('@modelcontextprotocol/server-memory/package.json', { paths: [ext.extensionPath] })), 'dist', 'index.js');
    before = section().inspect('servers')?.globalValue;
    await section().update(
      'servers',
      { ...(before ?? {}), [NAME]: { command: process.execPath, args: [memoryBin], env: { MEMORY_FILE_PATH: path.join(os.tmpdir(), `mcpcp-ux-memory-${process.pid}.jsonl`) } } },
      vscode.ConfigurationTarget.Global,
    );
    await waitFor(`${NAME} to run with tools`, () => api.servers().find((s) => s.name === NAME && s.state === 'running' && s.toolCount > 0), { timeout: 45_000 });
    assert.equal(api.serverSessions(NAME), 0, 'nobody has connected to the new server yet');
    const row = await waitFor('the tree row', () => treeRow(NAME));
    assert.match(row.description ?? '', /^running · up \d+s · VS Code not connected yet$/);
    assert.equal(row.children[0], 'VS Code not connected yet (it connects on first use): Connect');
  });

  it('Connect opens VS Code\'s session with it, and the tree follows', async () => {
    // Right after the definitions change the workbench may not know the server yet: press again.
    let presses = 0;
    await waitFor('a VS Code session on the server', async () => {
      if (api.serverSessions(NAME) > 0) return true;
      presses++;
      await vscode.commands.executeCommand('mcpControlPlane.server.connect', NAME);
      return api.serverSessions(NAME) > 0;
    }, { timeout: 45_000, interval: 1_500 });
    note(`connected after ${presses} Connect press(es)`);
    const row = treeRow(NAME);
    assert.doesNotMatch(row.description ?? '', /not connected/);
    assert.ok(!row.children.some((c) => /not connected/.test(c)), `children: ${row.children.join(', ')}`);
    assert.ok(row.children.includes('read_graph'), `children: ${row.children.join(', ')}`);
  });

  it('disabled, it stays in the tree as "disabled", and Enable from that row brings it back', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.server.disable', NAME);
    await waitFor(`${NAME} to stop`, () => !api.servers().some((s) => s.name === NAME), { timeout: 30_000 });
    const row = await waitFor('the disabled row', () => (treeRow(NAME)?.description === 'disabled' ? treeRow(NAME) : undefined));
    assert.deepEqual(row.children, []);
    // The row's inline Enable passes the tree node, as a click does.
    await vscode.commands.executeCommand('mcpControlPlane.server.enable', { kind: 'disabled', name: NAME });
    await waitFor(`${NAME} to run again`, () => api.servers().find((s) => s.name === NAME && s.state === 'running'), { timeout: 45_000 });
    assert.equal(section().inspect('servers')?.globalValue?.[NAME]?.enabled, true);
  });
});
