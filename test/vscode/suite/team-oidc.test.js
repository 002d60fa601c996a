// VS Code's chat signed in to a team control plane with the person's own identity (OIDC through
// VS Code's authentication API), in a real VS Code, against the team service that run.mjs starts
// (`--fixtures team`: the built `mcpcp serve` in team mode with the OIDC issuer fixture, whose
// public client `team.oidc.nativeClientId` names, and a real PostgreSQL). The sign-in runs through
// the extension's authentication provider `mcpcp-team` (code + PKCE S256, loopback redirect); only
// the browser is played by the test (the URL the extension would hand to openExternal). Then a
// read-only tool runs through VS Code's own MCP client with the access token, the service's audit
// names the OIDC principal, the Accounts menu shows the person, and sign-out takes the header away
// (the tool is gone and a call reaches nothing). Tests run in order and share state.
'use strict';

const assert = require('node:assert/strict');
const vscode = require('vscode');
const { definitionId, startServerAndWaitForTools, resultText } = require('../lib/mcp');
const { EXTENSION_ID, activateExtension } = require('../lib/control-plane');
const { fixture } = require('../lib/fixtures');
const { note } = require('../lib/mocha-runner');
const { sleep, waitFor } = require('../lib/wait');
const { auditRecords, browserSignsIn } = require('../lib/team');

const SETTING = 'mcpControlPlane.team.url';
const PROVIDER = 'mcpcp-team';

