// The OIDC sign-in of a person to a team control plane's /mcp, for VS Code's chat: no `vscode`
// here (unit-tested against the fixture issuer over loopback HTTP); ./auth-provider.ts adapts it.
//
// The service says how to sign in (RFC 9728 metadata: issuer, public client id, scopes); this
// client runs the authorization code flow with PKCE S256 and a loopback redirect on 127.0.0.1 at a
// random port (RFC 8252), checks state, `iss` (RFC 9207) and the ID token (signature by the
// issuer's JWKS, issuer, audience = the client id, nonce), asks for the service's resource
// (RFC 8707), and refreshes with the refresh_token grant. Tokens are returned to the caller, which
// keeps them in SecretStorage; nothing here logs a token, a code or a verifier.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import { discover, type Discovery } from '../../core/team/oidc-tokens';

/** The id of the VS Code authentication provider (Accounts menu, `vscode.authentication`). */
export const OIDC_PROVIDER_ID = 'mcpcp-team';
export const OIDC_PROVIDER_LABEL = 'MCP Control Plane (team)';

/** SecretStorage key of the OIDC session (tokens) for one team origin: never sent to another origin. */
export function oidcSessionSecretName(origin: string): string {
  return `mcpControlPlane.team.oidcSession:${origin}`;
}

/** How to sign in to one team control plane, from its protected resource metadata. */
export interface TeamSignInInfo {
  origin: string;
  /** `<origin>/mcp`: the resource (RFC 8707) the access token is asked for. */
  resource: string;
  issuer: string;
  clientId: string;
  scopes: string[];
}

/** A signed-in person's tokens for one team origin (what SecretStorage holds). */
export const oidcSessionSchema = z.object({
  id: z.string().min(1).max(64),
  origin: z.string().min(1),
  issuer: z.string().min(1),
  clientId: z.string().min(1),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  /** When the access token ends, in milliseconds since the epoch. */
  expiresAt: z.number(),
  /** When it was obtained (its lifetime is expiresAt - obtainedAt). */
  obtainedAt: z.number().optional(),
  scopes: z.array(z.string()),
  account: z.object({ sub: z.string().min(1), label: z.string().min(1) }),
});
export type OidcSession = z.infer<typeof oidcSessionSchema>;

/** The principal the service will record for this session (docs/team.md): `oidc:<issuer>#<sub>`. */
export function sessionPrincipal(session: OidcSession): string {
  return `oidc:${session.issuer}#${session.account.sub}`;
}

/** Error codes callers branch on. `SIGN_IN_NEEDED`: the session is over; the person signs in again. */
export type OidcErrorCode = 'NO_OIDC' | 'SIGN_IN_FAILED' | 'SIGN_IN_TIMEOUT' | 'SIGN_IN_CANCELLED' | 'SIGN_IN_NEEDED' | 'ISSUER_UNREACHABLE';

function oidcError(code: OidcErrorCode, message: string, cause?: unknown): ControlPlaneError {
  return new ControlPlaneError(code, message, cause === undefined ? undefined : { cause });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function secureUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  } catch {
    return false;
  }
}

const metadataSchema = z.looseObject({
  resource: z.string(),
  authorization_servers: z.array(z.string()).min(1),
  scopes_supported: z.array(z.string()).optional(),
  mcpcp_native_client_id: z.string().min(1).optional(),
});

/**
 * Reads how to sign in from the team service's `/.well-known/oauth-protected-resource/mcp`
 * (RFC 9728), without any credential; never follows a redirect. NO_OIDC when the service offers
 * no OIDC sign-in for native clients (then the person uses an API key).
 */
export async function readSignInInfo(origin: string, timeoutMs = 10_000): Promise<TeamSignInInfo> {
  const url = `${origin}/.well-known/oauth-protected-resource/mcp`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw oidcError('ISSUER_UNREACHABLE', `the team control plane ${origin} cannot be reached (${errorMessage(err)})`, err);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw oidcError('NO_OIDC', `the team control plane ${new URL(origin).host} offers no OIDC sign-in (its team.oidc is not configured): use an API key`);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw oidcError('SIGN_IN_FAILED', `the team control plane answered ${res.status} for its sign-in metadata (${url})${res.status >= 300 && res.status < 400 ? ', a redirect (not followed)' : ''}`);
  }
  const parsed = metadataSchema.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) throw oidcError('SIGN_IN_FAILED', `the sign-in metadata at ${url} is not OAuth protected resource metadata`);
  const doc = parsed.data;
  const resource = `${origin}/mcp`;
  // RFC 9728 §3.3: the document must be about the resource it was asked for.
  if (doc.resource !== resource) throw oidcError('SIGN_IN_FAILED', `the sign-in metadata at ${url} names the resource ${doc.resource}, not ${resource}; refused`);
  if (!doc.mcpcp_native_client_id) {
    throw oidcError('NO_OIDC', `the team control plane ${new URL(origin).host} names no client for native apps (its admin sets team.oidc.nativeClientId): use an API key`);
  }
  const issuer = doc.authorization_servers[0]!;
  if (!secureUrl(issuer)) throw oidcError('SIGN_IN_FAILED', `the identity provider ${issuer} is not an https:// URL (http:// only on loopback); refused`);
  const scopes = [...new Set(['openid', ...(doc.scopes_supported ?? ['openid', 'profile', 'email', 'offline_access'])])];
  return { origin, resource, issuer, clientId: doc.mcpcp_native_client_id, scopes };
}

