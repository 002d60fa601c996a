// How a native MCP client learns to sign in to a team control plane without holding a credential:
// OAuth 2.0 Protected Resource Metadata (RFC 9728), as the MCP authorization specification asks.
import type { TeamConfig } from './config';

/** The well-known prefix of RFC 9728 §3. */
export const RESOURCE_METADATA_PREFIX = '/.well-known/oauth-protected-resource';

/**
 * Extension member of the metadata: the public client id (no secret) registered at the issuer for
 * native clients (`team.oidc.nativeClientId`). RFC 9728 §2 lets a resource add members.
 */
export const NATIVE_CLIENT_ID_MEMBER = 'mcpcp_native_client_id';

/** The metadata document of RFC 9728 §2, the members this service publishes. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name: string;
  [NATIVE_CLIENT_ID_MEMBER]?: string;
}

/**
 * The protected resources of a team control plane: `<publicUrl>/mcp` (all its MCP endpoints) and
 * each `<publicUrl>/mcp/<server>`. Without `team.oidc` there is nothing to publish (API keys only).
 */
export class ProtectedResource {
  private readonly publicUrl: string;

  constructor(private readonly team: TeamConfig) {
    this.publicUrl = team.publicUrl.replace(/\/+$/, '');
  }

  /** Whether the service publishes metadata (OIDC is configured). */
  get enabled(): boolean {
    return this.team.oidc !== undefined;
  }

  /**
   * The document served at `pathname`, or undefined when `pathname` is not a metadata path.
   * `/.well-known/oauth-protected-resource/mcp/<server>` names that server's endpoint (RFC 9728
   * §3.1 inserts the resource's path after the well-known prefix; §3.3 wants `resource` equal to
   * the URL it was derived from); `/.well-known/oauth-protected-resource` and `…/mcp` name
   * `<publicUrl>/mcp`.
   */
  metadata(pathname: string): ProtectedResourceMetadata | undefined {
    const oidc = this.team.oidc;
    if (!oidc) return undefined;
    let path: string;
    if (pathname === RESOURCE_METADATA_PREFIX || pathname === `${RESOURCE_METADATA_PREFIX}/` || pathname === `${RESOURCE_METADATA_PREFIX}/mcp`) path = '/mcp';
    else {
      const m = /^\/\.well-known\/oauth-protected-resource\/mcp\/([^/]+)$/.exec(pathname);
      if (!m) return undefined;
      path = `/mcp/${m[1]!}`;
    }
    const scopes = [...new Set(['openid', ...oidc.scopes, 'offline_access'])];
    return {
      resource: `${this.publicUrl}${path}`,
      authorization_servers: [oidc.issuer],
      scopes_supported: scopes,
      bearer_methods_supported: ['header'],
      resource_name: `MCP Control Plane (${new URL(this.publicUrl).host})`,
      ...(oidc.nativeClientId !== undefined ? { [NATIVE_CLIENT_ID_MEMBER]: oidc.nativeClientId } : {}),
    };
  }

  /** The metadata URL for a refused request to `pathname` (`/mcp/<server>`), for `WWW-Authenticate` (RFC 9728 §5.1). */
  metadataUrl(pathname: string): string {
    const m = /^\/mcp\/([^/]+)\/?$/.exec(pathname);
    return `${this.publicUrl}${RESOURCE_METADATA_PREFIX}${m ? `/mcp/${m[1]!}` : '/mcp'}`;
  }

  /** The `WWW-Authenticate` value of a 401 on `pathname`. */
  challenge(pathname: string): string {
    return this.enabled ? `Bearer resource_metadata="${this.metadataUrl(pathname)}"` : 'Bearer';
  }
}