describe('Team OIDC sign-in in VS Code (authentication provider, access token on the team servers)', function () {
  this.timeout(120_000);

  let team;
  let api;
  let host;
  let echoTool;

  before(async function () {
    team = fixture('team');
    if (!team) this.skip(); // run.mjs --fixtures without team
    host = new URL(team.url).host;
    api = await activateExtension();
    await vscode.workspace.getConfiguration().update(SETTING, team.url, vscode.ConfigurationTarget.Global);
    await waitFor('the team target', () => api.team.state().target.kind === 'team', { timeout: 10_000 });
    // Only the OIDC sign-in counts here: an API key another suite set for this origin goes.
    await vscode.commands.executeCommand('mcpControlPlane.team.forgetApiKey');
    await vscode.commands.executeCommand('mcpControlPlane.team.signOut');
    await waitFor('no credential', () => api.team.state().credential.kind === 'none' && api.team.state().status.kind === 'no-key', { timeout: 10_000 });
  });

  after(async () => {
    if (!team) return;
    await vscode.commands.executeCommand('mcpControlPlane.team.signOut');
    await vscode.workspace.getConfiguration().update(SETTING, undefined, vscode.ConfigurationTarget.Global);
  });

  it('the service says how to sign in, without a credential (RFC 9728 metadata with the public client id)', async () => {
    const res = await fetch(`${team.url}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.resource, `${team.url}/mcp`);
    assert.deepEqual(doc.authorization_servers, [team.issuer]);
    assert.equal(doc.mcpcp_native_client_id, team.nativeClientId);
    assert.ok(doc.scopes_supported.includes('offline_access'), JSON.stringify(doc));
  });

  it('signs in through the provider: code + PKCE S256 on a 127.0.0.1 loopback; the Accounts menu shows the person; the team servers appear', async () => {
    assert.deepEqual(await vscode.authentication.getAccounts(PROVIDER), [], 'no account before the sign-in');
    const opened = [];
    let browser;
    const ok = await api.team.signInForTest(async (url) => {
      opened.push(url);
      // A real openExternal returns at once; the person signs in meanwhile.
      browser = browserSignsIn(url, 'u-alice');
      return true;
    });
    assert.equal(ok, true);
    assert.equal(opened.length, 1);
    const asked = new URL(opened[0]);
    assert.equal(`${asked.origin}${asked.pathname}`, `${team.issuer}/authorize`);
    assert.equal(asked.searchParams.get('client_id'), team.nativeClientId);
    assert.equal(asked.searchParams.get('code_challenge_method'), 'S256');
    assert.match(asked.searchParams.get('redirect_uri'), /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.equal(asked.searchParams.get('resource'), `${team.url}/mcp`);
    assert.match((await browser).page, new RegExp(`Signed in to the MCP Control Plane at ${host.replace(/\./g, '\\.')} as alice@example\\.com`));

    const accounts = await waitFor('the account in the Accounts menu', async () => {
      const list = await vscode.authentication.getAccounts(PROVIDER);
      return list.length > 0 ? list : undefined;
    }, { timeout: 10_000 });
    assert.deepEqual(accounts.map((a) => a.label), ['alice@example.com']);
    assert.equal(accounts[0].id, `oidc:${team.issuer}#u-alice`);

    // The service's status is read with the access token: the remote rows come back.
    const row = await waitFor('the remote fx row', () => api.treeSnapshot().find((r) => r.label === 'fx' && (r.description ?? '').startsWith('remote')), { timeout: 20_000 });
    assert.equal(row.description, `remote · ${host} · running, 12 tools`);
    const { expiresAt, ...credential } = api.team.state().credential;
    assert.deepEqual(credential, { kind: 'oidc', account: 'alice@example.com', principal: `oidc:${team.issuer}#u-alice` });
    assert.ok(expiresAt > Date.now(), 'a valid access token');
  });

  it('a read-only tool runs through VS Code\'s MCP client with the access token; the service\'s audit names the OIDC principal', async () => {
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, 'fx (team)'), (t) => /^mcp_fixture/.test(t.name) && t.name.endsWith('_echo'), { timeout: 60_000 });
    echoTool = tools[0].name;
    note(`team tool with the OIDC sign-in: ${echoTool}`);
    const marker = `oidc-from-vscode-${Date.now()}`;
    const result = await vscode.lm.invokeTool(echoTool, { input: { text: marker }, toolInvocationToken: undefined });
    assert.equal(resultText(result), marker);
    const record = await waitFor('the audit record of the call', () => auditRecords(team).find((r) => r.tool === 'echo' && r.type === 'call.requested' && JSON.stringify(r).includes(marker)), { timeout: 20_000 });
    assert.equal(record.principal.id, `oidc:${team.issuer}#u-alice`, JSON.stringify(record.principal));
    assert.equal(record.principal.via, 'oidc-token', JSON.stringify(record.principal));
    assert.equal(record.principal.name, 'alice@example.com');
  });

  it('the access token is renewed before it ends and VS Code reconnects with the new one: a call after the first token expired runs as the person', async function () {
    this.timeout(150_000);
    const first = api.team.state().credential.expiresAt;
    assert.ok(first > Date.now(), JSON.stringify(api.team.state().credential));
    assert.ok(first - Date.now() <= team.accessTokenSeconds * 1000, 'the fixture issues short-lived tokens');
    // The client reads the service every 15 s and renews a token that ends within a minute (or half its lifetime).
    const renewed = await waitFor('the renewed access token', () => (api.team.state().credential.expiresAt > first ? api.team.state().credential.expiresAt : undefined), { timeout: 75_000 });
    note(`access token renewed ${Math.round((first - Date.now()) / 1000)} s before it ended; the new one ends in ${Math.round((renewed - Date.now()) / 1000)} s`);
    // The service (no clock skew) refuses the first token from now on.
    await sleep(Math.max(0, first - Date.now()) + 1_500);
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, 'fx (team)'), (t) => /^mcp_fixture/.test(t.name) && t.name.endsWith('_echo'), { timeout: 60_000 });
    const marker = `oidc-renewed-${Date.now()}`;
    const result = await vscode.lm.invokeTool(tools[0].name, { input: { text: marker }, toolInvocationToken: undefined });
    assert.equal(resultText(result), marker);
    const record = await waitFor('the audit record of the call with the renewed token', () => auditRecords(team).find((r) => r.tool === 'echo' && r.type === 'call.requested' && JSON.stringify(r).includes(marker)), { timeout: 20_000 });
    assert.equal(record.principal.id, `oidc:${team.issuer}#u-alice`);
    assert.ok(Date.parse(record.ts) > first, `the call (${record.ts}) came after the first token had expired`);
    echoTool = tools[0].name;
  });

  it('sign-out: the account leaves the Accounts menu, the team servers say "signed out — sign in", and the header is gone (a call reaches nothing)', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.team.signOut');
    await waitFor('the account to leave the Accounts menu', async () => (await vscode.authentication.getAccounts(PROVIDER)).length === 0, { timeout: 10_000 });
    await waitFor('the signed-out row', () => api.treeSnapshot().find((r) => r.label === `Team ${host}: signed out — sign in…`), { timeout: 10_000 });
    assert.ok(!api.treeSnapshot().some((r) => r.label === 'fx' && /^remote/.test(r.description ?? '')), JSON.stringify(api.treeSnapshot()));
    assert.equal(api.team.state().credential.kind, 'none');
    // VS Code drops the team's server with its header: its tools leave vscode.lm.tools.
    await waitFor('the team tool to leave vscode.lm.tools', () => !vscode.lm.tools.some((t) => t.name === echoTool), { timeout: 20_000 });
    // Witness: a call with the old tool name reaches nothing, and the service records no call for it.
    const marker = `after-sign-out-${Date.now()}`;
    await assert.rejects(vscode.lm.invokeTool(echoTool, { input: { text: marker }, toolInvocationToken: undefined }));
    await sleep(1_000);
    assert.equal(auditRecords(team).filter((r) => JSON.stringify(r).includes(marker)).length, 0, 'the service saw no call after sign-out');
  });

  it('when the identity provider ends the session, the renewal is refused: the sign-in is forgotten and the tree says to sign in again', async function () {
    this.timeout(120_000);
    let browser;
    assert.equal(await api.team.signInForTest(async (url) => ((browser = browserSignsIn(url, 'u-alice')), true)), true);
    await browser;
    await waitFor('the remote fx row', () => api.treeSnapshot().find((r) => r.label === 'fx' && /^remote/.test(r.description ?? '')), { timeout: 20_000 });
    // An admin ends the person's sessions at the issuer (every refresh token).
    const ended = await (await fetch(`${team.issuer}/test/end-sessions`, { method: 'POST' })).json();
    assert.ok(ended.ended >= 1, JSON.stringify(ended));
    // The next renewal (within half the token's lifetime of its end; the service is read every 15 s) is refused.
    await waitFor('the sign-in-ended row', () => api.treeSnapshot().find((r) => r.label === `Team ${host}: sign-in ended — sign in…`), { timeout: 75_000 });
    assert.equal((await vscode.authentication.getAccounts(PROVIDER)).length, 0);
    assert.equal(api.team.state().credential.kind, 'none');
    assert.ok(!api.treeSnapshot().some((r) => r.label === 'fx' && /^remote/.test(r.description ?? '')));
  });

  it('no token reached the settings or the output channel (they live in SecretStorage only)', async () => {
    const settings = JSON.stringify(vscode.workspace.getConfiguration('mcpControlPlane'));
    assert.doesNotMatch(settings, /eyJ[A-Za-z0-9_-]{10,}/);
    // Extension log channels are `<extension id>.<name>.log`; the Output view registers a show command per channel.
    await vscode.commands.executeCommand(`workbench.action.output.show.${EXTENSION_ID}.MCP Control Plane.log`);
    const log = await waitFor('the MCP Control Plane output channel', () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && /MCP Control Plane\.log$/.test(decodeURIComponent(d.uri.path))), { timeout: 10_000 });
    const text = await waitFor('the sign-in lines in the log', () => (/signed in as alice@example\.com/.test(log.getText()) ? log.getText() : undefined), { timeout: 10_000 });
    assert.match(text, /alice@example\.com signed out/);
    assert.match(text, /the identity provider refused to renew the sign-in of alice@example\.com/);
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}|code=|refresh_token|code_verifier/);
  });
});