export interface SignInOptions {
  /** Opens the authorization URL in the person's browser (vscode.env.openExternal). */
  openBrowser(url: string): Promise<unknown>;
  /** Default 5 minutes. */
  timeoutMs?: number;
  /** Aborts the wait (the person cancelled). */
  signal?: AbortSignal;
}

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'token_type must be Bearer'),
  expires_in: z.number().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  id_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});

/**
 * One team's OIDC client for native sign-in. Holds the issuer's discovery and JWKS after the
 * first use; no tokens (they are passed in and returned).
 */
export class TeamOidcClient {
  private discovery: Promise<Discovery> | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    readonly info: TeamSignInInfo,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /**
   * Signs the person in: listens on `http://127.0.0.1:<random port>/callback`, opens the
   * issuer's authorization page (code + PKCE S256, state, nonce, resource), takes the redirect
   * whose state matches (any other is answered 400 and ignored, with nothing exchanged), exchanges
   * the code and checks the ID token. Rejects with SIGN_IN_FAILED (what the issuer or the check
   * said), SIGN_IN_TIMEOUT or SIGN_IN_CANCELLED.
   */
  async signIn(options: SignInOptions): Promise<OidcSession> {
    const doc = await this.issuerDiscovery();
    if (!doc.authorization_endpoint || !doc.token_endpoint) throw oidcError('SIGN_IN_FAILED', `the identity provider ${this.info.issuer} names no authorization or token endpoint`);
    const state = randomBytes(24).toString('base64url');
    const nonce = randomBytes(24).toString('base64url');
    const verifier = randomBytes(48).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const timeoutMs = options.timeoutMs ?? 300_000;
    const host = new URL(this.info.origin).host;

    let server: Server | undefined;
    const closing: Array<Promise<unknown>> = [];
    let deliver: (params: URLSearchParams) => void = () => undefined;
    const arrived = new Promise<URLSearchParams>((resolve) => (deliver = resolve));
    let answer: (html: string) => void = () => undefined;
    const answered = new Promise<string>((resolve) => (answer = resolve));
    try {
      server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        if (url.pathname !== '/callback' || req.method !== 'GET') {
          res.writeHead(404).end();
          return;
        }
        const p = url.searchParams;
        // A redirect of another sign-in (or forged by a local page): refused, nothing exchanged; the real one may still come.
        if (p.get('state') !== state) {
          this.log(`team ${host}: OIDC sign-in: a redirect to the loopback with another state was refused`);
          page(res, 400, 'This answer does not belong to the sign-in under way in VS Code (its state differs); it was ignored.');
          return;
        }
        // RFC 9207: an `iss` from another issuer (mix-up) is refused too.
        if (p.has('iss') && p.get('iss') !== doc.issuer) {
          this.log(`team ${host}: OIDC sign-in: a redirect naming another issuer was refused`);
          page(res, 400, 'This answer comes from another identity provider than the one VS Code asked; it was ignored.');
          return;
        }
        deliver(p);
        closing.push(new Promise((resolve) => res.once('close', resolve)));
        void answered.then((html) => page(res, 200, html));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(0, '127.0.0.1', () => resolve());
      });
      const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
      const authorize = new URL(doc.authorization_endpoint);
      for (const [k, v] of Object.entries({
        response_type: 'code',
        client_id: this.info.clientId,
        redirect_uri: redirectUri,
        scope: this.info.scopes.join(' '),
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: this.info.resource,
      })) {
        authorize.searchParams.set(k, v);
      }
      this.log(`team ${host}: OIDC sign-in at ${this.info.issuer} (client ${this.info.clientId}); waiting for the browser on 127.0.0.1:${(server.address() as AddressInfo).port}`);
      // Not awaited alone: a browser that follows the redirect before this resolves must find us waiting.
      const opened = Promise.resolve()
        .then(() => options.openBrowser(authorize.href))
        .catch((err: unknown) => {
          throw oidcError('SIGN_IN_FAILED', `the browser could not be opened for the sign-in (${errorMessage(err)})`, err);
        })
        .then((ok) => {
          if (ok === false) throw oidcError('SIGN_IN_FAILED', 'the browser could not be opened for the sign-in');
          return new Promise<never>(() => undefined);
        });

