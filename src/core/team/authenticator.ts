import type { JWTPayload } from 'jose';
import { errorMessage } from '../errors';
import type { ApiKeyStore } from './api-keys';
import { looksLikeApiKey } from './api-keys';
import type { TeamConfig } from './config';
import { OidcTokenVerifier } from './oidc-tokens';
import type { Principal } from './principal';
import { claimAt, claimList, resolveRoles } from './roles';

/** The answer to a credential on `/mcp`: a principal, or a refusal with its HTTP status. */
export type McpAuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly message: string };

/**
 * Team mode's authentication of MCP clients on `/mcp`: `Authorization: Bearer <value>`, where the
 * value is an API key (`mcpcp_key_…`, checked against the key store) or an OIDC access token (a JWT
 * checked with the issuer's keys). Nothing else is accepted: not the loopback client token, not a
 * `/ui` session cookie (the gateway never looks at cookies on `/mcp`). A principal without any role
 * is refused with 403.
 */
export class TeamAuthenticator {
  private readonly tokens: OidcTokenVerifier | undefined;

  constructor(
    private readonly team: TeamConfig,
    private readonly keys: ApiKeyStore,
  ) {
    this.tokens = team.oidc ? new OidcTokenVerifier(team.oidc) : undefined;
  }

  async authenticateMcp(authorization: string | undefined): Promise<McpAuthResult> {
    const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, status: 401, message: 'unauthorized: send Authorization: Bearer <OIDC access token or API key> (see docs/team.md)' };
    const value = m[1]!;
    let principal: Principal;
    if (looksLikeApiKey(value)) {
      let check;
      try {
        check = await this.keys.verify(value);
      } catch (err) {
        return { ok: false, status: 503, message: `API keys cannot be checked now: ${errorMessage(err)}` };
      }
      if (!check.ok) return { ok: false, status: 401, message: `unauthorized: ${check.reason}` };
      const { record } = check;
      const roles = resolveRoles({ subject: record.owner, claimedRoles: record.roles, groups: [] }, { users: {}, groups: {} });
      principal = { id: `apikey/${record.id}`, name: record.owner, via: 'api-key', roles, groups: [] };
    } else {
      if (!this.tokens) return { ok: false, status: 401, message: 'unauthorized: this control plane takes API keys only (team.oidc is not configured)' };
      const check = await this.tokens.verify(value);
      if (!check.ok) return { ok: false, status: check.reason.startsWith('the identity provider') ? 503 : 401, message: `unauthorized: ${check.reason}` };
      principal = this.principalFromClaims(check.claims, 'oidc-token');
    }
    if (principal.roles.length === 0) {
      return { ok: false, status: 403, message: `forbidden: ${principal.name} has no role here (viewer, operator, approver or admin); ask an admin to grant one in team.roles or at the identity provider` };
    }
    return { ok: true, principal };
  }

  /** The principal of verified OIDC claims (an access token, or the ID token of a `/ui` sign-in). */
  principalFromClaims(claims: JWTPayload, via: 'oidc-token' | 'ui-session'): Principal {
    return principalFromClaims(this.team, claims, via);
  }
}

/** A principal from verified claims: `oidc:<issuer>#<sub>`, named by e-mail or name, roles from claims and `team.roles`. */
export function principalFromClaims(team: TeamConfig, claims: Readonly<Record<string, unknown>>, via: 'oidc-token' | 'ui-session'): Principal {
  const oidc = team.oidc;
  const sub = String(claims['sub'] ?? '');
  const email = typeof claims['email'] === 'string' ? claims['email'] : undefined;
  const name = email ?? (typeof claims['preferred_username'] === 'string' ? claims['preferred_username'] : undefined) ?? (typeof claims['name'] === 'string' ? claims['name'] : sub);
  const groups = claimList(claimAt(claims, oidc?.groupsClaim ?? 'groups'));
  const claimedRoles = claimList(claimAt(claims, oidc?.rolesClaim ?? 'roles'));
  const roles = resolveRoles({ subject: sub, ...(email !== undefined ? { email } : {}), claimedRoles, groups }, team.roles);
  return { id: `oidc:${String(claims['iss'] ?? oidc?.issuer ?? '')}#${sub}`, name, via, roles, groups };
}
