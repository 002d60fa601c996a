// What-if in a real VS Code (issue 20): real git calls through the gateway make the audit's history
// (a few reads, and writes a user rule denies), then draft policies are tested against that history
// in the Test Policy panel, and the report the panel's webview receives is checked.
//
// How the panel gets its draft: the command "Test Policy Draft…" asks for the file in an open
// dialog, which the test workbench cannot answer. The extension exposes, only in
// ExtensionMode.Test, `openPolicyTest(draft)`: the command's own path after the dialog (open or
// reveal the panel, wait for the webview's `ready`, post the draft). The webview then runs the
// draft itself, but a test cannot read a webview's DOM, so `postFromPolicyTest` hands the panel's
// host the very `policy.test` request the view posts (same zod validation, same handler, the
// response is posted to the webview) and resolves with that response: the report the view shows.
// The view's rendering is tested in chromium by test/integration/whatif/ui-browser.test.ts.
//
// The history is the whole suite's (files run in order, all through one gateway), so counts are
// measured against a baseline draft: the user policy as it was when this file's calls were made.
// A draft adding one deny must tighten exactly this file's matching calls and loosen nothing more
// than the baseline; a draft allowing what was denied must loosen exactly the denied calls.
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
/** The view's default history: its first "History" option, 1 day. */
const ONE_DAY_MS = 86_400_000;

