import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { errorMessage } from '../errors';
import type { TeamOidcConfig } from './config';

/** The issuer's discovery document, as far as this control plane uses it. */
export const discoverySchema = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.string(),
  authorization_endpoint: z.string().optional(),
  token_endpoint: z.string().optional(),
});
export type Discovery = z.infer<typeof discoverySchema>;

/** Fetches `<issuer>/.well-known/openid-configuration` and checks that it names the same issuer. */
export async function discover(issuer: string, signal?: AbortSignal): Promise<Discovery> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: signal ?? AbortSignal.timeout(10_000), redirect: 'error' });
  if (!res.ok) throw new Error(`OIDC discovery at ${url} answered ${res.status}`);
  const doc = discoverySchema.parse(await res.json());
  if (doc.issuer !== issuer) throw new Error(`OIDC discovery at ${url} names issuer "${doc.issuer}", not the configured "${issuer}"`);
  return doc;
}

export type TokenCheck = { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly reason: string };

/**
 * Validates OIDC access tokens (JWT) with `jose` against the issuer's JWKS: signature, `iss`,
 * `aud`, `exp`/`nbf` with `clockSkewSeconds` of tolerance, and a `sub`. The JWKS is cached; a token
 * whose key id it lacks makes it be fetched again, at most once per `jwksCooldownSeconds` — so a
 * key the issuer rotated in is accepted without a restart, and tokens with made-up key ids cannot
 * make this process hammer the issuer. Asymmetric algorithms only (never `none` or HMAC).
 */
export class OidcTokenVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly config: TeamOidcConfig) {}

  async verify(token: string): Promise<TokenCheck> {
    let jwks: ReturnType<typeof createRemoteJWKSet>;
    try {
      jwks = await this.keySet();
    } catch (err) {
      return { ok: false, reason: `the identity provider cannot be reached to check tokens (${errorMessage(err)})` };
    }
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.config.clockSkewSeconds,
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
        requiredClaims: ['sub', 'exp'],
      });
      return { ok: true, claims: payload };
    } catch (err) {
      return { ok: false, reason: describeJoseError(err, this.config) };
    }
  }

  private keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return Promise.resolve(this.jwks);
    this.discovering ??= discover(this.config.issuer)
      .then((doc) => {
        this.jwks = createRemoteJWKSet(new URL(doc.jwks_uri), {
          cooldownDuration: this.config.jwksCooldownSeconds * 1000,
          cacheMaxAge: 10 * 60_000,
          timeoutDuration: 5_000,
        });
        return this.jwks;
      })
      .finally(() => {
        this.discovering = undefined;
      });
    return this.discovering;
  }
}

/** A refusal that says what is wrong with the token, never echoing it. */
function describeJoseError(err: unknown, config: TeamOidcConfig): string {
  if (err instanceof joseErrors.JWTExpired) return 'the access token has expired; get a new one from the identity provider';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return `the access token was not issued by ${config.issuer}`;
    if (err.claim === 'aud') return `the access token is not meant for this control plane (audience must include "${config.audience}")`;
    if (err.claim === 'nbf') return 'the access token is not valid yet';
    return `the access token's "${err.claim}" claim is not acceptable (${err.reason})`;
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'the access token is signed by a key the identity provider does not publish';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the access token\'s signature does not verify';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'the access token uses an algorithm this control plane does not accept';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return `the identity provider's keys cannot be fetched (${errorMessage(err)})`;
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JOSEError) return 'the bearer value is neither a valid access token nor an API key';
  return `the access token cannot be checked (${errorMessage(err)})`;
}
