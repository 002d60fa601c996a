// The extension in a real VS Code: activation, the built-in git server supervised and registered
// with VS Code's MCP support, its tools in vscode.lm.tools, calls through the gateway, and the
// Servers tree following Stop / Start / Restart / Disable. Tests run in order and share state.
'use strict';

const assert = require('node:assert/strict');
const vscode = require('vscode');
const { definitionId, startServerAndWaitForTools, resultText, resultJson } = require('../lib/mcp');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');

const EXTENSION_ID = 'mcp-control-plane.mcp-control-plane';
const GIT = 'git';

describe('MCP Control Plane in VS Code', function () {
  this.timeout(90_000);

  /** @type {{ gatewayUrl(): string | undefined; servers(): Array<{ name: string; state: string; toolCount: number; pid?: number; lastError?: string }>; treeSnapshot(): Array<{ label: string; description?: string; children: string[] }>; onDidChangeServers: vscode.Event<void> }} */
  let api;
  /** The prefix VS Code gave the git server's tools in vscode.lm.tools, once known. */
  let gitPrefix;

  const server = (name) => api.servers().find((s) => s.name === name);
  const treeRow = (name) => api.treeSnapshot().find((row) => row.label === name);
  /** Waits for a server state; gives up at once on a terminal `failed`, with the server's error. */
  const waitForState = async (name, state, extra = () => true) => {
    let last;
    try {
      return await waitFor(`${name} to be ${state}`, () => {
        last = server(name);
        if (last?.state === 'failed' && state !== 'failed') throw new Error(`${name} failed: ${last.lastError}`);
        return last && last.state === state && extra(last) ? last : undefined;
      }, { timeout: 45_000 });
    } catch (err) {
      throw new Error(`${err.message}; servers(): ${JSON.stringify(api.servers())}`);
    }
  };
  const invoke = (tool, input) => vscode.lm.invokeTool(`${gitPrefix}${tool}`, { input, toolInvocationToken: undefined });

  after(async () => {
    // Leave no user setting behind for a later file of the suite.
    await vscode.workspace.getConfiguration('mcpControlPlane').update('servers', undefined, vscode.ConfigurationTarget.Global);
  });

  it('activates and exposes its test API', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
    await api.ready; // activate() returns before the control plane has started
    assert.ok(ext.isActive);
    assert.match(api.gatewayUrl() ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(typeof api.activationMs, 'number');
    note(`activation took ${api.activationMs} ms`);
  });

  it('refuses a gateway request without the bearer token', async () => {
    const res = await fetch(`${api.gatewayUrl()}/mcp/${GIT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(res.status, 401);
  });

  it('starts the built-in git server', async () => {
    const git = await waitForState(GIT, 'running', (s) => s.toolCount > 0);
    assert.equal(typeof git.pid, 'number');
    assert.ok(git.toolCount >= 2, `git has ${git.toolCount} tools`);
  });

  it('shows git running with its tools in the Servers tree', async () => {
    const row = await waitFor('tree row for git with children', () => {
      const r = treeRow(GIT);
      return r && r.children.includes('repo_status') ? r : undefined;
    });
    assert.match(row.description ?? '', /^running\b/);
    assert.ok(row.children.includes('log'), `tree children: ${row.children.join(', ')}`);
    // Annotations as the server declares them: reads are read-only, history-losing tools destructive.
    for (const tool of ['repo_status', 'log', 'diff']) assert.equal(row.childDescriptions[tool], 'read-only', tool);
    for (const tool of ['reset', 'clean', 'push', 'branch_delete']) assert.equal(row.childDescriptions[tool], 'destructive', tool);
  });

  it('says in the tree whether VS Code has connected to git, from the gateway\'s own sessions', async () => {
    const sessions = api.serverSessions(GIT);
    const row = treeRow(GIT);
    note(`git before VS Code starts it: ${sessions} session(s), tree "${row.description}"`);
    if (sessions === 0) {
      assert.match(row.description ?? '', /^running\b.* · VS Code not connected yet$/);
      assert.ok(row.children.some((c) => /^VS Code not connected yet .*: Connect$/.test(c)), `children: ${row.children.join(', ')}`);
    } else {
      assert.doesNotMatch(row.description ?? '', /not connected/);
    }
  });

  it('the Servers tree re-renders by itself while visible: the uptime counts', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.servers.focus');
    const upSeconds = () => {
      const m = /up (?:(\d+)m )?(\d+)s/.exec(treeRow(GIT)?.description ?? '');
      return m ? Number(m[1] ?? 0) * 60 + Number(m[2]) : undefined;
    };
    const first = upSeconds();
    assert.equal(typeof first, 'number', `description: ${treeRow(GIT)?.description}`);
    const before = api.treeRefreshes();
    // Another refresh (a state change) may land within the same second: wait for the timer's own
    // re-render, which shows a larger uptime; nothing here refreshes the tree by hand.
    await waitFor('the tree to re-render on its own with the uptime counting', () => api.treeRefreshes() > before && (upSeconds() ?? 0) > first, { timeout: 15_000 });
  });

  it('registers git with VS Code, whose tools then appear in vscode.lm.tools', async () => {
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, GIT), (t) => /^mcp_.+_repo_status$/.test(t.name));
    gitPrefix = tools[0].name.slice(0, -'repo_status'.length);
    const names = vscode.lm.tools.filter((t) => t.name.startsWith(gitPrefix)).map((t) => t.name);
    assert.equal(names.length, server(GIT).toolCount, `lm.tools: ${names.join(', ')}`);
    assert.ok(names.includes(`${gitPrefix}log`), `lm.tools: ${names.join(', ')}`);
    // VS Code now holds a session: the tree stops saying it is not connected.
    await waitFor('a VS Code session on git', () => api.serverSessions(GIT) > 0, { timeout: 15_000 });
    const row = treeRow(GIT);
    assert.doesNotMatch(row.description ?? '', /not connected/);
    assert.ok(!row.children.some((c) => /not connected/.test(c)), `children: ${row.children.join(', ')}`);
  });

  it('round-trips vscode.lm.invokeTool through the gateway to the git server', async () => {
    assert.ok(gitPrefix, 'git tools are not registered');
    // repo_status has structured output, which VS Code hands over as JSON; log answers in text.
    const status = resultJson(await invoke('repo_status', {}));
    assert.equal(status?.branch, 'main', JSON.stringify(status));
    assert.deepEqual(status.counts, { staged: 0, unstaged: 0, untracked: 0, conflicts: 0 });
    assert.match(resultText(await invoke('log', {})), /Initial commit of the test workspace/);
  });

  it('Stop stops the server and the tree shows it stopped', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.server.stop', GIT);
    const git = await waitForState(GIT, 'stopped');
    assert.equal(git.pid, undefined);
    await waitFor('tree to show git stopped', () => /^stopped\b/.test(treeRow(GIT)?.description ?? ''));
  });

  it('Start starts it again', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.server.start', GIT);
    const git = await waitForState(GIT, 'running', (s) => s.toolCount > 0);
    assert.equal(typeof git.pid, 'number');
    await waitFor('tree to show git running', () => /^running\b/.test(treeRow(GIT)?.description ?? ''));
  });

  it('Restart replaces the process, fires onDidChangeServers and the tree follows', async () => {
    const before = (await waitForState(GIT, 'running')).pid;
    let events = 0;
    const sub = api.onDidChangeServers(() => events++);
    try {
      await vscode.commands.executeCommand('mcpControlPlane.server.restart', GIT);
      await waitForState(GIT, 'running', (s) => s.pid !== before && s.toolCount > 0);
    } finally {
      sub.dispose();
    }
    assert.ok(events > 0, 'onDidChangeServers did not fire');
    await waitFor('tree to show git running', () => /^running\b/.test(treeRow(GIT)?.description ?? ''));
  });

  it('still answers tool calls after the restart', async () => {
    assert.ok(gitPrefix, 'git tools are not registered');
    // The first call after a restart may meet VS Code's old MCP session; the next must succeed.
    let lastError;
    let attempts = 0;
    const status = await waitFor('repo_status to answer after the restart', async () => {
      attempts++;
      try {
        const result = await invoke('repo_status', {});
        lastError = `answered: ${resultText(result).slice(0, 300)}`;
        return resultJson(result)?.branch === 'main' ? result : undefined;
      } catch (err) {
        lastError = String(err?.stack ?? err);
        return undefined;
      }
    }, { timeout: 30_000, interval: 1_000 }).catch((err) => {
      throw new Error(`${err.message}; last: ${lastError}`);
    });
    if (attempts > 1) note(`repo_status answered after ${attempts} calls`);
    assert.equal(resultJson(status).branch, 'main');
  });

  it('Copy Client Configuration puts the gateway endpoint on the clipboard', async () => {
    await vscode.env.clipboard.writeText('');
    await vscode.commands.executeCommand('mcpControlPlane.clientConfig.copy');
    const text = await vscode.env.clipboard.readText();
    assert.ok(text.includes(`${api.gatewayUrl()}/mcp/${GIT}`), `clipboard: ${text.slice(0, 300)}`);
  });

  it('Show Server Log opens the git server\'s log, which names the running process', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.server.showLog', GIT);
    // The shown output channel is an `output:` document named after the extension and channel.
    const doc = await waitFor('the git log channel to open', () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && decodeURIComponent(d.uri.path).includes(`${EXTENSION_ID}.MCP Server ${GIT}`)));
    const { pid } = await waitForState(GIT, 'running');
    await waitFor(`the git log to name the running pid ${pid}`, () => doc.getText().includes(String(pid)));
  });

  it('disabling git stops it and removes it from vscode.lm.tools; the tree lists it as disabled', async () => {
    assert.ok(gitPrefix, 'git tools are not registered');
    await vscode.commands.executeCommand('mcpControlPlane.server.disable', GIT);
    await waitFor('git to leave servers()', () => server(GIT) === undefined, { timeout: 30_000 });
    await waitFor('the tree to list git as disabled', () => treeRow(GIT)?.description === 'disabled');
    assert.deepEqual(treeRow(GIT).children, []);
    await waitFor('git tools to leave vscode.lm.tools', () => !vscode.lm.tools.some((t) => t.name.startsWith(gitPrefix)), { timeout: 30_000 });
  });

  it('Enable refuses a name no configuration knows: no junk entry in the settings', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.server.enable', 'gti');
    const servers = vscode.workspace.getConfiguration('mcpControlPlane').inspect('servers');
    assert.equal(servers?.globalValue?.gti, undefined, JSON.stringify(servers?.globalValue));
    assert.equal(servers?.workspaceValue?.gti, undefined, JSON.stringify(servers?.workspaceValue));
  });

  it('enabling git brings it back, and Connect connects VS Code to it', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.server.enable', GIT);
    await waitForState(GIT, 'running', (s) => s.toolCount > 0);
    assert.doesNotMatch(treeRow(GIT)?.description ?? '', /disabled/);
    note(`git re-enabled: ${api.serverSessions(GIT)} session(s) before Connect`);
    // Connect: the tree's action for "VS Code not connected yet". Right after the definitions
    // change, the workbench may not know the server yet: press it again until a session opens.
    await waitFor('Connect to open a VS Code session on git', async () => {
      if (api.serverSessions(GIT) > 0) return true;
      await vscode.commands.executeCommand('mcpControlPlane.server.connect', GIT);
      return api.serverSessions(GIT) > 0;
    }, { timeout: 45_000, interval: 1_500 });
    await waitFor('the tree to show git connected', () => !/not connected/.test(treeRow(GIT)?.description ?? 'not connected'));
    await startServerAndWaitForTools(definitionId(EXTENSION_ID, GIT), gitPrefix ?? ((t) => /^mcp_.+_repo_status$/.test(t.name)));
  });

  it('Verify Audit Log checks the hash chain of this window\'s audit records', async () => {
    const result = await vscode.commands.executeCommand('mcpControlPlane.audit.verify');
    assert.equal(result.ok, true, JSON.stringify(result.firstBroken));
    assert.ok(result.records > 0, `records: ${result.records}`);
    note(`audit: ${result.records} records in ${result.files} files verified`);
  });
});
