// An agent that holds an approver's MCP credential (API key or access token) still cannot approve:
// approval endpoints take only a person signed in at /ui. And that person's /ui session is never
// accepted on /mcp. Witnesses: the approval stays pending and the marker tool never runs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryAudit } from '../../../src/core/audit';
import { waitFor } from '../../helpers/fixture-plane';
import { connectAs, rawInitialize, signInWithFetch, startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

describe('team mode: MCP credentials never decide approvals; /ui sessions never call tools', () => {
  let t: TeamPlane;
  before(async () => {
    t = await startTeamPlane();
  });
  after(async () => {
    await t?.stop();
  });

  it('an approver\'s API key and access token are refused by every approval path; the approval stays pending and the tool never runs', async () => {
    const marker = join(t.stateDir, 'approval-marker');
    const alice = await connectAs(t.mcpUrl(), await t.issuer.accessToken({ sub: 'u-alice', email: 'alice@example.com', roles: ['operator'] }));
    const call = alice.callTool({ name: 'write_marker', arguments: { path: marker, text: 'approved' } }, undefined, { timeout: 60_000 });
    await waitFor(() => t.plane.oversight!.store.list().length === 1, 10_000, 'the approval');
    const approval = t.plane.oversight!.store.list()[0]!;

    // What the agent holds: Bob's (an approver's) API key and his access token.
    const { key: bobKey } = await t.keys.create({ owner: 'bob@example.com', roles: ['approver', 'operator'] });
    const bobToken = await t.issuer.accessToken({ sub: 'u-bob', email: 'bob@example.com', roles: ['approver'] });
    const decide = `${t.base}/ui/api/approvals/${encodeURIComponent(approval.id)}`;
    const body = JSON.stringify({ approve: true, digest: approval.digest });
    const attempts: Array<[string, Record<string, string>]> = [];
    for (const [name, secret] of [['API key', bobKey], ['access token', bobToken]] as const) {
      attempts.push([`${name} as Bearer`, { authorization: `Bearer ${secret}` }]);
      attempts.push([`${name} as X-Approver-Credential`, { 'x-approver-credential': secret }]);
      attempts.push([`${name} as the session cookie`, { cookie: `mcpcp_ui=${secret}`, 'x-csrf-token': secret }]);
    }
    for (const [what, headers] of attempts) {
      for (const path of [decide, `${t.base}/ui/api/request`]) {
        const payload = path === decide ? body : JSON.stringify({ type: 'request', id: 'r1', method: 'approval.decide', params: { approvalId: approval.id, digest: approval.digest, approve: true } });
        const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
        const text = await res.text();
        assert.ok(res.status === 401 || res.status === 403, `${what} on ${path}: ${res.status} ${text}`);
      }
    }
    // The same credentials cannot list approvals either.
    assert.equal((await fetch(`${t.base}/ui/api/approvals`, { headers: { authorization: `Bearer ${bobKey}` } })).status, 401);

    assert.equal(t.plane.oversight!.store.list().length, 1, 'the approval is still pending');
    assert.equal(t.plane.oversight!.store.get(approval.id)?.status, 'pending');
    assert.equal(existsSync(marker), false, 'the tool never ran');

    // A viewer signed in at /ui cannot decide either.
    const vera = await signInWithFetch(t, 'u-vera');
    const veraTry = await fetch(decide, { method: 'POST', headers: { 'content-type': 'application/json', cookie: vera.cookie, 'x-csrf-token': vera.csrf }, body });
    assert.equal(veraTry.status, 403);
    assert.match(await veraTry.text(), /does not hold the approver role/);
    assert.equal(existsSync(marker), false);

    // Positive control: Bob, signed in at /ui as a person, approves; the call runs.
    const bob = await signInWithFetch(t, 'u-bob');
    const ok = await fetch(decide, { method: 'POST', headers: { 'content-type': 'application/json', cookie: bob.cookie, 'x-csrf-token': bob.csrf }, body });
    assert.equal(ok.status, 200, await ok.text());
    const result = await call;
    assert.equal(result.isError, undefined, JSON.stringify(result.content));
    assert.equal(readFileSync(marker, 'utf8'), 'approved\n');
    await alice.close();

    // The audit says who asked and who decided, with roles.
    const auditDir = join(t.stateDir, 'audit');
    await waitFor(async () => (await queryAudit(auditDir, { type: 'approval.decided' }, {})).records.length > 0, 5_000, 'the decision record');
    const decided = (await queryAudit(auditDir, { type: 'approval.decided' }, {})).records[0]!;
    assert.equal(decided.actor?.kind, 'ui-session');
    assert.equal(decided.actor?.id, `oidc:${t.issuer.issuer}#u-bob`);
    assert.equal(decided.actor?.name, 'bob@example.com');
    assert.deepEqual(decided.actor?.roles, ['approver']);
    const requested = (await queryAudit(auditDir, { type: 'call.requested', tool: 'write_marker' }, {})).records[0]!;
    assert.equal(requested.principal?.id, `oidc:${t.issuer.issuer}#u-alice`);

    // The dashboard and /ui show them: who asked (calls table), who decided (approvals history).
    const rows = (await t.plane.oversight!.queryAudit({ tool: 'write_marker' }, undefined, 50)).records;
    assert.ok(rows.some((r) => r.principal === 'alice@example.com (operator)'), JSON.stringify(rows));
    const state = await t.plane.oversight!.state(3_600_000);
    assert.equal(state.history.find((h) => h.id === approval.id)?.decidedBy, 'ui-session (bob@example.com)');
  });

  it('a /ui session cookie is refused on /mcp (as a cookie and as a bearer value)', async () => {
    const bob = await signInWithFetch(t, 'u-bob');
    const sessionId = bob.cookie.split('=')[1]!;
    const asCookie = await rawInitialize(t.mcpUrl(), { cookie: bob.cookie });
    assert.equal(asCookie.status, 401, asCookie.text);
    const asBearer = await rawInitialize(t.mcpUrl(), { authorization: `Bearer ${sessionId}`, cookie: bob.cookie });
    assert.equal(asBearer.status, 401, asBearer.text);
    // The same session still works where it belongs.
    const list = await fetch(`${t.base}/ui/api/approvals`, { headers: { cookie: bob.cookie } });
    assert.equal(list.status, 200);
  });

  it('the approver credential is not accepted in team mode, and sign-in with the credential form is closed', async () => {
    const res = await fetch(`${t.base}/ui/api/approvals`, { headers: { 'x-approver-credential': 'mcpcp_appr_whatever-it-is-it-is-refused' } });
    assert.equal(res.status, 403);
    const login = await fetch(`${t.base}/ui/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'credential=x' });
    assert.equal(login.status, 403);
    await login.text();
  });

  it('a callback without the sign-in cookie (login CSRF, a replayed code) starts no session', async () => {
    const start = await fetch(`${t.base}/ui/auth/login`, { redirect: 'manual' });
    const authorize = new URL(start.headers.get('location')!);
    const form = new URLSearchParams();
    for (const k of ['client_id', 'redirect_uri', 'state', 'nonce', 'code_challenge', 'scope']) form.set(k, authorize.searchParams.get(k) ?? '');
    form.set('user', 'u-bob');
    const back = await fetch(`${t.issuer.issuer}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    const callback = await fetch(back.headers.get('location')!, { redirect: 'manual' });
    assert.equal(callback.status, 400);
    assert.equal(callback.headers.getSetCookie().some((c) => c.startsWith('mcpcp_ui=') && !c.includes('Max-Age=0')), false);
    await callback.text();
  });
});
