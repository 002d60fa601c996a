// VS Code's approver sign-in (src/extension/team/approver.ts) against a real team-mode gateway and
// /ui with the fixture OIDC issuer: OIDC code + PKCE with a loopback redirect on 127.0.0.1 (RFC
// 8252), finished by the client that holds the sign-in cookie. Attacks: a redirect away from
// loopback, a code redeemed without the sign-in cookie, and the MCP API key on approval paths.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isLoopbackRedirect } from '../../../src/core/team/ui-sign-in';
import { decideTeamApproval, listTeamApprovals, signInApprover } from '../../../src/extension/team/approver';
import { connectAs, issuerRedirect, startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

describe('team client: approver sign-in with a loopback redirect', () => {
  let t: TeamPlane;
  let operatorKey: string;
  let approverKey: string;

  before(async () => {
    t = await startTeamPlane({ rules: [{ id: 'noop-needs-approval', server: 'fx', tool: 'noop', decision: 'approve' }] as never, team: { roles: { users: { 'alice@example.com': ['operator'], 'bob@example.com': ['approver'] }, groups: {} } } });
    operatorKey = (await t.keys.create({ owner: 'alice@example.com', roles: ['operator'] })).key;
    approverKey = (await t.keys.create({ owner: 'bob@example.com', roles: ['approver', 'operator'] })).key;
  });
  after(async () => t?.stop());

  it('accepts only http://127.0.0.1:<port>/<path> as a native redirect', () => {
    assert.equal(isLoopbackRedirect('http://127.0.0.1:45123/callback'), true);
    for (const bad of ['https://evil.example/cb', 'http://localhost:45123/cb', 'http://127.0.0.1/cb', 'http://127.0.0.1.evil.example:80/cb', 'http://u@127.0.0.1:1/cb', 'http://127.0.0.1:1/cb?x=1', 'javascript:alert(1)']) {
      assert.equal(isLoopbackRedirect(bad), false, bad);
    }
  });

  it('refuses to start a sign-in that would send the code off this machine (no redirect to the issuer)', async () => {
    const res = await fetch(`${t.base}/ui/auth/login?loopback=${encodeURIComponent('https://evil.example/cb')}`, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /loopback must be http:\/\/127\.0\.0\.1/);
  });

  it('a code that reached the loopback cannot be redeemed without the sign-in cookie; the holder of the cookie redeems that same code', async () => {
    const start = await fetch(`${t.base}/ui/auth/login?loopback=${encodeURIComponent('http://127.0.0.1:1/callback')}`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    const cookie = start.headers.getSetCookie()[0]!.split(';')[0]!;
    const location = await issuerRedirect(start.headers.get('location')!, 'u-bob');
    assert.match(location, /^http:\/\/127\.0\.0\.1:1\/callback\?code=/);
    const search = new URL(location).search;
    const stolen = await fetch(`${t.base}/ui/auth/native${search}`, { redirect: 'manual' });
    assert.equal(stolen.status, 400);
    assert.equal(stolen.headers.getSetCookie().some((c) => /^mcpcp_ui=[^;]+/.test(c)), false, 'no session without the sign-in cookie');
    // Witness that the refusal was the cookie, not a bad code: the same code works for its holder.
    const finished = await fetch(`${t.base}/ui/auth/native${search}`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(finished.status, 200, await finished.clone().text());
    assert.equal(((await finished.json()) as { signedIn: string }).signedIn, 'bob@example.com');
  });

  it('signs the approver in through the loopback; their decision is recorded with their identity; the API key decides nothing', async () => {
    const alice = await connectAs(t.mcpUrl(), operatorKey, 'teammate');
    let settled: unknown;
    const call = alice.callTool({ name: 'noop', arguments: {} }, undefined, { timeout: 60_000 }).then((r) => (settled = r));
    const session = await signInApprover(t.base, async (url) => {
      const location = await issuerRedirect(url, 'u-bob');
      void fetch(location); // the browser follows the redirect to the extension's loopback
    }, { timeoutMs: 20_000 });
    assert.equal(session.name, 'bob@example.com');
    assert.ok(session.roles.includes('approver'));
    let pending;
    for (let i = 0; i < 50 && !pending; i++) {
      const read = await listTeamApprovals(t.base, session);
      pending = read.kind === 'ok' ? read.pending.find((a) => a.tool === 'noop') : undefined;
      if (!pending) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(pending, 'the pending approval is listed for the signed-in approver');
    // The approver's MCP API key on the approval paths: refused, and the call keeps waiting.
    const forged = await fetch(`${t.base}/ui/api/approvals/${encodeURIComponent(pending.id)}`, { method: 'POST', headers: { authorization: `Bearer ${approverKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ approve: true, digest: pending.digest }) });
    assert.equal(forged.status, 401);
    assert.equal((await listTeamApprovals(t.base, { ...session, cookie: `mcpcp_ui=${approverKey}` })).kind, 'signed-out');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, undefined, 'the call ran without a decision');
    const decided = await decideTeamApproval(t.base, session, pending, true, 'from VS Code');
    // The service answers with who it recorded as the decider: the person, not a key.
    assert.deepEqual(decided, { ok: true, status: 'approved', decidedBy: 'ui-session (bob@example.com)' });
    await call;
    const history = await listTeamApprovals(t.base, session);
    assert.equal(history.kind === 'ok' && history.pending.some((a) => a.id === pending.id), false);
    const res = await fetch(`${t.base}/ui/api/approvals`, { headers: { cookie: session.cookie } });
    const body = (await res.json()) as { history: Array<{ id: string; decidedBy?: string }> };
    assert.equal(body.history.find((h) => h.id === pending.id)?.decidedBy, 'ui-session (bob@example.com)');
    await alice.close();
  });
});
