// Acting as the calling principal: with MCPCP_K8S_IMPERSONATE=1, every API request a call makes
// carries Impersonate-User (the principal's id) and one Impersonate-Group per role
// (`mcpcp:role:<role>`), so the cluster's RBAC decides what each person may do and the server's
// own credential needs nothing beyond `impersonate` (docs/deploy.md).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ControlPlaneError } from '../../core/errors';
import { readPrincipalMeta, type PrincipalMeta } from '../../core/team/principal';

/** The Kubernetes group of an mcpcp role. Only these are sent: never a group a client or an IdP named. */
export const ROLE_GROUP_PREFIX = 'mcpcp:role:';

/**
 * The principal of the request being handled, for the API requests it makes. The principal is
 * read from `_meta["mcpcp/principal"]` of each incoming message: the gateway sets it (and drops
 * any value a client sent), and this server's stdio channel leads to the gateway alone.
 */
export class Impersonation {
  private readonly current = new AsyncLocalStorage<PrincipalMeta | undefined>();

  constructor(readonly enabled: boolean) {}

  /** Runs `handle` (and everything it starts) as the principal of `message`. */
  within<T>(message: unknown, handle: () => T): T {
    const params = typeof message === 'object' && message !== null ? (message as { params?: { _meta?: unknown } }).params : undefined;
    return this.current.run(readPrincipalMeta(params?._meta), handle);
  }

  /**
   * The Impersonate-* headers for an API request now: none when off. When on and the request has
   * no principal (the server's own checks, a request without one), none either: the request acts
   * as the server's own account, which in a team deployment may only impersonate (so reads nothing).
   */
  headers(): Record<string, string | string[]> {
    if (!this.enabled) return {};
    const principal = this.current.getStore();
    if (principal === undefined) return {};
    return {
      'Impersonate-User': principal.id,
      ...(principal.roles.length > 0 ? { 'Impersonate-Group': principal.roles.map((r) => `${ROLE_GROUP_PREFIX}${r}`) } : {}),
    };
  }

  /**
   * Throws for what cannot carry impersonation (exec and port-forward go over client-node's
   * WebSocket with the server's own credential): refused, never run with the server's rights.
   */
  assertOwnCredentialAllowed(what: string): void {
    if (!this.enabled) return;
    throw new ControlPlaneError('K8S_FORBIDDEN', `${what} is not available while this server acts as the calling principal (MCPCP_K8S_IMPERSONATE): it would run with the server's own credential. Use kubectl with your own credentials for it.`);
  }

  /**
   * Wraps a connected transport so that each incoming message is handled as its principal. Every
   * handler the SDK runs for the message (and every promise it chains) sees that principal.
   */
  scope(transport: Transport): void {
    const handle = transport.onmessage;
    if (handle === undefined) return;
    transport.onmessage = (message, extra) => this.within(message, () => handle(message, extra));
  }
}
