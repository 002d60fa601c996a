import { isIP } from 'node:net';
import { z } from 'zod';
import { ROLES } from './principal';

const secretReference = z
  .string()
  .regex(/^\$\{secret:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\}$/, 'must be a secret reference, `${secret:name}`: a client secret lives in the secret store, never in settings');

const roleListSchema = z.array(z.enum(ROLES)).min(1);

/** An IPv4/IPv6 address, or a CIDR block of one (`10.0.0.0/8`, `fd00::/8`). */
const proxyAddressSchema = z.string().refine((value) => parseCidr(value) !== undefined, { message: 'expected an IP address or a CIDR block (10.0.0.0/8, fd00::/8)' });

/** `true` for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** An address or CIDR as `{address, prefix, family}`; undefined when it is neither. */
export function parseCidr(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, ...rest] = value.split('/');
  if (rest.length > 0) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export const teamOidcConfigSchema = z
  .object({
    issuer: z.url().describe('The OIDC issuer URL (its `/.well-known/openid-configuration` names the JWKS and the endpoints).'),
    audience: z.string().min(1).describe('The audience (`aud`) an access token must carry to be accepted on /mcp.'),
    clientId: z.string().min(1).optional().describe('The client id of this control plane for the /ui sign-in (authorization code + PKCE).'),
    clientSecret: secretReference.optional().describe('The client secret for the /ui sign-in, as `${secret:name}`; leave it out for a public client (PKCE only).'),
    nativeClientId: z
      .string()
      .min(1)
      .optional()
      .describe('Client id of a public client (no secret; authorization code + PKCE with a loopback redirect, RFC 8252) registered at the issuer for native MCP clients such as VS Code. Published in `/.well-known/oauth-protected-resource`; its access tokens must carry `audience`.'),
    redirectPath: z
      .string()
      .regex(/^\/ui\/[A-Za-z0-9/_-]+$/, 'a path under /ui, such as /ui/auth/callback')
      .default('/ui/auth/callback')
      .describe('Path of the sign-in callback; the redirect URI registered at the issuer is publicUrl + this path.'),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).min(1).default(['openid', 'profile', 'email']).describe('Scopes asked for at the /ui sign-in (`openid` is always added).'),
    rolesClaim: z.string().min(1).default('roles').describe('Claim of the token holding the roles (viewer, operator, approver, admin); other values are ignored.'),
    groupsClaim: z.string().min(1).default('groups').describe('Claim of the token holding the groups (mapped to roles by team.roles.groups).'),
    clockSkewSeconds: z.number().int().min(0).max(600).default(60).describe('Tolerance for exp/nbf/iat, in seconds.'),
    jwksCooldownSeconds: z
      .number()
      .min(0)
      .max(3_600)
      .default(30)
      .describe('A token with a key id the cached JWKS lacks makes the JWKS be fetched again, at most once per this many seconds (key rotation without restart).'),
  })
  .strict();

export const teamRolesConfigSchema = z
  .object({
    users: z.record(z.string().min(1), roleListSchema).default({}).describe('Roles by user: the token\'s `sub` or `email`, or an API key\'s owner.'),
    groups: z.record(z.string().min(1), roleListSchema).default({}).describe('Roles by group (from the token\'s groups claim).'),
  })
  .strict();

/**
 * Team mode of `mcpcp serve` (docs/team.md): identities (OIDC, API keys), roles, TLS and the public
 * URL. Present: team mode; absent: the loopback single-user mode. Operator configuration only:
 * never read from a workspace file, never a VS Code setting.
 */
export const teamConfigSchema = z
  .object({
    publicUrl: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), { message: 'must start with https:// (or http:// on loopback)' })
      .describe('Where people and MCP clients reach this control plane (https://mcp.example.com): Host/Origin checks, sign-in redirects and every printed link use it.'),
    listenHost: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address to listen on. Beyond loopback only with `tls`, or with `trustedProxies` when TLS ends at an ingress.'),
    tls: z
      .object({
        certFile: z.string().min(1).describe('PEM certificate chain file.'),
        keyFile: z.string().min(1).describe('PEM private key file (owner-only).'),
      })
      .strict()
      .optional()
      .describe('Serve HTTPS with this certificate and key.'),
    trustedProxies: z
      .array(proxyAddressSchema)
      .default([])
      .describe('Addresses or CIDR blocks of reverse proxies whose X-Forwarded-For/-Host/-Proto are trusted; those headers from anyone else are ignored.'),
    oidc: teamOidcConfigSchema.optional().describe('OIDC: access tokens on /mcp, sign-in to /ui.'),
    roles: teamRolesConfigSchema.default(teamRolesConfigSchema.parse({})).describe('Roles granted by configuration, added to those of the token.'),
    allowSelfApproval: z
      .boolean()
      .default(false)
      .describe('Let a person approve their own request (a solo setup); the audit marks such decisions. Default: nobody approves their own request.'),
  })
  .strict()
  .superRefine((team, ctx) => {
    const url = new URL(team.publicUrl);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: `must be https:// for a host other than loopback (got ${url.origin}); people sign in and send tokens there` });
    }
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: 'give the origin only (https://mcp.example.com), without a path' });
    }
    if (!isLoopbackHost(team.listenHost) && team.tls === undefined && team.trustedProxies.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['listenHost'],
        message: `listening on ${team.listenHost} (beyond loopback) needs team.tls (certFile, keyFile), or team.trustedProxies naming the ingress that terminates TLS; plain HTTP to the network is refused`,
      });
    }
    if (!isLoopbackHost(team.listenHost) && team.tls === undefined && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: 'behind a TLS-terminating ingress publicUrl must be https://' });
    }
  });

export type TeamConfig = z.infer<typeof teamConfigSchema>;
export type TeamOidcConfig = z.infer<typeof teamOidcConfigSchema>;
