import * as oidc from 'openid-client';
import { errorMessage } from '../errors';
import { principalFromClaims } from './authenticator';
import { isLoopbackHost, type TeamConfig } from './config';
import type { Principal } from './principal';

/** What the browser carries between the redirect to the issuer and the callback (an HttpOnly cookie). */
export interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  /** Where to go after signing in (a `/ui` path). */
  readonly returnTo: string;
  /**
   * A native client's loopback redirect URI (RFC 8252), e.g. VS Code's team client: the issuer
   * sends the code there, and the client (holding this pending cookie) finishes the sign-in itself.
   */
  readonly redirectUri?: string;
}

/** A loopback redirect URI a native client may use: `http://127.0.0.1:<port>/<path>` (an IP literal, RFC 8252 §7.3). */
export function isLoopbackRedirect(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.port !== '' && !url.username && !url.password && !url.search && !url.hash && value.length <= 200;
}

/**
 * Sign-in to `/ui` for people in team mode: OIDC authorization code with PKCE (S256), state and
 * nonce, through `openid-client`. The redirect URI is `team.publicUrl` + `team.oidc.redirectPath`.
 * The result is a principal with `via: 'ui-session'` — a session for a person, which `/mcp` never
 * accepts. The issuer's discovery is fetched on first use and again after a failure.
 */
export class UiSignIn {
  private configuration: Promise<oidc.Configuration> | undefined;
  readonly redirectUri: string;

  constructor(
    private readonly team: TeamConfig,
    /** The client secret, already resolved from the secret store; undefined for a public client. */
    private readonly clientSecret: string | undefined,
  ) {
    if (!team.oidc?.clientId) throw new Error('team.oidc.clientId is needed for the /ui sign-in');
    this.redirectUri = `${team.publicUrl.replace(/\/+$/, '')}${team.oidc.redirectPath}`;
  }

  get callbackPath(): string {
    return this.team.oidc!.redirectPath;
  }

  /** The URL to send the browser to, and what to keep for the callback. */
  async start(returnTo = '/ui', loopbackRedirect?: string): Promise<{ url: string; pending: PendingSignIn }> {
    if (loopbackRedirect !== undefined && !isLoopbackRedirect(loopbackRedirect)) throw new Error('a native client\'s redirect must be http://127.0.0.1:<port>/<path>');
    const config = await this.config();
    const verifier = oidc.randomPKCECodeVerifier();
    const pending: PendingSignIn = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, returnTo, ...(loopbackRedirect !== undefined ? { redirectUri: loopbackRedirect } : {}) };
    const scopes = new Set(['openid', ...this.team.oidc!.scopes]);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: pending.redirectUri ?? this.redirectUri,
      scope: [...scopes].join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  /**
   * Finishes a sign-in: `search` is the callback's query string. Exchanges the code (with the PKCE
   * verifier), checks state, nonce and the ID token, and returns the principal of its claims.
   */
  async finish(search: string, pending: PendingSignIn): Promise<Principal> {
    const config = await this.config();
    // The token request names the redirect URI the code was sent to (a native client's loopback, or ours).
    const current = new URL(`${pending.redirectUri ?? this.redirectUri}${search}`);
    const tokens = await oidc.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('the identity provider returned no ID token');
    return principalFromClaims(this.team, claims as Record<string, unknown>, 'ui-session');
  }

  private config(): Promise<oidc.Configuration> {
    const o = this.team.oidc!;
    this.configuration ??= (async () => {
      const issuer = new URL(o.issuer);
      // Plain HTTP only to an issuer on loopback (tests, a local IdP); anything else must be HTTPS.
      const insecure = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname);
      const auth = this.clientSecret !== undefined ? oidc.ClientSecretPost(this.clientSecret) : oidc.None();
      return oidc.discovery(issuer, o.clientId!, this.clientSecret !== undefined ? { client_secret: this.clientSecret } : undefined, auth, {
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
        timeout: 10,
      });
    })().catch((err: unknown) => {
      this.configuration = undefined;
      throw new Error(`OIDC discovery of ${o.issuer} failed: ${errorMessage(err)}`);
    });
    return this.configuration;
  }
}
