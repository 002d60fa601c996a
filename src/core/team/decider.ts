import { hasRole, type Principal } from './principal';

/** What an approval endpoint knows about who is asking to decide. */
export type DeciderCredential =
  /** A person signed in to `/ui` (team mode: OIDC code + PKCE), with the principal of that sign-in. */
  | { readonly kind: 'ui-session'; readonly principal: Principal }
  /** The headless approver credential (loopback mode), with an optional name the person gave. */
  | { readonly kind: 'approver-credential'; readonly name?: string }
  /** A principal resolved from an MCP credential (OIDC access token, API key): never a decider. */
  | { readonly kind: 'mcp'; readonly principal: Principal };

export type DeciderResult = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

/**
 * The deciding principal of an approval decision (the `/ui` and `/control` decision paths call this
 * before deciding), or a refusal:
 * - team mode: only a person signed in to `/ui` who holds the `approver` (or `admin`) role; an MCP
 *   credential — an approver's API key or access token included — is refused, and so is the
 *   approver credential (team mode has people, not a shared secret);
 * - loopback mode: the approver credential (or a `/ui` session opened with it), as the local
 *   approver; MCP credentials are refused here too.
 * Whether the decider may decide *this* request (not their own, four-eyes) is the approvals'
 * business; this says only who is deciding and that they may decide at all.
 */
export function decidingPrincipal(credential: DeciderCredential, mode: 'team' | 'loopback'): DeciderResult {
  if (credential.kind === 'mcp') {
    return { ok: false, status: 403, message: `forbidden: ${credential.principal.via === 'api-key' ? 'an API key' : 'an MCP access token'} never decides approvals; a person signs in at /ui to decide` };
  }
  if (mode === 'team') {
    if (credential.kind !== 'ui-session' || credential.principal.via !== 'ui-session') {
      return { ok: false, status: 403, message: 'forbidden: in team mode approvals are decided by a person signed in at /ui (the approver credential is not used)' };
    }
    if (!hasRole(credential.principal, 'approver')) {
      return { ok: false, status: 403, message: `forbidden: ${credential.principal.name} does not hold the approver role (roles: ${credential.principal.roles.join(', ') || 'none'})` };
    }
    return { ok: true, principal: credential.principal };
  }
  if (credential.kind === 'ui-session') return { ok: true, principal: credential.principal };
  const name = credential.name ?? 'approver';
  return { ok: true, principal: { id: `local:approver:${name}`, name, via: 'approver-credential', roles: ['approver'], groups: [] } };
}
