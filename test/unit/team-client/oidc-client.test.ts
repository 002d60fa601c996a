// The OIDC sign-in of VS Code's chat to a team control plane (src/extension/team/oidc-client.ts),
// against a real team-mode gateway and the fixture issuer over loopback HTTP: how the service says
// to sign in (RFC 9728), the code + PKCE flow with a loopback redirect, what is refused (state,
// nonce, PKCE verifier), refresh, and that no token reaches a log.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryAudit } from '../../../src/core/audit';
import { ControlPlaneError } from '../../../src/core/errors';
import { NATIVE_CLIENT_ID_MEMBER, ProtectedResource, teamConfigSchema } from '../../../src/core/team';
import { needsRefresh, oidcSessionSecretName, readSignInInfo, TeamOidcClient, type OidcSession } from '../../../src/extension/team/oidc-client';
import { OidcIssuer } from '../../fixtures/oidc-issuer/issuer';
import { waitFor } from '../../helpers/fixture-plane';
import { browserSignsIn, codeFor, NATIVE_CLIENT_ID, type BrowserVisit } from '../../helpers/native-sign-in';
import { AUDIENCE, CLIENT_ID, CLIENT_SECRET, connectAs, rawInitialize, startTeamPlane, USERS, type TeamPlane } from '../../helpers/team-plane';

/** Everything the client logged, across the file: checked for secrets at the end. */
const logged: string[] = [];
/** Every token, code and verifier seen, to look for in `logged`. */
const secrets = new Set<string>();

function remember(session: OidcSession): OidcSession {
  secrets.add(session.accessToken);
  if (session.refreshToken) secrets.add(session.refreshToken);
  return session;
}

async function rejection(promise: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ControlPlaneError, `a ControlPlaneError, got ${String(err)}`);
    return err;
  }
  assert.fail('it should have been refused');
}

