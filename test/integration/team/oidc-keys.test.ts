// The OIDC token check against a real issuer over loopback HTTP: key rotation without restart, and
// tokens with unknown key ids cannot make the control plane fetch the JWKS more than once per cooldown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OidcTokenVerifier, teamConfigSchema } from '../../../src/core/team';
import { OidcIssuer } from '../../fixtures/oidc-issuer/issuer';
import { AUDIENCE, CLIENT_ID, USERS } from '../../helpers/team-plane';

describe('OIDC access tokens against a real issuer', () => {
  let issuer: OidcIssuer;
  before(async () => {
    issuer = await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, users: USERS });
  });
  after(async () => {
    await issuer?.close();
  });

  const verifier = (cooldown: number): OidcTokenVerifier =>
    new OidcTokenVerifier(teamConfigSchema.parse({ publicUrl: 'http://127.0.0.1:1', oidc: { issuer: issuer.issuer, audience: AUDIENCE, jwksCooldownSeconds: cooldown } }).oidc!);

  it('unknown key ids refetch the JWKS at most once per cooldown', async () => {
    const v = verifier(60);
    assert.equal((await v.verify(await issuer.accessToken())).ok, true);
    const before = issuer.jwksFetches;
    for (let i = 0; i < 5; i++) {
      const check = await v.verify(await issuer.accessToken({ unpublishedKey: true }));
      assert.equal(check.ok, false);
    }
    assert.ok(issuer.jwksFetches - before <= 1, `fetched the JWKS ${issuer.jwksFetches - before} times for 5 unknown-kid tokens`);
    // Within the cooldown, even a key the issuer rotated in is not fetched yet: the old key still works.
    assert.equal((await v.verify(await issuer.accessToken())).ok, true);
  });

  it('a key rotated in at the issuer is accepted after the cooldown, and one dropped from the JWKS stops working', async () => {
    const v = verifier(0.2);
    const oldKey = issuer.currentKey;
    assert.equal((await v.verify(await issuer.accessToken({ key: oldKey }))).ok, true);
    const fresh = await issuer.rotate(true);
    await new Promise((r) => setTimeout(r, 300));
    const rotated = await v.verify(await issuer.accessToken({ key: fresh }));
    assert.equal(rotated.ok, true, !rotated.ok ? rotated.reason : '');
    const dropped = await v.verify(await issuer.accessToken({ key: oldKey }));
    assert.equal(dropped.ok, false, 'the dropped key is gone from the refreshed JWKS');
  });

  it('a token signed with HS256 or alg none is refused', async () => {
    const v = verifier(0);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.from(JSON.stringify({ iss: issuer.issuer, aud: AUDIENCE, sub: 'u-alice', exp: now + 300, roles: ['admin'] })).toString('base64url');
    assert.equal((await v.verify(`${header}.${body}.`)).ok, false);
    const { SignJWT } = await import('jose');
    const hs = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256', kid: issuer.currentKey.kid }).setIssuer(issuer.issuer).setAudience(AUDIENCE).setSubject('u-alice').setExpirationTime(now + 300).sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!!'));
    assert.equal((await v.verify(hs)).ok, false);
  });
});
