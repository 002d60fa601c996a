// The team client's parts that need no VS Code: which URL counts (user settings only), where the
// API key is kept, how the service's /status is read (over real loopback HTTP) and shown.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { manifestContributions } from '../../../src/extension/manifest';
import { apiKeySecretName, checkApiKey, fetchTeamStatus, parseTeamUrl, remoteMcpUrl, remoteRow, TEAM_URL_SETTING, teamNotice, teamTarget } from '../../../src/extension/team/remote';

const KEY = 'mcpcp_key_abcdEFGH1234_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('team client: the team URL setting', () => {
  it('is application-scoped in package.json, so VS Code itself keeps workspace values out', () => {
    const setting = manifestContributions().configuration.properties[TEAM_URL_SETTING] as { scope: string; markdownDescription: string };
    assert.equal(setting.scope, 'application');
    assert.match(setting.markdownDescription, /workspace or folder .* is ignored/);
  });

  it('counts only the user value; a workspace or folder value is ignored and reported', () => {
    const attacker = 'https://collector.example.net';
    assert.deepEqual(teamTarget({ workspaceValue: attacker }), { kind: 'none', ignored: ['workspace'] });
    assert.deepEqual(teamTarget({ workspaceFolderValue: attacker }), { kind: 'none', ignored: ['folder'] });
    const both = teamTarget({ globalValue: 'https://mcp.example.com', workspaceValue: attacker, workspaceFolderValue: attacker });
    assert.deepEqual(both, { kind: 'team', origin: 'https://mcp.example.com', host: 'mcp.example.com', ignored: ['workspace', 'folder'] });
    assert.deepEqual(teamTarget(undefined), { kind: 'none', ignored: [] });
    assert.deepEqual(teamTarget({ globalValue: '  ' }), { kind: 'none', ignored: [] });
  });

  it('takes https anywhere and http only on loopback; origin only; no credentials in the URL', () => {
    assert.deepEqual(parseTeamUrl('https://mcp.example.com:8443'), { origin: 'https://mcp.example.com:8443', host: 'mcp.example.com:8443' });
    assert.deepEqual(parseTeamUrl('http://127.0.0.1:9000/'), { origin: 'http://127.0.0.1:9000', host: '127.0.0.1:9000' });
    assert.match((parseTeamUrl('http://mcp.example.com') as { message: string }).message, /clear text; use https/);
    assert.match((parseTeamUrl('https://mcp.example.com/mcp/git') as { message: string }).message, /origin only \(https:\/\/mcp\.example\.com\)/);
    assert.match((parseTeamUrl('https://u:p@mcp.example.com') as { message: string }).message, /remove the user name/);
    assert.match((parseTeamUrl('mcp.example.com') as { message: string }).message, /not a URL/);
    const invalid = teamTarget({ globalValue: 'http://10.0.0.5' });
    assert.equal(invalid.kind, 'invalid');
  });

  it('keeps the API key per origin, so a key is never sent to another control plane', () => {
    assert.notEqual(apiKeySecretName('https://a.example.com'), apiKeySecretName('https://b.example.com'));
    assert.equal(checkApiKey(KEY), undefined);
    assert.match(checkApiKey('eyJhbGciOi.not-a-key')!, /mcpcp_key_<id>_<secret>/);
  });
});

describe('team client: reading GET /status of the service', () => {
  let server: Server;
  let origin: string;
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  let elsewhere: Server;
  let elsewhereOrigin: string;
  const elsewhereSeen: IncomingHttpHeaders[] = [];

  before(async () => {
    // Where a redirect would lead: a capturing listener (it must see nothing).
    elsewhere = createServer((req, res) => {
      elsewhereSeen.push(req.headers);
      res.end('{}');
    });
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', () => r()));
    elsewhereOrigin = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url === '/status' && req.headers.authorization === `Bearer ${KEY}`) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ pid: 1, servers: [{ name: 'fx', state: { kind: 'running', pid: 9 }, toolCount: 12 }, { name: 'k8s', state: { kind: 'crash-looping' }, toolCount: 0, lastError: 'exit 1' }, { name: '../evil', state: { kind: 'running' } }] }));
      } else if (req.headers.authorization === 'Bearer redirect-me') {
        res.writeHead(302, { location: `${elsewhereOrigin}/status` });
        res.end();
      } else {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'unauthorized: unknown API key' } }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    elsewhere.close();
  });

  it('sends the key as a bearer token and keeps name, state, tools and last error of well-named servers', async () => {
    const status = await fetchTeamStatus(origin, KEY);
    assert.equal(status.kind, 'ok');
    assert.deepEqual(status.kind === 'ok' && status.servers, [
      { name: 'fx', state: 'running', toolCount: 12 },
      { name: 'k8s', state: 'crash-looping', toolCount: 0, lastError: 'exit 1' },
    ]);
    assert.equal(seen.at(-1)!.headers.authorization, `Bearer ${KEY}`);
  });

  it('without a key it sends nothing; a refused key is reported with the service\'s reason', async () => {
    const before = seen.length;
    assert.deepEqual(await fetchTeamStatus(origin, undefined), { kind: 'no-key' });
    assert.equal(seen.length, before, 'no request without a key');
    const refused = await fetchTeamStatus(origin, 'mcpcp_key_wrong');
    assert.equal(refused.kind, 'refused');
    assert.equal(refused.kind === 'refused' && refused.status, 401);
    assert.equal(refused.kind === 'refused' && refused.message, 'unauthorized: unknown API key');
    assert.equal(teamNotice(refused, 'mcp.example.com'), 'Team mcp.example.com: the API key was refused (401): set another…');
  });

  it('never follows a redirect: the key does not reach another listener', async () => {
    const status = await fetchTeamStatus(origin, 'redirect-me');
    assert.equal(status.kind, 'refused');
    assert.match(status.kind === 'refused' ? status.message : '', /not followed/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(elsewhereSeen.length, 0, 'the redirect target received a request');
  });

  it('an unreachable service is reported as such', async () => {
    const status = await fetchTeamStatus('http://127.0.0.1:1', KEY, 2_000);
    assert.equal(status.kind, 'unreachable');
    assert.match(teamNotice(status, '127.0.0.1:1')!, /^Team 127\.0\.0\.1:1: unreachable/);
  });

  it('rows are marked remote with the host; the MCP URL is the service\'s /mcp/<name>', () => {
    assert.equal(remoteRow({ name: 'fx', state: 'running', toolCount: 12 }, 'mcp.example.com').description, 'remote · mcp.example.com · running, 12 tools');
    assert.equal(remoteRow({ name: 'k8s', state: 'crash-looping', toolCount: 0 }, 'mcp.example.com').color, 'list.errorForeground');
    assert.equal(remoteMcpUrl('https://mcp.example.com', 'fx'), 'https://mcp.example.com/mcp/fx');
  });
});