describe('team client: OIDC sign-in for chat (native client, loopback redirect)', () => {
  let issuer: OidcIssuer;
  let t: TeamPlane;
  let client: TeamOidcClient;

  before(async () => {
    issuer = await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, users: USERS, nativeClientId: NATIVE_CLIENT_ID });
    // No clock skew tolerance: an expired access token is refused at once.
    t = await startTeamPlane({ issuer, oidc: { nativeClientId: NATIVE_CLIENT_ID, clockSkewSeconds: 0 } });
    client = new TeamOidcClient(await readSignInInfo(t.base), (m) => logged.push(m));
  });
  after(async () => {
    await t?.stop();
    await issuer?.close();
  });

  it('the service says how to sign in, without a credential: RFC 9728 metadata, and the hint on a 401 from /mcp', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(`${t.base}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await res.json(), {
        resource: `${t.base}/mcp`,
        authorization_servers: [issuer.issuer],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        bearer_methods_supported: ['header'],
        resource_name: `MCP Control Plane (${new URL(t.base).host})`,
        [NATIVE_CLIENT_ID_MEMBER]: NATIVE_CLIENT_ID,
      });
    }
    // A 401 on a server's endpoint names the metadata of exactly that resource (RFC 9728 §5.1, §3.3).
    const refused = await fetch(t.mcpUrl('fx'), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    assert.equal(refused.status, 401);
    await refused.text();
    const challenge = refused.headers.get('www-authenticate') ?? '';
    const hinted = /^Bearer resource_metadata="([^"]+)"$/.exec(challenge)?.[1];
    assert.equal(hinted, `${t.base}/.well-known/oauth-protected-resource/mcp/fx`, challenge);
    const doc = (await (await fetch(hinted!)).json()) as { resource: string; authorization_servers: string[] };
    assert.equal(doc.resource, t.mcpUrl('fx'));
    assert.deepEqual(doc.authorization_servers, [issuer.issuer]);
    assert.equal((await fetch(`${t.base}/.well-known/oauth-protected-resource/other/thing`)).status, 401, 'no other path under the prefix is public');
    // A refused API key gets no sign-in hint: its client must not start an OAuth sign-in.
    const badKey = await fetch(t.mcpUrl('fx'), { method: 'POST', headers: { authorization: 'Bearer mcpcp_key_AAAAAAAAAAAA_revoked-or-unknown-key-0123456789abcdef', 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    assert.equal(badKey.status, 401);
    await badKey.text();
    assert.equal(badKey.headers.get('www-authenticate'), 'Bearer');
    // The metadata holds no secret: the /ui client's secret is nowhere in it.
    const text = await (await fetch(`${t.base}/.well-known/oauth-protected-resource`)).text();
    assert.doesNotMatch(text, new RegExp(CLIENT_SECRET));
  });

  it('without team.oidc there is nothing to publish; without nativeClientId the client is told to use an API key', async () => {
    const keysOnly = new ProtectedResource(teamConfigSchema.parse({ publicUrl: 'https://mcp.example.com' }));
    assert.equal(keysOnly.enabled, false);
    assert.equal(keysOnly.metadata('/.well-known/oauth-protected-resource'), undefined);
    assert.equal(keysOnly.challenge('/mcp/git'), 'Bearer');
    const noNative = new ProtectedResource(teamConfigSchema.parse({ publicUrl: 'https://mcp.example.com', oidc: { issuer: 'https://id.example.com', audience: 'mcp' } }));
    assert.equal(noNative.metadata('/.well-known/oauth-protected-resource/mcp')?.[NATIVE_CLIENT_ID_MEMBER], undefined);
    // A service that publishes such metadata (or none): the client says what to do instead.
    let answer: 'foreign' | 'own' | 'none' = 'foreign';
    const server: Server = createServer((req, res) => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const doc = req.url === '/.well-known/oauth-protected-resource/mcp' && answer !== 'none' ? { ...noNative.metadata(req.url), ...(answer === 'own' ? { resource: `${origin}/mcp` } : {}) } : undefined;
      res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(doc ?? {}));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      // Its resource is https://mcp.example.com/mcp, not this origin's: refused before anything else.
      assert.match((await rejection(readSignInInfo(origin))).message, /names the resource https:\/\/mcp\.example\.com\/mcp, not http:\/\/127\.0\.0\.1:\d+\/mcp; refused/);
      answer = 'own';
      const noClient = await rejection(readSignInInfo(origin));
      assert.equal(noClient.code, 'NO_OIDC');
      assert.match(noClient.message, /names no client for native apps \(its admin sets team\.oidc\.nativeClientId\): use an API key/);
      answer = 'none';
      const none = await rejection(readSignInInfo(origin));
      assert.equal(none.code, 'NO_OIDC');
      assert.match(none.message, /offers no OIDC sign-in .*: use an API key/);
    } finally {
      server.close();
    }
    const err = await rejection(readSignInInfo('http://127.0.0.1:1'));
    assert.equal(err.code, 'ISSUER_UNREACHABLE');
  });

  it('signs in with code + PKCE S256 on a random loopback port; the access token is accepted on /mcp and the audit names the person', async () => {
    const visits: BrowserVisit[] = [];
    const before = issuer.tokenRequests.length;
    const session = remember(await client.signIn({ openBrowser: browserSignsIn('u-alice', { visits }) }));
    await waitFor(() => visits.length === 1, 5_000, "the browser's page");
    const asked = visits[0]!.authorizeUrl.searchParams;
    assert.equal(asked.get('client_id'), NATIVE_CLIENT_ID);
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.match(asked.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(asked.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.notEqual(new URL(asked.get('redirect_uri')!).port, new URL(t.base).port);
    assert.equal(asked.get('resource'), `${t.base}/mcp`);
    assert.equal(asked.get('scope'), 'openid profile email offline_access');
    assert.ok((asked.get('state') ?? '').length >= 32 && (asked.get('nonce') ?? '').length >= 32);
    assert.equal(visits[0]!.loopbackStatus, 200);
    assert.match(visits[0]!.loopbackText, /Signed in to the MCP Control Plane at 127\.0\.0\.1:\d+ as alice@example\.com/);
    // One code exchange, by the public client (no secret), asking for the service's resource.
    assert.deepEqual(issuer.tokenRequests.slice(before), [{ grantType: 'authorization_code', clientId: NATIVE_CLIENT_ID, resource: `${t.base}/mcp` }]);
    assert.deepEqual(session.account, { sub: 'u-alice', label: 'alice@example.com' });
    assert.equal(session.origin, t.base);
    assert.ok(session.refreshToken, 'offline_access gave a refresh token');
    assert.ok(session.expiresAt > Date.now() + 200_000);

    const mcp = await connectAs(t.mcpUrl(), session.accessToken, 'vscode-oidc');
    const result = await mcp.callTool({ name: 'echo', arguments: { text: 'as alice' } });
    assert.equal(result.isError, undefined, JSON.stringify(result.content));
    await mcp.close();
    const requested = (await queryAudit(join(t.stateDir, 'audit'), { type: 'call.requested', tool: 'echo' }, { limit: 100 })).records.at(-1)!;
    assert.equal(requested.principal?.id, `oidc:${issuer.issuer}#u-alice`);
    assert.equal(requested.principal?.via, 'oidc-token');
    // The loopback listener is gone once the sign-in ended.
    await assert.rejects(fetch(asked.get('redirect_uri')!), /fetch failed/);
    assert.notEqual(oidcSessionSecretName(t.base), oidcSessionSecretName('https://other.example.com'));
  });

  it('a redirect with another state (a forged or foreign sign-in) is refused and nothing is exchanged; the real one still signs the person in', async () => {
    const before = issuer.tokenRequests.length;
    const visits: BrowserVisit[] = [];
    let forged: { status: number; text: string } | undefined;
    const session = remember(
      await client.signIn({
        openBrowser: async (url) => {
          // Before the person's browser comes back, a local page sends Bob's code (the attacker's own sign-in) to the loopback.
          const redirect = new URL(url).searchParams.get('redirect_uri')!;
          const code = await codeFor(issuer.issuer, 'u-bob', redirect);
          const res = await fetch(`${redirect}?code=${code}&state=guessed-state&iss=${encodeURIComponent(issuer.issuer)}`);
          forged = { status: res.status, text: await res.text() };
          return browserSignsIn('u-alice', { visits })(url);
        },
      }),
    );
    assert.equal(forged?.status, 400);
    assert.match(forged!.text, /state differs\); it was ignored/);
    // Witness: the forged code was never exchanged (one exchange: Alice's), and the session is Alice's.
    assert.deepEqual(issuer.tokenRequests.slice(before).map((r) => r.grantType), ['authorization_code']);
    assert.equal(session.account.sub, 'u-alice');
    assert.ok(logged.some((l) => /a redirect to the loopback with another state was refused/.test(l)));
  });

  it('a redirect naming another issuer (a mix-up, RFC 9207) is refused with nothing exchanged', async () => {
    const before = issuer.tokenRequests.length;
    const visits: BrowserVisit[] = [];
    const err = await rejection(client.signIn({ openBrowser: browserSignsIn('u-alice', { visits, redirect: (l) => l.searchParams.set('iss', 'https://evil.example.com') }), timeoutMs: 1_500 }));
    assert.equal(err.code, 'SIGN_IN_TIMEOUT');
    assert.equal(visits[0]?.loopbackStatus, 400);
    assert.match(visits[0]!.loopbackText, /comes from another identity provider than the one VS Code asked; it was ignored/);
    assert.equal(issuer.tokenRequests.length, before, 'the code was never exchanged');
  });

  it('an ID token with another nonce (an injected sign-in) is refused', async () => {
    const err = await rejection(client.signIn({ openBrowser: browserSignsIn('u-alice', { tamper: (f) => f.set('nonce', 'nonce-of-another-sign-in') }) }));
    assert.equal(err.code, 'SIGN_IN_FAILED');
    assert.match(err.message, /carries another nonce than this sign-in sent/);
  });

  it('an ID token signed by a key the issuer does not publish, or meant for another client, is refused', async () => {
    try {
      issuer.idTokenFault = 'unpublished-key';
      const unsigned = await rejection(client.signIn({ openBrowser: browserSignsIn('u-alice') }));
      assert.equal(unsigned.code, 'SIGN_IN_FAILED');
      assert.match(unsigned.message, /the ID token from http:\/\/127\.0\.0\.1:\d+ is not acceptable \(no applicable key found in the JSON Web Key Set\)/);
      issuer.idTokenFault = 'other-audience';
      const foreign = await rejection(client.signIn({ openBrowser: browserSignsIn('u-alice') }));
      assert.match(foreign.message, /is not acceptable \(unexpected "aud" claim value\)/);
    } finally {
      issuer.idTokenFault = undefined;
    }
  });

  it('the issuer checks the PKCE verifier: a code issued for another challenge cannot be exchanged', async () => {
    const errors = issuer.tokenErrors.length;
    const visits: BrowserVisit[] = [];
    const err = await rejection(client.signIn({ openBrowser: browserSignsIn('u-alice', { visits, tamper: (f) => f.set('code_challenge', 'A'.repeat(43)) }) }));
    assert.equal(err.code, 'SIGN_IN_FAILED');
    assert.match(err.message, /refused the token request \(invalid_grant: PKCE verifier does not match\)/);
    assert.deepEqual(issuer.tokenErrors.slice(errors), ['PKCE verifier does not match']);
    await waitFor(() => visits.length === 1, 5_000, "the browser's page");
    assert.match(visits[0]!.loopbackText, /Sign-in failed: .*PKCE verifier does not match/);
  });

  it('a sign-in nobody finishes ends after its timeout, and can be cancelled', async () => {
    const timedOut = await rejection(client.signIn({ openBrowser: async () => true, timeoutMs: 300 }));
    assert.equal(timedOut.code, 'SIGN_IN_TIMEOUT');
    const abort = new AbortController();
    const cancelled = client.signIn({ openBrowser: async () => (setTimeout(() => abort.abort(), 50), true), signal: abort.signal });
    assert.equal((await rejection(cancelled)).code, 'SIGN_IN_CANCELLED');
    const noBrowser = await rejection(client.signIn({ openBrowser: async () => false }));
    assert.match(noBrowser.message, /browser could not be opened/);
  });

  it('an expired access token is refused by the service and renewed with the refresh token; the old refresh token is then spent', async () => {
    issuer.accessTokenSeconds = 2;
    try {
      const session = remember(await client.signIn({ openBrowser: browserSignsIn('u-alice') }));
      assert.equal(needsRefresh(session, session.obtainedAt), false, 'a fresh token of 2 s is not renewed at once');
      assert.equal(needsRefresh(session, session.obtainedAt! + 1_100), true, 'past half its lifetime it is');
      await new Promise((r) => setTimeout(r, 2_500));
      const stale = await rawInitialize(t.mcpUrl(), { authorization: `Bearer ${session.accessToken}` });
      assert.equal(stale.status, 401, stale.text);
      assert.match(stale.text, /the access token has expired/);
      const before = issuer.tokenRequests.length;
      const renewed = remember(await client.refresh(session));
      assert.deepEqual(issuer.tokenRequests.slice(before), [{ grantType: 'refresh_token', clientId: NATIVE_CLIENT_ID, resource: `${t.base}/mcp` }]);
      assert.notEqual(renewed.accessToken, session.accessToken);
      assert.notEqual(renewed.refreshToken, session.refreshToken, 'the issuer rotates refresh tokens');
      assert.equal(renewed.id, session.id);
      assert.deepEqual(renewed.account, session.account);
      const mcp = await connectAs(t.mcpUrl(), renewed.accessToken, 'vscode-oidc-renewed');
      assert.equal((await mcp.callTool({ name: 'noop', arguments: {} })).isError, undefined);
      await mcp.close();
      // The spent refresh token: the sign-in is over for whoever holds it.
      const spent = await rejection(client.refresh(session));
      assert.equal(spent.code, 'SIGN_IN_NEEDED');
    } finally {
      issuer.accessTokenSeconds = 300;
    }
  });

  it('when the issuer ends the session, refreshing says to sign in again', async () => {
    const session = remember(await client.signIn({ openBrowser: browserSignsIn('u-alice') }));
    assert.ok(issuer.endRefreshTokens() >= 1);
    const err = await rejection(client.refresh(session));
    assert.equal(err.code, 'SIGN_IN_NEEDED');
    assert.match(err.message, /^your sign-in to 127\.0\.0\.1:\d+ has ended \(the identity provider refused the token request \(invalid_grant: unknown, used or revoked refresh token\)\): sign in again with "MCP Control Plane: Team: Sign In…"$/);
    const { refreshToken: _gone, ...withoutRefresh } = session;
    const none = await rejection(client.refresh(withoutRefresh));
    assert.equal(none.code, 'SIGN_IN_NEEDED');
    assert.match(none.message, /gave no refresh token\): sign in again/);
  });

  it('sign-out revokes the refresh token at the issuer (RFC 7009): it can no longer be used', async () => {
    const session = remember(await client.signIn({ openBrowser: browserSignsIn('u-alice') }));
    assert.equal(await client.revoke(session), true);
    assert.ok(issuer.revoked.includes(session.refreshToken!));
    assert.equal((await rejection(client.refresh(session))).code, 'SIGN_IN_NEEDED');
  });

  it('renews a token within a minute of its end, or within half its lifetime when that is shorter', () => {
    const at = 1_000_000;
    const timed = (expiresAt: number, obtainedAt?: number): OidcSession => ({
      id: 's',
      origin: 'https://mcp.example.com',
      issuer: 'https://id.example.com',
      clientId: NATIVE_CLIENT_ID,
      accessToken: 'a',
      expiresAt,
      ...(obtainedAt !== undefined ? { obtainedAt } : {}),
      scopes: [],
      account: { sub: 'u', label: 'u' },
    });
    const hour = timed(at + 3_600_000, at);
    assert.equal(needsRefresh(hour, at + 3_600_000 - 61_000), false);
    assert.equal(needsRefresh(hour, at + 3_600_000 - 60_000), true);
    const short = timed(at + 40_000, at);
    assert.equal(needsRefresh(short, at + 1_000), false, 'not at every read');
    assert.equal(needsRefresh(short, at + 20_000), true);
    // A session stored before obtainedAt existed: the minute.
    assert.equal(needsRefresh(timed(at + 59_000), at), true);
  });

  it('nothing secret reached the log: no access token, refresh token or code', () => {
    assert.ok(logged.length >= 5, `the client logged (${logged.length} lines)`);
    assert.ok(secrets.size >= 8);
    for (const line of logged) {
      for (const secret of secrets) assert.ok(!line.includes(secret), `a token in the log: ${line}`);
      assert.doesNotMatch(line, /eyJ[A-Za-z0-9_-]{10,}|code=|code_verifier|refresh_token=/, line);
    }
  });
});
