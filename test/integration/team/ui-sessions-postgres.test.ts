// /ui sessions in PostgreSQL: a person signed in through one replica is signed in on the other;
// signing out or expiry ends the session everywhere; the table holds no usable cookie value.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { PostgresUiSessionStore } from '../../../src/core/team/ui-sessions-postgres';
import { OidcIssuer } from '../../fixtures/oidc-issuer/issuer';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';
import { AUDIENCE, CLIENT_ID, CLIENT_SECRET, USERS, signInWithFetch, startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

describe('/ui sessions shared by replicas through PostgreSQL (real server)', { skip: postgresSkipReason() }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  let issuer: OidcIssuer;
  let a: TeamPlane;
  let b: TeamPlane;
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url, { applicationName: 'ui-sessions-test' });
    issuer = await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, users: USERS });
    a = await startTeamPlane({ issuer, sessions: await PostgresUiSessionStore.open(pool) });
    b = await startTeamPlane({ issuer, sessions: await PostgresUiSessionStore.open(pool, { idleMs: 60_000 }) });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await issuer?.close();
    await pool?.end();
    await server?.stop();
  });

  it('a sign-in through replica A works on replica B; signing out on B ends it on A', async () => {
    const bob = await signInWithFetch(a, 'u-bob');
    const onB = await fetch(`${b.base}/ui/api/approvals`, { headers: { cookie: bob.cookie } });
    assert.equal(onB.status, 200, await onB.text());
    const page = await (await fetch(`${b.base}/ui`, { headers: { cookie: bob.cookie } })).text();
    assert.ok(page.includes(`content="${bob.csrf}"`), 'the same session (and CSRF token) on B');

    // The table stores the SHA-256 of the cookie value, never the value.
    const value = bob.cookie.split('=')[1]!;
    const dump = JSON.stringify((await pool.query('SELECT * FROM ui_sessions')).rows);
    assert.equal(dump.includes(value), false);
    assert.ok(dump.includes('bob@example.com'), 'the principal is kept with the session');

    const out = await fetch(`${b.base}/ui/logout`, { method: 'POST', headers: { cookie: bob.cookie, 'x-csrf-token': bob.csrf } });
    assert.equal(out.status, 204);
    assert.equal((await fetch(`${a.base}/ui/api/approvals`, { headers: { cookie: bob.cookie } })).status, 401);
  });

  it('an idle session expires in the database for every replica', async () => {
    const store = await PostgresUiSessionStore.open(pool, { idleMs: 1_000 });
    const s = await store.create({ id: 'oidc:x#u', name: 'u', via: 'ui-session', roles: ['viewer'], groups: [] });
    assert.ok(await store.get(s.id));
    await new Promise((r) => setTimeout(r, 1_300));
    assert.equal(await store.get(s.id), undefined);
    assert.equal(await store.isAlive(s.id), false);
  });
});
