// Per-tool rules and Add Server in a real VS Code. "Add Server…" adds the repository's
// well-behaved fixture server as a stdio command (its token typed as an environment variable goes
// to the secret storage, the settings get a reference) and it runs. "Always Allow Tool…" invoked
// with a made-up tool node (as an agent's executeCommand or a `command:` link would) writes
// nothing; invoked as a user does (the tool picked from the list, which offers no destructive
// tool) it asks in a modal naming the exact rule, then the rule is in the user settings after the
// deny rules, and the tool's calls run without an approval. The workbench refuses modal dialogs in
// extension tests, so the dialogs are answered through `promptsForTest` (ExtensionMode.Test only),
// which records each one as shown. Removes its settings at the end.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');
const { EXTENSION_ID, activateExtension, waitForServer, gatewayClient, openApprovalsView, rejectPending, contentText } = require('../lib/control-plane');
const { waitFor } = require('../lib/wait');

const NAME = 'added';
// A fake token in GitHub's personal-token shape: never a real one.
const TOKEN = `ghp_${'T00lRulesSuiteFakeToken0123456789abcdef'.slice(0, 36)}`;

describe('Per-tool rules and Add Server', function () {
  this.timeout(120_000);

  let api;
  let hooks;
  let client;
  const section = () => vscode.workspace.getConfiguration('mcpControlPlane');
  const userRules = () => section().inspect('policy.rules')?.globalValue ?? [];
  const DENY_RULES = [
    { id: 'no-markers', server: NAME, tool: 'write_marker', decision: 'deny' },
    { id: 'no-other', server: 'other', decision: 'deny' },
  ];

  after(async () => {
    if (client) await client.close().catch(() => undefined);
    await rejectPending(hooks, NAME);
    await section().update('policy.rules', undefined, vscode.ConfigurationTarget.Global);
    await section().update('servers', undefined, vscode.ConfigurationTarget.Global);
  });

  it('Add Server… adds a stdio fixture server: exact command in the consent, the token in the secret storage, the server running', async () => {
    api = await activateExtension();
    assert.ok(api.promptsForTest, 'promptsForTest exists in ExtensionMode.Test');
    hooks = await openApprovalsView(api);
    await section().update('policy.rules', DENY_RULES, vscode.ConfigurationTarget.Global);
    const fixture = path.join(vscode.extensions.getExtension(EXTENSION_ID).extensionPath, 'dist', 'test', 'fixtures', 'servers', 'well-behaved.js');
    const shownBefore = api.promptsForTest.shown().length;
    api.promptsForTest.answer('Command (stdio)', `"${process.execPath}" "${fixture}"`, NAME, `FIXTURE_API_TOKEN=${TOKEN}`, '', 'Add and Start');
    await vscode.commands.executeCommand('mcpControlPlane.server.add');
    const shown = api.promptsForTest.shown().slice(shownBefore);
    const consent = shown.find((p) => p.kind === 'modal');
    assert.ok(consent, JSON.stringify(shown));
    assert.equal(consent.text, `Add MCP server "${NAME}"? This exact command will run under the control plane, with its approvals and audit.`);
    assert.ok(consent.detail.includes(`runs: ${process.execPath} ${fixture}`), consent.detail);
    assert.match(consent.detail, /moves env\.FIXTURE_API_TOKEN \(plain text, .*\) into VS Code's secret storage as added-fixture-api-token/);
    assert.ok(!consent.detail.includes(TOKEN), 'the consent never shows the token');
    const entry = section().inspect('servers')?.globalValue?.[NAME];
    assert.deepEqual(entry, { command: process.execPath, args: [fixture], env: { FIXTURE_API_TOKEN: '${secret:added-fixture-api-token}' } });
    await waitForServer(api, NAME, 'running');
  });

  it('"Always Allow Tool" with a made-up tool node as its argument writes nothing', async () => {
    const before = JSON.stringify(userRules());
    for (const forged of [{ kind: 'tool', server: NAME, tool: 'bump' }, { kind: 'tool', server: NAME, tool: 'echo' }, `${NAME}/bump`]) {
      // The witness: a human ready to press "Always Allow" on whatever modal comes (and to pick
      // bump from a list). Were the forged tool taken, the rule would be written.
      api.promptsForTest.answer('Always Allow', `${NAME}/bump`, 'Always Allow');
      const shownBefore = api.promptsForTest.shown().length;
      await vscode.commands.executeCommand('mcpControlPlane.tool.allow', forged);
      const shown = api.promptsForTest.shown().slice(shownBefore);
      assert.equal(api.promptsForTest.clear(), 3, `no dialog was answered for ${JSON.stringify(forged)}: ${JSON.stringify(shown)}`);
      assert.deepEqual(shown.map((p) => p.kind), ['warn']);
      assert.match(shown[0].text, /never from a command argument\. Nothing was written\./);
    }
    assert.equal(JSON.stringify(userRules()), before);
  });

  it('"Always Allow Tool" offers no destructive tool; the modal names the rule; the rule lands after the deny rules and the tool runs without approval', async () => {
    const shownBefore = api.promptsForTest.shown().length;
    api.promptsForTest.answer(`${NAME}/bump`, 'Always Allow');
    await vscode.commands.executeCommand('mcpControlPlane.tool.allow');
    const shown = api.promptsForTest.shown().slice(shownBefore);
    const pick = shown.find((p) => p.kind === 'pick');
    assert.ok(pick.items.includes(`${NAME}/bump`), pick.items.join(', '));
    assert.ok(!pick.items.includes(`${NAME}/echo`), 'a read-only tool runs without asking already: not listed');
    for (const destructive of [`${NAME}/delete_thing`, `${NAME}/write_marker`, 'git/push', 'git/reset']) {
      assert.ok(!pick.items.includes(destructive), `${destructive} is not offered`);
    }
    const modal = shown.find((p) => p.kind === 'modal');
    assert.equal(modal.text, `Always allow "bump" on ${NAME}?`);
    const expected = { id: `always-allow ${NAME}/bump`, description: 'Written by MCP Control Plane from the UI (Always Allow).', server: NAME, tool: 'bump', decision: 'allow' };
    assert.ok(modal.detail.includes(JSON.stringify(expected, null, 2)), modal.detail);
    assert.match(modal.detail, /as rule #3 of 3, after your 2 deny rules \(they still win\):/);
    assert.deepEqual(userRules(), [...DENY_RULES, expected]);
    await waitFor('the tree to mark bump always allowed', () => api.treeSnapshot().find((r) => r.label === NAME)?.childDescriptions['bump'] === 'not annotated · always allowed', { timeout: 20_000 });

    // Its calls run without an approval now; the deny before it still wins for write_marker.
    client = await gatewayClient(NAME);
    const bump = await Promise.race([client.callTool({ name: 'bump', arguments: {} }), new Promise((_, reject) => setTimeout(() => reject(new Error('bump waited (for an approval?)')), 15_000))]);
    assert.notEqual(bump.isError, true, contentText(bump));
    const marker = await client.callTool({ name: 'write_marker', arguments: { path: '/tmp/never-written-by-tool-rules-suite' } });
    assert.equal(marker.isError, true);
    assert.match(contentText(marker), /no-markers/);
    assert.deepEqual(hooks.approvalsView().pending.filter((p) => p.server === NAME), []);
  });

  it('a destructive tool is refused even when chosen from an approval card', async () => {
    // delete_thing waits for approval; its card does not offer "Allow this tool from now on…", and
    // the request for it (as the card would post it) writes nothing.
    const call = client.callTool({ name: 'delete_thing', arguments: { name: 'x' } }).catch(() => undefined);
    const pending = await waitFor('delete_thing to wait for approval', () => hooks.approvalsView().pending.find((p) => p.server === NAME && p.tool === 'delete_thing'), { timeout: 20_000 });
    assert.equal(pending.canAlwaysAllow, false);
    const before = JSON.stringify(userRules());
    const response = await hooks.postFromApprovalsView({ type: 'request', id: 'suite-allow-1', method: 'approval.allowTool', params: { approvalId: pending.id } });
    assert.equal(response.ok, true);
    assert.equal(response.result.written, false);
    assert.match(response.result.message, /not offered for "delete_thing"/);
    assert.equal(JSON.stringify(userRules()), before);
    await rejectPending(hooks, NAME);
    await call;
  });

  it('"Always Require Approval" from the tree node makes bump wait; its card offers "Allow this tool from now on…", which asks in the modal and replaces the rule', async () => {
    const expectedAllow = userRules()[2];
    const node = await api.toolNodeForTest(NAME, 'bump');
    assert.ok(node, 'the tree lists bump');
    await vscode.commands.executeCommand('mcpControlPlane.tool.requireApproval', node);
    const approveRule = { id: `always-approve ${NAME}/bump`, description: 'Written by MCP Control Plane from the UI (Always Require Approval).', server: NAME, tool: 'bump', decision: 'approve' };
    assert.deepEqual(userRules(), [...DENY_RULES, approveRule], 'the earlier UI rule for bump is replaced');
    assert.match(api.promptsForTest.shown().at(-1).text, /^Calls of "bump" on added now wait for your approval: wrote \{ "id": "always-approve added\/bump"/);
    await waitFor('the tree to mark bump "always asks"', () => api.treeSnapshot().find((r) => r.label === NAME)?.childDescriptions['bump'] === 'not annotated · always asks', { timeout: 20_000 });

    const call = client.callTool({ name: 'bump', arguments: {} });
    const pending = await waitFor('bump to wait for approval', () => hooks.approvalsView().pending.find((p) => p.server === NAME && p.tool === 'bump'), { timeout: 20_000 });
    assert.equal(pending.canAlwaysAllow, true, 'the card offers "Allow this tool from now on…"');
    const shownBefore = api.promptsForTest.shown().length;
    api.promptsForTest.answer('Always Allow');
    const response = await hooks.postFromApprovalsView({ type: 'request', id: 'suite-allow-2', method: 'approval.allowTool', params: { approvalId: pending.id } });
    assert.equal(response.ok, true, JSON.stringify(response));
    assert.equal(response.result.written, true);
    assert.match(response.result.message, /This call still waits for your Approve or Reject\.$/);
    const modal = api.promptsForTest.shown().slice(shownBefore).find((p) => p.kind === 'modal');
    assert.match(modal.detail, /It replaces the earlier "always-approve added\/bump" rule for this tool\./);
    assert.deepEqual(userRules(), [...DENY_RULES, expectedAllow]);
    await rejectPending(hooks, NAME);
    const rejected = await call;
    assert.equal(rejected.isError, true);
  });

  it('"Disable Tool" from the tree hides bump (listed as disabled); "Enable Tool" from that row brings it back', async () => {
    await client.close().catch(() => undefined);
    client = undefined;
    await vscode.commands.executeCommand('mcpControlPlane.tool.disable', await api.toolNodeForTest(NAME, 'bump'));
    assert.deepEqual(section().inspect('servers')?.globalValue?.[NAME]?.tools, { exclude: ['bump'] });
    const row = () => api.treeSnapshot().find((r) => r.label === NAME);
    await waitFor('bump listed as disabled', () => row()?.childDescriptions['bump'] === 'disabled' && row()?.children.includes('echo'), { timeout: 30_000 });
    const disabledNode = await api.toolNodeForTest(NAME, 'bump');
    await vscode.commands.executeCommand('mcpControlPlane.tool.enable', disabledNode);
    assert.equal(section().inspect('servers')?.globalValue?.[NAME]?.tools, undefined);
    await waitFor('bump offered again', () => row()?.childDescriptions['bump'] === 'not annotated · always allowed', { timeout: 30_000 });
  });
});
