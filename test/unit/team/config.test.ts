import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema, settingsSchema } from '../../../src/core/config/schema';
import { resolveRoles, teamConfigSchema } from '../../../src/core/team';
import { decidingPrincipal } from '../../../src/core/team/decider';

function problems(input: unknown): string[] {
  const r = teamConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('team: configuration', () => {
  it('loopback needs nothing more than a public URL; beyond loopback needs TLS or trusted proxies', () => {
    assert.deepEqual(problems({ publicUrl: 'http://127.0.0.1:8080' }), []);
    const plain = problems({ publicUrl: 'https://mcp.example.com', listenHost: '0.0.0.0' });
    assert.equal(plain.length, 1);
    assert.match(plain[0]!, /^listenHost: listening on 0\.0\.0\.0 \(beyond loopback\) needs team\.tls \(certFile, keyFile\), or team\.trustedProxies/);
    assert.deepEqual(problems({ publicUrl: 'https://mcp.example.com', listenHost: '0.0.0.0', tls: { certFile: 'c.pem', keyFile: 'k.pem' } }), []);
    assert.deepEqual(problems({ publicUrl: 'https://mcp.example.com', listenHost: '0.0.0.0', trustedProxies: ['10.0.0.0/8', 'fd00::/8', '192.168.1.4'] }), []);
    assert.match(problems({ publicUrl: 'http://mcp.example.com', listenHost: '0.0.0.0', trustedProxies: ['10.0.0.0/8'] }).join('\n'), /publicUrl: must be https:\/\/ for a host other than loopback/);
  });

  it('refuses a public URL with a path, a proxy that is not an address or CIDR, a client secret given in clear, an unknown role', () => {
    assert.match(problems({ publicUrl: 'https://mcp.example.com/gw' }).join(), /origin only/);
    assert.match(problems({ publicUrl: 'https://mcp.example.com', trustedProxies: ['ingress.local'] }).join(), /trustedProxies\.0: expected an IP address or a CIDR block/);
    assert.match(problems({ publicUrl: 'https://mcp.example.com', trustedProxies: ['10.0.0.0/33'] }).join(), /trustedProxies\.0/);
    assert.match(problems({ publicUrl: 'https://x.example.com', oidc: { issuer: 'https://id.example.com', audience: 'a', clientId: 'c', clientSecret: 's3cret' } }).join(), /oidc\.clientSecret: must be a secret reference/);
    assert.match(problems({ publicUrl: 'https://x.example.com', roles: { users: { 'a@example.com': ['root'] } } }).join(), /roles\.users\.a@example\.com/);
  });

  it('defaults: roles and groups claims, skew, JWKS cooldown, callback path, no self-approval', () => {
    const team = teamConfigSchema.parse({ publicUrl: 'https://x.example.com', oidc: { issuer: 'https://id.example.com', audience: 'mcp' } });
    assert.equal(team.oidc!.rolesClaim, 'roles');
    assert.equal(team.oidc!.groupsClaim, 'groups');
    assert.equal(team.oidc!.clockSkewSeconds, 60);
    assert.equal(team.oidc!.jwksCooldownSeconds, 30);
    assert.equal(team.oidc!.redirectPath, '/ui/auth/callback');
    assert.equal(team.allowSelfApproval, false);
    assert.equal(team.listenHost, '127.0.0.1');
  });

  it('is part of the headless configuration, never of the VS Code settings', () => {
    assert.ok(configSchema.safeParse({ team: { publicUrl: 'https://x.example.com' } }).success);
    assert.equal('team' in settingsSchema.shape, false);
  });
});

describe('team: roles and deciders', () => {
  const roles = { users: { 'u-1': ['admin' as const], 'bob@example.com': ['approver' as const] }, groups: { ops: ['operator' as const] } };
  it('joins claimed roles (unknown ones dropped) with those granted to the subject, e-mail and groups', () => {
    assert.deepEqual(resolveRoles({ subject: 'u-9', email: 'bob@example.com', claimedRoles: ['viewer', 'superuser'], groups: ['ops', 'x'] }, roles), ['viewer', 'operator', 'approver']);
    assert.deepEqual(resolveRoles({ subject: 'u-1', claimedRoles: [], groups: [] }, roles), ['admin']);
    assert.deepEqual(resolveRoles({ subject: 'u-2', claimedRoles: [], groups: [] }, roles), []);
  });

  it('decidingPrincipal: MCP credentials never; team mode only a signed-in approver; loopback the approver credential', () => {
    const p = (via: 'api-key' | 'oidc-token' | 'ui-session', r: Array<'viewer' | 'approver' | 'admin'>) => ({ id: `x:${via}`, name: 'n', via, roles: r, groups: [] });
    assert.equal(decidingPrincipal({ kind: 'mcp', principal: p('api-key', ['approver']) }, 'team').ok, false);
    assert.equal(decidingPrincipal({ kind: 'mcp', principal: p('oidc-token', ['admin']) }, 'loopback').ok, false);
    assert.equal(decidingPrincipal({ kind: 'approver-credential', name: 'x' }, 'team').ok, false);
    assert.equal(decidingPrincipal({ kind: 'ui-session', principal: p('ui-session', ['viewer']) }, 'team').ok, false);
    // A principal from another credential dressed as a session is still refused.
    assert.equal(decidingPrincipal({ kind: 'ui-session', principal: p('api-key', ['approver']) }, 'team').ok, false);
    const ok = decidingPrincipal({ kind: 'ui-session', principal: p('ui-session', ['approver']) }, 'team');
    assert.ok(ok.ok && ok.principal.id === 'x:ui-session');
    assert.ok(decidingPrincipal({ kind: 'ui-session', principal: p('ui-session', ['admin']) }, 'team').ok);
    const local = decidingPrincipal({ kind: 'approver-credential', name: 'ann' }, 'loopback');
    assert.ok(local.ok && local.principal.via === 'approver-credential' && local.principal.name === 'ann');
  });
});
