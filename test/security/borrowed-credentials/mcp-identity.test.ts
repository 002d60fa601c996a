// Team mode on /mcp: only OIDC access tokens (checked against the issuer's JWKS) and API keys get
// in; each request carries the principal they name; roles bound what a principal can run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryAudit } from '../../../src/core/audit';
import { AUDIENCE, connectAs, rawInitialize, startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

describe('team mode: who may use /mcp, and as whom', () => {
  let t: TeamPlane;
  before(async () => {
    t = await startTeamPlane({ rules: [{ tool: 'write_marker', decision: 'allow' }] });
  });
  after(async () => {
    await t?.stop();
  });

  it('accepts an OIDC access token and records its principal (id, name, via, roles, groups) in the audit', async () => {
    const token = await t.issuer.accessToken({ sub: 'u-alice', email: 'alice@example.com', roles: ['operator'], groups: ['dev'] });
    const client = await connectAs(t.mcpUrl(), token);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    assert.equal(result.isError, undefined);
    await client.close();
    const records = (await queryAudit(join(t.stateDir, 'audit'), { type: 'call.requested' }, { limit: 100 })).records;
    const mine = records.find((r) => r.tool === 'echo');
    assert.ok(mine, 'the call is audited');
    assert.equal(mine.principal?.id, `oidc:${t.issuer.issuer}#u-alice`);
    assert.equal(mine.principal?.name, 'alice@example.com');
    assert.equal(mine.principal?.via, 'oidc-token');
    assert.deepEqual(mine.principal?.roles, ['operator']);
    assert.deepEqual(mine.principal?.groups, ['dev']);
  });

  it('refuses expired, wrong-audience, wrong-issuer and unknown-key tokens, and the loopback client token', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['expired', await t.issuer.accessToken({ expiresIn: -600 }), /expired/],
      ['wrong audience', await t.issuer.accessToken({ audience: 'someone-else' }), new RegExp(`audience must include .{1,2}${AUDIENCE}`)],
      ['wrong issuer', await t.issuer.accessToken({ issuer: 'https://evil.example.com' }), /not issued by/],
      ['unknown key id', await t.issuer.accessToken({ unpublishedKey: true }), /key the identity provider does not publish/],
      ['loopback client token', t.plane.gateway.token, /neither a valid access token nor an API key/],
      ['garbage', 'not-a-token', /neither a valid access token nor an API key/],
    ];
    for (const [what, bearer, message] of cases) {
      const res = await rawInitialize(t.mcpUrl(), { authorization: `Bearer ${bearer}` });
      assert.equal(res.status, 401, `${what}: ${res.text}`);
      assert.match(res.text, message, what);
    }
    const none = await rawInitialize(t.mcpUrl(), {});
    assert.equal(none.status, 401);
    // Within the expiry skew a just-expired token still passes (clockSkewSeconds, default 60).
    const justExpired = await t.issuer.accessToken({ expiresIn: -5 });
    assert.equal((await rawInitialize(t.mcpUrl(), { authorization: `Bearer ${justExpired}` })).status, 200);
  });

  it('accepts a token signed by a key rotated in at the issuer, without a restart', async () => {
    const fresh = await t.issuer.rotate(true);
    const token = await t.issuer.accessToken({ key: fresh });
    const client = await connectAs(t.mcpUrl(), token);
    assert.equal((await client.callTool({ name: 'echo', arguments: { text: 'rotated' } })).isError, undefined);
    await client.close();
  });

  it('a principal without any role is refused with 403', async () => {
    const token = await t.issuer.accessToken({ sub: 'u-nora', email: 'nora@example.com', roles: [], groups: [] });
    const res = await rawInitialize(t.mcpUrl(), { authorization: `Bearer ${token}` });
    assert.equal(res.status, 403);
    assert.match(res.text, /nora@example.com has no role/);
  });

  it('a viewer cannot run a write tool even where a rule allows it (witness: the marker file), an operator can', async () => {
    const marker = join(t.stateDir, 'viewer-marker');
    const viewer = await connectAs(t.mcpUrl(), await t.issuer.accessToken({ sub: 'u-vera', email: 'vera@example.com', roles: ['viewer'], groups: [] }));
    const refused = await viewer.callTool({ name: 'write_marker', arguments: { path: marker } });
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /read-only requests/);
    assert.equal(existsSync(marker), false, 'the viewer\'s call never ran');
    // Read-only tools are the viewer's.
    assert.equal((await viewer.callTool({ name: 'echo', arguments: { text: 'look' } })).isError, undefined);
    await viewer.close();

    const operator = await connectAs(t.mcpUrl(), await t.issuer.accessToken({ sub: 'u-alice', roles: ['operator'] }));
    const ran = await operator.callTool({ name: 'write_marker', arguments: { path: marker, text: 'operator' } });
    assert.equal(ran.isError, undefined, JSON.stringify(ran.content));
    assert.equal(readFileSync(marker, 'utf8'), 'operator\n');
    await operator.close();
  });

  it('a session opened by one principal is not found for another (no session riding)', async () => {
    const alice = await t.issuer.accessToken({ sub: 'u-alice', roles: ['operator'] });
    const opened = await fetch(t.mcpUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${alice}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'a', version: '1' } } }),
    });
    const sessionId = opened.headers.get('mcp-session-id');
    await opened.text();
    assert.ok(sessionId);
    const vera = await t.issuer.accessToken({ sub: 'u-vera', roles: ['viewer'] });
    const res = await fetch(t.mcpUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${vera}`, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
    });
    assert.equal(res.status, 404);
    await res.text();
  });

  it('/metrics takes a team credential or the local client token, nothing else', async () => {
    const { key } = await t.keys.create({ owner: 'prometheus', roles: ['viewer'] });
    const get = (headers: Record<string, string>) => fetch(`${t.base}/metrics`, { headers }).then(async (r) => [r.status, await r.text()] as const);
    assert.equal((await get({ authorization: `Bearer ${key}` }))[0], 200);
    assert.equal((await get({ authorization: `Bearer ${t.plane.gateway.token}` }))[0], 200);
    assert.equal((await get({}))[0], 401);
    assert.equal((await get({ authorization: 'Bearer mcpcp_key_AAAAAAAAAAAA_' + 'x'.repeat(43) }))[0], 401);
  });
});