describe('Test Policy (what-if) in VS Code', function () {
  this.timeout(120_000);

  const nonce = `wi${Date.now().toString(36)}`;
  const deniedBranch = `whatif-denied-${nonce}`;
  const denyRule = { id: 'whatif-vscode-deny', server: 'git', tool: 'branch_create', args: { name: deniedBranch }, decision: 'deny' };
  /** The user policy in force during this file's calls, as a draft file. */
  const baselineDraft = `rules:\n  - {id: whatif-vscode-deny, server: git, tool: branch_create, args: {name: ${deniedBranch}}, decision: deny}\n`;
  /** The same plus a deny of the log reads this file made; its own test case says so. */
  const tightDraft =
    `${baselineDraft}  - {id: whatif-deny-log, server: git, tool: log, args: {grep: ${nonce}}, decision: deny}\n` +
    `tests:\n  - {server: git, tool: log, args: {grep: ${nonce}}, expect: deny}\n  - {server: git, tool: log, args: {grep: other}, expect: allow}\n`;
  /** Allows the branch the user rule denied. */
  const looseDraft = `rules:\n  - {id: whatif-allow-branch, server: git, tool: branch_create, args: {name: ${deniedBranch}}, decision: allow}\n`;

  let api;
  let hooks;
  let gitPrefix;
  let root;
  const LOG_CALLS = 3;
  let deniedCalls = 0;
  let baseline;
  let requestSeq = 0;

  const invoke = (tool, input) => vscode.lm.invokeTool(`${gitPrefix}${tool}`, { input, toolInvocationToken: undefined });
  const settle = (p) => p.then((r) => ({ ok: true, text: resultText(r) }), (err) => ({ ok: false, text: String(err?.message ?? err) }));
  const branchExists = () => fs.existsSync(path.join(root, '.git', 'refs', 'heads', deniedBranch));

  /** Opens the panel with `draft` (the command's path after its dialog), then runs the request the view posts for it. */
  async function testDraft(name, text) {
    await hooks.openPolicyTest({ name, text });
    const tab = vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('mcpControlPlane.policyTest'));
    assert.ok(tab, 'no Test Policy panel among the open tabs');
    assert.equal(tab.label, 'MCP Control Plane: Test Policy');
    const id = `whatif-${++requestSeq}`;
    const response = await hooks.postFromPolicyTest({ type: 'request', id, method: 'policy.test', params: { name, text, sinceMs: ONE_DAY_MS } });
    assert.ok(response, 'the panel answered nothing: the request was dropped as invalid');
    assert.equal(response.id, id);
    assert.equal(response.ok, true, `policy.test failed: ${response.error}`);
    const view = response.result;
    note(`${name}: replayed ${view.report.replayed}, unchanged ${view.report.unchanged}, loosened ${view.report.loosened}, tightened ${view.report.tightened}, undecidable ${view.report.undecidable}; loosens ${view.loosens}`);
    return view;
  }
  const mine = (group) => group.examples.some((e) => e.args.includes(nonce));
  const groupOf = (view, ruleId) => view.report.groups.filter((g) => g.label.includes(`"${ruleId}"`));

  after(async () => {
    await vscode.workspace.getConfiguration('mcpControlPlane').update('policy.rules', undefined, vscode.ConfigurationTarget.Global);
    if (root && branchExists()) execFileSync('git', ['branch', '-D', deniedBranch], { cwd: root });
  });

  it('activates with the Test Policy hooks (test mode only) and git tools live', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
    await api.ready; // activate() returns before the control plane has started
    assert.ok(api.oversight, 'the extension API has no `oversight` test hooks');
    hooks = api.oversight;
    assert.equal(typeof hooks.openPolicyTest, 'function');
    assert.ok((await vscode.commands.getCommands(true)).includes('mcpControlPlane.policy.test'), 'the Test Policy Draft… command is not registered');
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, 'git'), (t) => /^mcp_.+_branch_create$/.test(t.name));
    gitPrefix = tools[0].name.slice(0, -'branch_create'.length);
    root = vscode.workspace.workspaceFolders[0].uri.fsPath;
  });

  it('records history: log reads, and branch creations a user rule denies', async () => {
    for (let i = 0; i < LOG_CALLS; i++) {
      const r = await settle(invoke('log', { grep: nonce }));
      assert.equal(r.ok, true, r.text);
    }
    const section = vscode.workspace.getConfiguration('mcpControlPlane');
    await section.update('policy.rules', [denyRule], vscode.ConfigurationTarget.Global);
    // The setting reaches the policy a moment later: a call that ran before it is undone and made again.
    const first = await waitFor('branch_create to be denied by the user rule', async () => {
      const r = await settle(invoke('branch_create', { name: deniedBranch }));
      if (branchExists()) {
        execFileSync('git', ['branch', '-D', deniedBranch], { cwd: root });
        return undefined;
      }
      return r;
    }, { timeout: 30_000, interval: 500 });
    assert.match(first.text, /Denied by rule "whatif-vscode-deny"/, first.text);
    note(`denied: ${first.text.slice(0, 160)}`);
    deniedCalls = 1;
    const second = await settle(invoke('branch_create', { name: deniedBranch }));
    assert.equal(branchExists(), false, `the rule let the second call through: ${second.text}`);
    deniedCalls = 2;
    // The rule goes; the drafts below say what the user layer would be.
    await section.update('policy.rules', undefined, vscode.ConfigurationTarget.Global);
  });

  it('a draft equal to the policy of those calls changes none of them', async () => {
    baseline = await testDraft('baseline.yaml', baselineDraft);
    assert.equal(baseline.draft, 'baseline.yaml');
    assert.equal(baseline.layer, 'user', "in VS Code the draft replaces the operator's layer, user");
    assert.equal(baseline.source.kind, 'live');
    assert.equal(baseline.source.verified, true, 'the live audit is verified with the key before the replay');
    assert.ok(baseline.report.replayed >= LOG_CALLS + deniedCalls, `replayed ${baseline.report.replayed}`);
    assert.deepEqual(baseline.report.groups.filter(mine), [], 'none of this file\'s calls changes under the policy they were made with');
  });

  it('a draft adding a deny tightens exactly the matching calls and loosens nothing more', async () => {
    const view = await testDraft('tighten.yaml', tightDraft);
    const groups = groupOf(view, 'whatif-deny-log');
    assert.equal(groups.length, 1, JSON.stringify(view.report.groups.map((g) => g.label)));
    const [group] = groups;
    assert.equal(group.direction, 'tightened');
    assert.equal(group.from, 'allow');
    assert.equal(group.to, 'deny');
    assert.equal(group.count, LOG_CALLS);
    assert.ok(group.examples.length > 0 && group.examples.every((e) => e.server === 'git' && e.tool === 'log' && e.args.includes(nonce)), JSON.stringify(group.examples));
    assert.equal(view.report.tightened, baseline.report.tightened + LOG_CALLS);
    assert.equal(view.report.loosened, baseline.report.loosened, 'adding a deny loosens nothing');
    assert.equal(view.loosens, baseline.loosens, 'the verdict is the baseline\'s: the deny adds no loosening');
    assert.ok(!view.report.groups.some((g) => g.direction === 'loosened' && mine(g)), 'none of this file\'s calls is loosened');
    if (baseline.report.loosened === 0) assert.equal(view.loosens, false);
    note(`tighten.yaml: baseline loosened ${baseline.report.loosened} (earlier suites' calls under rules no longer in force)`);
    // The draft's own tests: ran, and pass.
    assert.equal(view.tests.length, 2);
    assert.ok(view.tests.every((t) => t.ok), JSON.stringify(view.tests));
  });

  it('a draft allowing what the user rule denied loosens exactly those calls, and says so', async () => {
    const view = await testDraft('loosen.yaml', looseDraft);
    const groups = groupOf(view, 'whatif-allow-branch');
    assert.equal(groups.length, 1, JSON.stringify(view.report.groups.map((g) => g.label)));
    const [group] = groups;
    assert.equal(group.direction, 'loosened');
    assert.equal(group.from, 'deny');
    assert.equal(group.to, 'allow');
    assert.equal(group.count, deniedCalls);
    for (const e of group.examples) {
      assert.equal(e.tool, 'branch_create');
      assert.match(e.args, new RegExp(deniedBranch));
      assert.equal(e.recorded.decision, 'deny');
      assert.equal(e.recorded.rule?.id, 'whatif-vscode-deny', JSON.stringify(e.recorded));
    }
    assert.equal(view.report.loosened, baseline.report.loosened + deniedCalls);
    assert.equal(view.loosens, true, 'the verdict: the draft loosens');
    // The log reads were allowed and stay allowed.
    assert.ok(!view.report.groups.some((g) => g.examples.some((e) => e.tool === 'log' && e.args.includes(nonce))));
  });

  it('an invalid draft is refused with a message, not a report', async () => {
    await hooks.openPolicyTest({ name: 'broken.yaml', text: 'rules:\n  - {decision: maybe}\n' });
    const response = await hooks.postFromPolicyTest({ type: 'request', id: 'whatif-bad', method: 'policy.test', params: { name: 'broken.yaml', text: 'rules:\n  - {decision: maybe}\n', sinceMs: ONE_DAY_MS } });
    assert.equal(response.ok, false);
    assert.match(response.error, /the draft is not a valid user policy/);
  });
});
