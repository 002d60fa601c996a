/**
 * Who is acting: the requester of a call, or the human who decides an approval.
 *
 * In the loopback single-user mode (the embedded default) every request comes from one local
 * principal. In team mode (docs/team.md) the gateway resolves a principal from the credential a
 * request carries: an OIDC access token or an API key on `/mcp`, a signed-in `/ui` session for
 * approvals. Credentials are scoped: a principal resolved from an MCP credential never decides an
 * approval, and a `/ui` session is never accepted on `/mcp` (`via` says which one it came from).
 */

/** Roles, from least to most: read-only, may call tools (policy decides), decides approvals, administers. */
export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Which credential a principal was resolved from. */
export type PrincipalVia =
  /** The loopback single-user mode: the client token or the VS Code UI. */
  | 'local'
  /** An OIDC access token (JWT) on `/mcp`. */
  | 'oidc-token'
  /** An API key on `/mcp`. */
  | 'api-key'
  /** A human signed in to `/ui` (OIDC authorization code + PKCE). */
  | 'ui-session'
  /** The headless approver credential (loopback mode). */
  | 'approver-credential';

export interface Principal {
  /** Stable identity: `oidc:<issuer>#<sub>`, `apikey/<key id>` (a slash: the redactor masks what follows `apikey:`), `local:<name>`. Compared for "nobody approves their own request". */
  readonly id: string;
  /** For people: a display name or e-mail. */
  readonly name: string;
  readonly via: PrincipalVia;
  readonly roles: readonly Role[];
  readonly groups: readonly string[];
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function hasRole(principal: Pick<Principal, 'roles'>, role: Role): boolean {
  return principal.roles.includes(role) || principal.roles.includes('admin');
}

/** The one principal of the loopback single-user mode: it holds every role, as the machine's owner. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({
  id: 'local:owner',
  name: 'local user',
  via: 'local',
  roles: Object.freeze(['viewer', 'operator', 'approver', 'admin'] as Role[]),
  groups: Object.freeze([] as string[]),
});

/** The audit's form of a principal (no credential, nothing secret). */
export function principalForAudit(principal: Principal): { id: string; name: string; via: PrincipalVia; roles: Role[]; groups: string[] } {
  return { id: principal.id, name: principal.name, via: principal.via, roles: [...principal.roles], groups: [...principal.groups] };
}

/**
 * `_meta` key on each request the gateway forwards to a built-in server: the principal the call
 * acts for (`{id, roles}`), so that the Kubernetes server can act as them (impersonation,
 * docs/deploy.md). The gateway always replaces whatever a client sent under this key and sends
 * it to built-in servers only; a server trusts it because its stdio channel leads to the gateway
 * alone.
 */
export const PRINCIPAL_META = 'mcpcp/principal';

/** What `_meta["mcpcp/principal"]` carries: the identity and roles, no credential. */
export interface PrincipalMeta {
  readonly id: string;
  readonly roles: readonly Role[];
}

export function principalMeta(principal: Pick<Principal, 'id' | 'roles'>): PrincipalMeta {
  return { id: principal.id, roles: [...principal.roles] };
}

/** The principal of a forwarded request's `_meta`, or undefined when it has none (or a malformed one). */
export function readPrincipalMeta(meta: unknown): PrincipalMeta | undefined {
  if (typeof meta !== 'object' || meta === null) return undefined;
  const value = (meta as Record<string, unknown>)[PRINCIPAL_META];
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, roles } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id.length === 0 || id.length > 512 || /[\r\n]/.test(id)) return undefined;
  if (!Array.isArray(roles) || !roles.every((r): r is Role => typeof r === 'string' && isRole(r))) return undefined;
  return { id, roles };
}
