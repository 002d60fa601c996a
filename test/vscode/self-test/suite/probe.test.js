// Proves the harness end to end with the probe extension: activation, commands, and the MCP path
// the real extension relies on (provider → start → vscode.lm.tools → invokeTool → our server).
'use strict';

const assert = require('node:assert/strict');
const vscode = require('vscode');
const { definitionId, startServerAndWaitForTools, toolPrefix, toolsWithPrefix, resultText } = require('../../lib/mcp');
const { waitFor } = require('../../lib/wait');

const EXTENSION_ID = 'mcpcp-test.harness-probe';

describe('harness probe', () => {
  let api;

  before(async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
  });

  it('runs in the extension host of a real VS Code with the fixture workspace open', () => {
    assert.match(vscode.version, /^1\.\d+\.\d+/);
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder');
    assert.equal(folder.uri.scheme, 'file');
    assert.ok(require('node:fs').existsSync(require('node:path').join(folder.uri.fsPath, '.git')), 'workspace is not a git repository');
  });

  it('executes a contributed command', async () => {
    assert.equal(await vscode.commands.executeCommand('harnessProbe.hello', 'harness'), 'hello harness');
  });

  it('starts the provided MCP server and lists its tools in vscode.lm.tools', async () => {
    assert.equal(toolPrefix('probe'), 'mcp_probe_');
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, 'probe'), toolPrefix('probe'));
    assert.deepEqual(tools.map((t) => t.name), ['mcp_probe_echo']);
    assert.equal(tools[0].description, 'Returns the text it is given.');
  });

  it('round-trips vscode.lm.invokeTool through the MCP server', async () => {
    const result = await vscode.lm.invokeTool('mcp_probe_echo', { input: { text: 'ping' }, toolInvocationToken: undefined });
    assert.equal(resultText(result), 'echo: ping');
    assert.deepEqual(api.calls(), ['ping']);
  });

  it('removes the tools when the provider drops the definition', async () => {
    api.setEnabled(false);
    await waitFor('mcp_probe_* tools to disappear', () => toolsWithPrefix('mcp_probe_').length === 0);
    api.setEnabled(true);
  });
});
