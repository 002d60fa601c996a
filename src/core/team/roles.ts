import { isRole, ROLES, type Role } from './principal';
import type { TeamConfig } from './config';

/** Who someone is, as a credential says, before roles are resolved. */
export interface Identity {
  /** `sub` of a token, or an API key's owner. */
  readonly subject: string;
  readonly email?: string;
  /** Roles the credential itself carries (token claim, API key record); unknown values are dropped. */
  readonly claimedRoles: readonly string[];
  readonly groups: readonly string[];
}

/**
 * The roles of an identity: those its credential carries, plus those `team.roles` grants its
 * subject, e-mail or groups. Unknown role names are ignored. Sorted from least to most.
 */
export function resolveRoles(identity: Identity, roles: TeamConfig['roles']): Role[] {
  const out = new Set<Role>();
  for (const r of identity.claimedRoles) if (isRole(r)) out.add(r);
  for (const key of [identity.subject, identity.email]) {
    if (key === undefined) continue;
    for (const r of roles.users[key] ?? []) out.add(r);
  }
  for (const g of identity.groups) for (const r of roles.groups[g] ?? []) out.add(r);
  return ROLES.filter((r) => out.has(r));
}

/** A claim that should hold a list of strings: a list, one string, or space-separated words (scope style). */
export function claimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((v) => v.length > 0);
  return [];
}

/** Reads a claim at a dotted path (`realm_access.roles`, as Keycloak nests them). */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let current: unknown = claims;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
