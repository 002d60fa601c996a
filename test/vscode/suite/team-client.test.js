// VS Code as a client of a team control plane, in a real VS Code, against the team service that
// run.mjs starts (`--fixtures team`: the built `mcpcp serve` in team mode with the OIDC issuer
// fixture and a real PostgreSQL). A repository's .vscode/settings.json cannot name the team
// (a capturing listener it points at hears nothing); the user setting plus an API key in
// SecretStorage registers the team's servers with VS Code's chat; a read-only tool runs through
// VS Code's own MCP client with the API key (the service's audit names the key's owner); the
// Servers tree shows the team's servers marked remote. The team's pending approvals show in the
// Approvals view (its "Team · <host>" section, read through the view's test hook: the state its
// webview was sent) only after a separate approver sign-in; the MCP API key decides nothing; a
// decision posted from the view as its button does is recorded with the approver's identity.
// Tests run in order and share state.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const vscode = require('vscode');
const { definitionId, startServerAndWaitForTools, resultText } = require('../lib/mcp');
const { EXTENSION_ID, activateExtension, openApprovalsView } = require('../lib/control-plane');
const { fixture } = require('../lib/fixtures');
const { note } = require('../lib/mocha-runner');
const { sleep, waitFor } = require('../lib/wait');
const { auditRecords, browserSignsIn } = require('../lib/team');

const SETTING = 'mcpControlPlane.team.url';

/**
 * A person's OIDC access token from the fixture issuer, the way the service's own sign-in gets one
 * (authorization code + PKCE S256, the confidential client): for a call made as that person.
 */
async function accessTokenOf(team, sub) {
  const crypto = require('node:crypto');
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const redirect = 'http://127.0.0.1:9/callback';
  const form = new URLSearchParams({ client_id: team.oidcClient.id, redirect_uri: redirect, state: 's'.repeat(20), nonce: 'n'.repeat(20), code_challenge: challenge, scope: 'openid', user: sub });
  const authorized = await fetch(new URL('/authorize', team.issuer), { method: 'POST', body: form, redirect: 'manual' });
  const code = new URL(authorized.headers.get('location')).searchParams.get('code');
  const token = await fetch(new URL('/token', team.issuer), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier, client_id: team.oidcClient.id, client_secret: team.oidcClient.secret }),
  });
  const body = await token.json();
  if (!body.access_token) throw new Error(`no access token: ${JSON.stringify(body)}`);
  return body.access_token;
}

