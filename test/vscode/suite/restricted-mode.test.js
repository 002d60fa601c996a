// Restricted Mode in a real VS Code: the workspace is opened untrusted (run.mjs --untrusted; the
// second session of `npm run test:vscode`). The tree and the status bar say Restricted Mode with
// Trust…, and a git call through the gateway is refused, with a witness: the tag it would have
// created does not exist. Skipped in a trusted window (the main session).
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const vscode = require('vscode');
const { activateExtension, gatewayClient, waitForServer, contentText } = require('../lib/control-plane');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');
const { canDriveWorkbench, screenshot, workbenchText, inBothThemes } = require('../lib/workbench');

describe('Restricted Mode (untrusted workspace)', function () {
  this.timeout(120_000);
  let api;

  before(async function () {
    if (vscode.workspace.isTrusted) this.skip(); // the trusted session; run.mjs --untrusted runs this
    api = await activateExtension();
  });

  it('the tree shows Restricted Mode with Trust…, and git as restricted', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.servers.focus');
    await waitForServer(api, 'git', 'running');
    const rows = await waitFor('the tree to show the Restricted Mode notice and git', () => {
      const r = api.treeSnapshot();
      return r.some((x) => /^Restricted Mode/.test(x.label)) && r.some((x) => x.label === 'git') ? r : undefined;
    });
    const notice = rows.find((x) => /^Restricted Mode/.test(x.label));
    assert.match(notice.label, /git refuses every call\. Trust…$/);
    const git = rows.find((x) => x.label === 'git');
    assert.match(git.description ?? '', /restricted/i);
    assert.ok((await vscode.commands.getCommands(true)).includes('mcpControlPlane.workspace.trust'));
    note(`tree: ${rows.map((x) => `${x.label}${x.description ? ` (${x.description})` : ''}`).join(' | ')}`);
  });

  it('the status bar says Restricted Mode', async function () {
    if (!canDriveWorkbench()) this.skip();
    const text = await waitFor('the status bar to say Restricted Mode', async () => {
      const t = await workbenchText('.part.statusbar').catch(() => '');
      return /MCP \d+\/\d+ · \d+ tools · Restricted Mode/.test(t) ? t : undefined;
    });
    note(`status bar: ${/MCP [^\n]*Restricted Mode/.exec(text)[0]}`);
  });

  it('a git call through the gateway is refused, and nothing happened (no tag created)', async () => {
    const root = vscode.workspace.workspaceFolders[0].uri.fsPath;
    const tags = () => execFileSync('git', ['tag', '--list'], { cwd: root, encoding: 'utf8' }).trim();
    assert.equal(tags(), '');
    const client = await gatewayClient('git');
    try {
      const listed = await client.listTools();
      assert.ok(listed.tools.some((t) => t.name === 'tag_create'), 'git lists its tools in Restricted Mode (it refuses calls)');
      const result = await client.callTool({ name: 'tag_create', arguments: { repo: root, name: 'restricted-witness' } });
      assert.equal(result.isError, true, `the call was not refused: ${contentText(result)}`);
      assert.match(contentText(result), /trust|Restricted/i);
      note(`refusal: ${contentText(result).split('\n')[0]}`);
      const status = await client.callTool({ name: 'repo_status', arguments: { repo: root } });
      assert.equal(status.isError, true, 'reads are refused too');
    } finally {
      await client.close();
    }
    assert.equal(tags(), '', 'the refused tag_create created a tag');
  });

  it('screenshots: the tree and the status bar in Restricted Mode, light and dark', async function () {
    if (!canDriveWorkbench()) this.skip();
    await vscode.commands.executeCommand('mcpControlPlane.servers.focus');
    await inBothThemes(async (theme) => {
      await screenshot(`restricted-mode-${theme}`);
      await screenshot(`restricted-mode-sidebar-${theme}`, { selector: '.part.sidebar' });
    });
  });
});
