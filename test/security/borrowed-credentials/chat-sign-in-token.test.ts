// The access token VS Code's chat gets from the OIDC sign-in (src/extension/team/oidc-client.ts) is
// an MCP credential: it calls tools as the person, and it never decides an approval, even when the
// person is an approver. Witnesses: the approval stays pending and the marker tool never runs, until
// the same person decides through their separate /ui sign-in.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readSignInInfo, TeamOidcClient } from '../../../src/extension/team/oidc-client';
import { OidcIssuer } from '../../fixtures/oidc-issuer/issuer';
import { waitFor } from '../../helpers/fixture-plane';
import { browserSignsIn, NATIVE_CLIENT_ID } from '../../helpers/native-sign-in';
import { AUDIENCE, CLIENT_ID, CLIENT_SECRET, connectAs, signInWithFetch, startTeamPlane, USERS, type TeamPlane } from '../../helpers/team-plane';

describe('team mode: the chat sign-in token never decides approvals', () => {
  let issuer: OidcIssuer;
  let t: TeamPlane;
  before(async () => {
    issuer = await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, users: USERS, nativeClientId: NATIVE_CLIENT_ID });
    t = await startTeamPlane({ issuer, oidc: { nativeClientId: NATIVE_CLIENT_ID } });
  });
  after(async () => {
    await t?.stop();
    await issuer?.close();
  });

  it("an approver's chat access token is refused on every approval path; the approval stays pending; the /ui sign-in decides", async () => {
    const client = new TeamOidcClient(await readSignInInfo(t.base));
    const alice = await client.signIn({ openBrowser: browserSignsIn('u-alice') });
    const bob = await client.signIn({ openBrowser: browserSignsIn('u-bob') });
    assert.equal(bob.account.sub, 'u-bob');

    const marker = join(t.stateDir, 'chat-token-marker');
    const mcp = await connectAs(t.mcpUrl(), alice.accessToken, 'vscode-alice');
    const call = mcp.callTool({ name: 'write_marker', arguments: { path: marker, text: 'approved' } }, undefined, { timeout: 60_000 });
    await waitFor(() => t.plane.oversight!.store.list().length === 1, 10_000, 'the approval');
    const approval = t.plane.oversight!.store.list()[0]!;

    const decide = `${t.base}/ui/api/approvals/${encodeURIComponent(approval.id)}`;
    const body = JSON.stringify({ approve: true, digest: approval.digest });
    const rpc = JSON.stringify({ type: 'request', id: 'r1', method: 'approval.decide', params: { approvalId: approval.id, digest: approval.digest, approve: true } });
    const attempts: Array<Record<string, string>> = [
      { authorization: `Bearer ${bob.accessToken}` },
      { 'x-approver-credential': bob.accessToken },
      { cookie: `mcpcp_ui=${bob.accessToken}`, 'x-csrf-token': bob.accessToken },
      { authorization: `Bearer ${bob.refreshToken!}` },
    ];
    for (const headers of attempts) {
      for (const [path, payload] of [
        [decide, body],
        [`${t.base}/ui/api/request`, rpc],
      ] as const) {
        const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
        const text = await res.text();
        assert.ok(res.status === 401 || res.status === 403, `${Object.keys(headers).join('+')} on ${path}: ${res.status} ${text}`);
      }
    }
    assert.equal((await fetch(`${t.base}/ui/api/approvals`, { headers: { authorization: `Bearer ${bob.accessToken}` } })).status, 401);
    assert.equal(t.plane.oversight!.store.get(approval.id)?.status, 'pending', 'the approval is still pending');
    assert.equal(existsSync(marker), false, 'the tool never ran');

    // Positive control: Bob through his separate /ui sign-in decides; the call runs.
    const bobUi = await signInWithFetch(t, 'u-bob');
    const ok = await fetch(decide, { method: 'POST', headers: { 'content-type': 'application/json', cookie: bobUi.cookie, 'x-csrf-token': bobUi.csrf }, body });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal((await call).isError, undefined);
    assert.equal(readFileSync(marker, 'utf8'), 'approved\n');
    await mcp.close();
  });
});