describe('Team client in VS Code (mcpcp serve in team mode, OIDC issuer, PostgreSQL)', function () {
  this.timeout(120_000);

  let team;
  let api;
  let host;
  let echoTool;
  let requester;
  /** The teammate's waiting call, and how it settled (undefined while it waits). */
  let pendingCall;
  let settled;
  /** The Approvals view's test hooks (api.oversight). */
  let hooks;
  /** Bob's own agent (his OIDC access token) and its call, for the self-approval test. */
  let ownAgent;
  let ownSettled;
  let requestSeq = 0;
  /** Posts what a team card's Approve/Reject posts; resolves with the view's response. */
  const decideFromView = (pending, approve, reason) =>
    hooks.postFromApprovalsView({ type: 'request', id: `team-${++requestSeq}`, method: 'team.decide', params: { approvalId: pending.id, digest: pending.digest, approve, ...(reason ? { reason } : {}) } });
  const teamSection = () => hooks.approvalsView().team;
  const teamCards = () => (teamSection()?.kind === 'signed-in' ? teamSection().pending : []);
  const folder = () => vscode.workspace.workspaceFolders[0].uri.fsPath;
  const workspaceSettings = () => path.join(folder(), '.vscode', 'settings.json');

  before(function () {
    team = fixture('team');
    if (!team) this.skip(); // run.mjs --fixtures without team
    host = new URL(team.url).host;
  });

  after(async () => {
    if (!team) return;
    await requester?.close().catch(() => undefined);
    await ownAgent?.close().catch(() => undefined);
    await vscode.commands.executeCommand('mcpControlPlane.team.signOutApprover').then(undefined, () => undefined);
    await vscode.workspace.getConfiguration().update(SETTING, undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(workspaceSettings(), { force: true });
  });

  it('a workspace\'s .vscode/settings.json cannot name the team control plane: the listener it names hears nothing', async () => {
    api = await activateExtension();
    // The attack: a cloned repository points the team URL at a listener that captures what arrives.
    const captured = [];
    const listener = http.createServer((req, res) => {
      captured.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ servers: [{ name: 'phish', state: { kind: 'running' }, toolCount: 1 }] }));
    });
    await new Promise((r) => listener.listen(0, '127.0.0.1', r));
    const attacker = `http://127.0.0.1:${listener.address().port}`;
    try {
      fs.mkdirSync(path.dirname(workspaceSettings()), { recursive: true });
      // A second key in the same file is the witness that VS Code has read it (VS Code reports no
      // workspace value for an application-scoped setting).
      fs.writeFileSync(workspaceSettings(), JSON.stringify({ [SETTING]: attacker, 'mcpcpSuite.witness': attacker }, null, 2));
      await waitFor('VS Code to read the workspace settings file', () => vscode.workspace.getConfiguration().inspect('mcpcpSuite.witness')?.workspaceValue === attacker, { timeout: 15_000 });
      await api.team.refresh();
      await sleep(2_000);
      // ...and the extension did not act on it: no team, no request to the listener, no remote row.
      assert.equal(api.team.state().target.kind, 'none', JSON.stringify(api.team.state()));
      assert.equal(captured.length, 0, `the workspace-named listener received ${JSON.stringify(captured)}`);
      assert.ok(!api.treeSnapshot().some((r) => r.label === 'phish' || /remote/.test(r.description ?? '')), JSON.stringify(api.treeSnapshot()));
    } finally {
      fs.rmSync(workspaceSettings(), { force: true });
      listener.close();
    }
  });

  it('the user setting names the team; without an API key the tree says to set one and nothing is offered to chat', async () => {
    await vscode.workspace.getConfiguration().update(SETTING, team.url, vscode.ConfigurationTarget.Global);
    await waitFor('the team target', () => api.team.state().target.kind === 'team', { timeout: 10_000 });
    assert.equal(api.team.state().target.origin, team.url);
    await waitFor('the set-key row', () => api.treeSnapshot().find((r) => r.label === `Team ${host}: set an API key…`), { timeout: 10_000 });
  });

  it('with an API key in SecretStorage the tree shows the team\'s servers from the service, marked remote', async () => {
    await api.team.setApiKeyForTest(team.keys.operator);
    const row = await waitFor('the remote fx row', () => api.treeSnapshot().find((r) => r.label === 'fx' && (r.description ?? '').startsWith('remote')), { timeout: 20_000 });
    assert.equal(row.description, `remote · ${host} · running, 12 tools`);
    assert.equal(api.team.state().status.kind, 'ok');
    // The window's own servers stay as they were, none of them marked remote.
    assert.ok(api.treeSnapshot().filter((r) => r.label !== 'fx').every((r) => !/^remote/.test(r.description ?? '')));
  });

  it('VS Code\'s chat gets the team\'s servers; a read-only tool runs on the service as the API key\'s owner', async () => {
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, 'fx (team)'), (t) => /^mcp_fixture/.test(t.name) && t.name.endsWith('_echo'), { timeout: 60_000 });
    echoTool = tools[0].name;
    note(`team tool in vscode.lm.tools: ${echoTool}`);
    const marker = `from-vscode-${Date.now()}`;
    const result = await vscode.lm.invokeTool(echoTool, { input: { text: marker }, toolInvocationToken: undefined });
    assert.equal(resultText(result), marker);
    // The service's audit: the call came with the operator's API key (not a gateway token).
    const record = await waitFor('the audit record of the call on the service', () =>
      auditRecords(team).find((r) => r.tool === 'echo' && JSON.stringify(r).includes(marker) && r.principal), { timeout: 15_000 }).catch(() => undefined);
    const any = record ?? auditRecords(team).reverse().find((r) => r.tool === 'echo' && r.principal);
    assert.ok(any, `no audit record of echo with a principal in the service's audit (PostgreSQL)`);
    assert.equal(any.principal.name, 'alice@example.com', JSON.stringify(any.principal));
    assert.equal(any.principal.via, 'api-key', JSON.stringify(any.principal));
  });

  it('a refused API key shows in the tree instead of the servers; the right key brings them back', async () => {
    await api.team.setApiKeyForTest('mcpcp_key_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB');
    await waitFor('the refused row', () => api.treeSnapshot().find((r) => r.label.startsWith(`Team ${host}: the API key was refused (401)`)), { timeout: 10_000 });
    assert.ok(!api.treeSnapshot().some((r) => r.label === 'fx' && /^remote/.test(r.description ?? '')));
    await api.team.setApiKeyForTest(team.keys.operator);
    await waitFor('the remote fx row again', () => api.treeSnapshot().find((r) => r.label === 'fx' && /^remote/.test(r.description ?? '')), { timeout: 10_000 });
  });

  it('before the approver sign-in the Approvals view shows the team\'s sign-in row and no team card; nothing follows the service', async () => {
    hooks = await openApprovalsView(api);
    const section = await waitFor('the team section in the Approvals view', () => (teamSection()?.kind === 'signed-out' ? teamSection() : undefined), { timeout: 15_000 });
    assert.deepEqual(section, { kind: 'signed-out', host });
    assert.deepEqual(teamCards(), []);
    assert.equal(api.team.approvals().watching, false, 'no session: the service is not followed');
    assert.equal(api.team.approvals().watchStarts, 0);
  });

  it('an approval requested by another principal: the approver\'s MCP API key is refused by the approval endpoints and the approval stays pending', async () => {
    const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
    requester = new Client({ name: 'teammate-agent', version: '1.0.0' });
    await requester.connect(new StreamableHTTPClientTransport(new URL(`${team.url}/mcp/fx`), { requestInit: { headers: { Authorization: `Bearer ${team.keys.operator}` } } }));
    pendingCall = requester.callTool({ name: 'noop', arguments: {} }, undefined, { timeout: 110_000 }).then((r) => (settled = { result: r }), (e) => (settled = { error: e }));
    // The approval exists: the audit has the request waiting (alice asked, through her API key).
    await waitFor('the approval request in the service\'s audit', () => auditRecords(team).find((r) => /"approval\.requested"/.test(JSON.stringify(r)) && JSON.stringify(r).includes('noop')), { timeout: 20_000 });
    // The attack: the approver's own MCP credential on every approval path.
    const bearer = { Authorization: `Bearer ${team.keys.approver}`, 'content-type': 'application/json' };
    const list = await fetch(`${team.url}/ui/api/approvals`, { headers: bearer });
    assert.equal(list.status, 401, await list.text());
    const forged = await fetch(`${team.url}/ui/api/approvals/any`, { method: 'POST', headers: bearer, body: JSON.stringify({ approve: true, digest: 'x' }) });
    assert.equal(forged.status, 401, await forged.text());
    const viaRequest = await fetch(`${team.url}/ui/api/request`, { method: 'POST', headers: bearer, body: JSON.stringify({ type: 'request', id: '1', method: 'approval.decide', params: { approvalId: 'any', digest: 'x', approve: true } }) });
    assert.equal(viaRequest.status, 401, await viaRequest.text());
    await sleep(500);
    assert.equal(settled, undefined, `the call settled without a person's decision: ${JSON.stringify(settled)}`);
    // The API key in SecretStorage did not make the view show the team's approvals either.
    assert.equal(teamSection()?.kind, 'signed-out', JSON.stringify(teamSection()));
    assert.deepEqual(teamCards(), []);
  });

  it('after the separate approver sign-in (OIDC code + PKCE, loopback redirect) the teammate\'s approval shows as a card in the Approvals view', async () => {
    let browser;
    const signedIn = await api.team.signInApproverForTest(async (authorizeUrl) => {
      // A real openExternal returns at once; the person signs in meanwhile.
      browser = browserSignsIn(authorizeUrl, 'u-bob');
    });
    assert.deepEqual(signedIn, { signedIn: true, name: 'bob@example.com' });
    assert.match((await browser).page, /Signed in to MCP Control Plane as bob@example\.com/);
    const card = await waitFor('the teammate\'s noop as a team card', () => teamCards().find((a) => a.server === 'fx' && a.tool === 'noop'), { timeout: 20_000 });
    assert.equal(teamSection().signedInAs, 'bob@example.com');
    assert.equal(teamSection().host, host);
    assert.equal(card.requestedBy, 'alice@example.com');
    assert.deepEqual(card.requestedByRoles, ['operator']);
    // Witness of the previous test: the approval the API key tried to decide is still pending.
    assert.equal(settled, undefined);
    // The view is visible and signed in: the service's event stream is followed.
    assert.equal(api.team.approvals().watching, true);
    // The window's own approvals are untouched by the team's.
    assert.ok(!hooks.approvalsView().pending.some((a) => a.id === card.id));
  });

  it('the requester deciding their own request from the view is refused and shown; the approval stays pending', async () => {
    const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
    // Bob's own agent asks, with his OIDC access token: the same principal as his approver session.
    const token = await accessTokenOf(team, 'u-bob');
    ownAgent = new Client({ name: 'bobs-agent', version: '1.0.0' });
    await ownAgent.connect(new StreamableHTTPClientTransport(new URL(`${team.url}/mcp/fx`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    // Other arguments than the teammate's pending call: an identical call (same server, tool and
    // digest) would join that approval instead of asking for its own.
    ownAgent.callTool({ name: 'noop', arguments: { asker: 'bob' } }, undefined, { timeout: 110_000 }).then((r) => (ownSettled = { result: r }), (e) => (ownSettled = { error: String(e) }));
    const own = await waitFor('bob\'s own request as a team card', () => teamCards().find((a) => a.tool === 'noop' && a.requestedBy === 'bob@example.com'), { timeout: 20_000 }).catch((err) => {
      throw new Error(`${err.message}; cards: ${JSON.stringify(teamCards())}; section: ${JSON.stringify({ ...teamSection(), pending: undefined })}; bob's call: ${JSON.stringify(ownSettled)}`);
    });
    const response = await decideFromView(own, true, 'my own');
    assert.equal(response.ok, false, JSON.stringify(response));
    assert.equal(response.error, 'You asked for this call yourself: nobody decides their own request, so another approver must decide it.');
    await sleep(500);
    // Witness: still pending on the service, still a card, the call has not run.
    assert.ok(teamCards().some((a) => a.id === own.id), JSON.stringify(teamCards()));
    assert.equal(ownSettled, undefined, JSON.stringify(ownSettled));
    assert.ok(!auditRecords(team).some((r) => /approval\.decided/.test(JSON.stringify(r)) && JSON.stringify(r).includes(own.id)), 'a decision of bob\'s own request was recorded');
  });

  it('approving the teammate\'s card from the view records the approver\'s identity in the service\'s audit and runs the call', async () => {
    const card = teamCards().find((a) => a.tool === 'noop' && a.requestedBy === 'alice@example.com');
    assert.ok(card, JSON.stringify(teamCards()));
    const response = await decideFromView(card, true, 'checked from VS Code');
    assert.equal(response.ok, true, JSON.stringify(response));
    // The service answers with who it recorded as the decider.
    assert.deepEqual(response.result, { status: 'approved', decidedBy: 'ui-session (bob@example.com)' });
    const record = await waitFor('approval.decided in the service\'s audit', () => auditRecords(team).find((r) => /approval\.decided/.test(JSON.stringify(r)) && JSON.stringify(r).includes(card.id)), { timeout: 20_000 });
    const text = JSON.stringify(record);
    assert.match(text, /bob@example\.com/, text);
    assert.match(text, /ui-session/, text);
    assert.doesNotMatch(text, /"via":"api-key"/, text);
    // The teammate's call ran once the approver decided.
    await pendingCall;
    assert.ok(settled?.result && !settled.result.isError, JSON.stringify(settled));
    await waitFor('the card to leave the team section', () => !teamCards().some((a) => a.id === card.id), { timeout: 15_000 });
  });

  it('the service is followed only while the Approvals view is visible; signing out brings back the sign-in row', async () => {
    await vscode.commands.executeCommand('workbench.view.explorer');
    await waitFor('following to stop while the view is hidden', () => api.team.approvals().watching === false, { timeout: 15_000 });
    const starts = api.team.approvals().watchStarts;
    await sleep(1_000);
    assert.equal(api.team.approvals().watchStarts, starts, 'nothing opened the stream again while hidden');
    hooks = await openApprovalsView(api);
    await waitFor('following again once visible', () => api.team.approvals().watching === true, { timeout: 15_000 });
    await vscode.commands.executeCommand('mcpControlPlane.team.signOutApprover');
    await waitFor('the sign-in row again', () => teamSection()?.kind === 'signed-out', { timeout: 15_000 });
    assert.deepEqual(teamCards(), []);
    assert.equal(api.team.approvals().watching, false);
  });
});