      let timer: NodeJS.Timeout | undefined;
      const params = await Promise.race([
        arrived,
        opened,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(oidcError('SIGN_IN_TIMEOUT', `no sign-in came back from ${this.info.issuer} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
          timer.unref?.();
        }),
        new Promise<never>((_, reject) => {
          if (options.signal?.aborted) reject(oidcError('SIGN_IN_CANCELLED', 'the sign-in was cancelled'));
          options.signal?.addEventListener('abort', () => reject(oidcError('SIGN_IN_CANCELLED', 'the sign-in was cancelled')), { once: true });
        }),
      ]).finally(() => clearTimeout(timer));
      try {
        const error = params.get('error');
        if (error) throw oidcError('SIGN_IN_FAILED', `the identity provider refused the sign-in: ${error}${params.get('error_description') ? ` (${params.get('error_description')!.slice(0, 300)})` : ''}`);
        const code = params.get('code');
        if (!code) throw oidcError('SIGN_IN_FAILED', 'the identity provider sent no authorization code');
        const tokens = await this.tokenRequest(doc, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier });
        if (!tokens.id_token) throw oidcError('SIGN_IN_FAILED', `the identity provider returned no ID token (scope openid)`);
        const account = await this.checkIdToken(tokens.id_token, nonce);
        const session = this.session(tokens, account, randomBytes(12).toString('hex'), undefined);
        this.log(`team ${host}: signed in as ${account.label} (${sessionPrincipal(session)}), access token valid for ${Math.round((session.expiresAt - Date.now()) / 1000)} s${session.refreshToken ? ', refreshable' : ', not refreshable'}`);
        answer(`Signed in to the MCP Control Plane at ${escapeHtml(host)} as ${escapeHtml(account.label)}. You can close this tab and return to VS Code.`);
        return session;
      } catch (err) {
        answer(`Sign-in failed: ${escapeHtml(errorMessage(err))}. Return to VS Code and try again.`);
        throw err;
      }
    } finally {
      await Promise.race([Promise.all(closing), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      server?.close();
      server?.closeAllConnections();
    }
  }

  /**
   * New tokens with the session's refresh token (the refresh_token grant). SIGN_IN_NEEDED when
   * there is none or the issuer refuses it (expired, revoked, used): the person signs in again.
   * ISSUER_UNREACHABLE when the issuer cannot be asked now (the session is kept).
   */
  async refresh(session: OidcSession): Promise<OidcSession> {
    const host = new URL(this.info.origin).host;
    if (!session.refreshToken) throw oidcError('SIGN_IN_NEEDED', `your sign-in to ${host} has expired and cannot be renewed (the identity provider gave no refresh token): sign in again`);
    const doc = await this.issuerDiscovery();
    if (!doc.token_endpoint) throw oidcError('SIGN_IN_FAILED', `the identity provider ${this.info.issuer} names no token endpoint`);
    let tokens: z.infer<typeof tokenResponseSchema>;
    try {
      tokens = await this.tokenRequest(doc, { grant_type: 'refresh_token', refresh_token: session.refreshToken });
    } catch (err) {
      if (err instanceof ControlPlaneError && err.code === 'SIGN_IN_FAILED') {
        this.log(`team ${host}: the identity provider refused to renew the sign-in of ${session.account.label}: ${err.message}`);
        throw oidcError('SIGN_IN_NEEDED', `your sign-in to ${host} has ended (${err.message}): sign in again with "MCP Control Plane: Team: Sign In…"`, err);
      }
      throw err;
    }
    let account = session.account;
    if (tokens.id_token) {
      // OIDC Core 12.2: a refreshed ID token is of the same person.
      account = await this.checkIdToken(tokens.id_token, undefined);
      if (account.sub !== session.account.sub) throw oidcError('SIGN_IN_NEEDED', `the identity provider renewed the sign-in for another person (${account.label}); sign in again`);
    }
    const next = this.session(tokens, account, session.id, session.refreshToken);
    this.log(`team ${host}: sign-in of ${account.label} renewed, access token valid for ${Math.round((next.expiresAt - Date.now()) / 1000)} s`);
    return next;
  }

  /** Revokes the refresh token (else the access token) at the issuer when it has a revocation endpoint (RFC 7009). Whether it was sent. */
  async revoke(session: OidcSession): Promise<boolean> {
    let doc: Discovery;
    try {
      doc = await this.issuerDiscovery();
    } catch {
      return false;
    }
    const endpoint = (doc as Record<string, unknown>)['revocation_endpoint'];
    if (typeof endpoint !== 'string' || !secureUrl(endpoint)) return false;
    const token = session.refreshToken ?? session.accessToken;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: session.refreshToken ? 'refresh_token' : 'access_token', client_id: this.info.clientId }),
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  private issuerDiscovery(): Promise<Discovery> {
    this.discovery ??= discover(this.info.issuer).catch((err: unknown) => {
      this.discovery = undefined;
      throw oidcError('ISSUER_UNREACHABLE', `the identity provider ${this.info.issuer} cannot be asked (${errorMessage(err)})`, err);
    });
    return this.discovery;
  }

  private async tokenRequest(doc: Discovery, params: Record<string, string>): Promise<z.infer<typeof tokenResponseSchema>> {
    let res: Response;
    try {
      res = await fetch(doc.token_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ ...params, client_id: this.info.clientId, resource: this.info.resource }),
        redirect: 'error',
        signal: AbortSignal.timeout(20_000),
      });
    } catch (err) {
      throw oidcError('ISSUER_UNREACHABLE', `the identity provider's token endpoint cannot be reached (${errorMessage(err)})`, err);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw oidcError(res.status >= 500 ? 'ISSUER_UNREACHABLE' : 'SIGN_IN_FAILED', `the identity provider's token endpoint answered ${res.status} with no JSON`);
    }
    if (res.status !== 200) {
      const e = body as { error?: unknown; error_description?: unknown };
      const what = `${typeof e.error === 'string' ? e.error : `HTTP ${res.status}`}${typeof e.error_description === 'string' ? `: ${e.error_description.slice(0, 300)}` : ''}`;
      throw oidcError(res.status >= 500 ? 'ISSUER_UNREACHABLE' : 'SIGN_IN_FAILED', `the identity provider refused the token request (${what})`);
    }
    const parsed = tokenResponseSchema.safeParse(body);
    if (!parsed.success) throw oidcError('SIGN_IN_FAILED', `the identity provider's token response is not usable (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
    return parsed.data;
  }

  /** Verifies the ID token (JWKS signature, iss, aud = client id, nonce when one was sent); the account it names. */
  private async checkIdToken(idToken: string, nonce: string | undefined): Promise<{ sub: string; label: string }> {
    const doc = await this.issuerDiscovery();
    this.jwks ??= createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5_000 });
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(idToken, this.jwks, {
        issuer: this.info.issuer,
        audience: this.info.clientId,
        clockTolerance: 60,
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      throw oidcError('SIGN_IN_FAILED', `the ID token from ${this.info.issuer} is not acceptable (${errorMessage(err)})`, err);
    }
    if (nonce !== undefined && claims['nonce'] !== nonce) throw oidcError('SIGN_IN_FAILED', `the ID token from ${this.info.issuer} carries another nonce than this sign-in sent (a replayed or injected sign-in); refused`);
    const sub = String(claims['sub']);
    const label = [claims['email'], claims['preferred_username'], claims['name']].find((v): v is string => typeof v === 'string' && v !== '') ?? sub;
    return { sub, label };
  }

  private session(tokens: z.infer<typeof tokenResponseSchema>, account: { sub: string; label: string }, id: string, previousRefresh: string | undefined): OidcSession {
    const refreshToken = tokens.refresh_token ?? previousRefresh;
    const now = Date.now();
    return {
      id,
      origin: this.info.origin,
      issuer: this.info.issuer,
      clientId: this.info.clientId,
      accessToken: tokens.access_token,
      ...(refreshToken ? { refreshToken } : {}),
      expiresAt: now + (tokens.expires_in ?? 300) * 1000,
      obtainedAt: now,
      scopes: tokens.scope ? tokens.scope.split(' ').filter(Boolean) : this.info.scopes,
      account,
    };
  }
}

/**
 * Whether the access token should be renewed now: it ends within a minute, or within half its
 * lifetime when that is shorter (a token of 40 s is not renewed at every read).
 */
export function needsRefresh(session: OidcSession, now = Date.now()): boolean {
  const lifetime = session.obtainedAt !== undefined ? session.expiresAt - session.obtainedAt : Infinity;
  return session.expiresAt - now <= Math.min(60_000, lifetime / 2);
}

function page(res: import('node:http').ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html><head><title>MCP Control Plane</title></head><body><p id="result">${html}</p></body></html>`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
