// A real gateway in team mode (identities on /mcp) with the fixture server `fx`, the real oversight
// stages, a file API key store in the state directory and a local OIDC issuer (test/fixtures/oidc-issuer).
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { PolicyRule } from '../../src/core/policy';
import type { GatewayConfig } from '../../src/core/config/schema';
import { FileApiKeyStore, teamConfigSchema, teamGatewayOptions, type TeamConfig } from '../../src/core/team';
import type { TeamAuthenticator } from '../../src/core/team/authenticator';
import { OidcIssuer, type IssuerUser } from '../fixtures/oidc-issuer/issuer';
import { REPO_ROOT, startPlane, type TestPlane } from './fixture-plane';
import { createWebUiRoute, type WebUiRoute } from '../../src/core/web-ui';
import { UiSignIn } from '../../src/core/team/ui-sign-in';
import { signInToUi } from './ui-sign-in';
import type { UiSessionStore } from '../../src/core/web-ui/sessions';

/** The secret part of an API key (after `mcpcp_key_<id>_`; base64url, so it may hold `_` itself): what must never reach a log. */
export function apiKeySecretPart(key: string): string {
  const secret = key.slice(key.indexOf('_', 'mcpcp_key_'.length) + 1);
  if (secret.length < 40) throw new Error(`not an API key's secret part: ${secret.length} characters`);
  return secret;
}

export const AUDIENCE = 'mcpcp-test';
export const CLIENT_ID = 'mcpcp-ui';
export const CLIENT_SECRET = 'fixture-client-secret-7f3a';

export const USERS: IssuerUser[] = [
  { sub: 'u-alice', email: 'alice@example.com', name: 'Alice', roles: ['operator'], groups: ['dev'] },
  { sub: 'u-bob', email: 'bob@example.com', name: 'Bob', roles: ['approver'], groups: ['ops'] },
  { sub: 'u-vera', email: 'vera@example.com', name: 'Vera', roles: ['viewer'], groups: [] },
  { sub: 'u-nora', email: 'nora@example.com', name: 'Nora', roles: [], groups: [] },
];

export interface TeamPlane {
  plane: TestPlane;
  issuer: OidcIssuer;
  keys: FileApiKeyStore;
  team: TeamConfig;
  authenticator: TeamAuthenticator;
  stateDir: string;
  ui: WebUiRoute;
  /** `http://127.0.0.1:<port>` */
  base: string;
  mcpUrl(server?: string): string;
  stop(): Promise<void>;
}

export async function startTeamPlane(
  options: {
    rules?: PolicyRule[];
    team?: Partial<Record<string, unknown>>;
    oidc?: Partial<Record<string, unknown>>;
    issuer?: OidcIssuer;
    sessions?: UiSessionStore;
    log?: string[];
    /** Serve HTTPS with these files (publicUrl becomes https://127.0.0.1:<port>). */
    tls?: { certFile: string; keyFile: string };
    gateway?: Partial<GatewayConfig>;
    /** As `team.allowSelfApproval` of `mcpcp serve` (default false there); unset: the test plane's default. */
    allowSelfApproval?: boolean;
  } = {},
): Promise<TeamPlane> {
  const issuer = options.issuer ?? (await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, users: USERS }));
  const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-team-'));
  const keys = new FileApiKeyStore(stateDir);
  const port = await freePort();
  const team = teamConfigSchema.parse({
    publicUrl: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    ...(options.tls ? { tls: options.tls } : {}),
    oidc: { issuer: issuer.issuer, audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: '${secret:oidc-client}', jwksCooldownSeconds: 0, ...options.oidc },
    roles: { users: {}, groups: {} },
    ...options.team,
  });
  const { options: gatewayTeam, authenticator } = await teamGatewayOptions(team, keys);
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: { rules: options.rules ?? [], stateDir, ...(options.allowSelfApproval !== undefined ? { allowSelfApproval: options.allowSelfApproval } : {}) }, team: gatewayTeam, gateway: { ...options.gateway, port }, ...(options.log ? { gatewayLog: (m: string) => options.log!.push(m) } : {}) });
  await plane.supervisor.get('fx')!.waitUntilServing(10_000);
  const ui = createWebUiRoute({
    backend: plane.oversight!,
    dataDir: stateDir,
    assetsDir: join(REPO_ROOT, 'dist/media'),
    team: { signIn: new UiSignIn(team, CLIENT_SECRET), secureCookies: false, ...(options.sessions ? { sessions: options.sessions } : {}) },
    clientAddress: (req) => plane.gateway.requestOrigin(req).clientAddress,
    ...(options.log ? { log: (m: string) => options.log!.push(m) } : {}),
  });
  plane.gateway.addPublicRoutes([ui.handle]);
  const base = `http://127.0.0.1:${plane.gateway.listeningPort}`;
  return {
    plane,
    issuer,
    keys,
    team,
    authenticator,
    stateDir,
    ui,
    base,
    mcpUrl: (server = 'fx') => `${base}/mcp/${server}`,
    stop: async () => {
      ui.dispose();
      await plane.stop();
      await keys.close();
      if (!options.issuer) await issuer.close();
    },
  };
}

/** A real SDK client over Streamable HTTP with `Authorization: Bearer <bearer>`. */
export async function connectAs(url: string, bearer: string, name = 'team-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } }));
  return client;
}

/** POSTs an `initialize` with this Authorization header; returns status and body text. */
export async function rawInitialize(url: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  return { status: res.status, text: await res.text() };
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A person's sign-in to /ui through the fixture issuer's pages, with plain HTTP requests; returns the session cookie pair and CSRF token. */
export async function signInWithFetch(t: TeamPlane, sub: string): Promise<{ cookie: string; csrf: string }> {
  const { cookie, csrf } = await signInToUi(t.base, sub);
  return { cookie, csrf };
}

/** The person's browser at the fixture issuer: clicks "Sign in as <sub>" on the authorize page; returns where the issuer sent the code. */
export async function issuerRedirect(authorizeUrl: string, sub: string): Promise<string> {
  const authorize = new URL(authorizeUrl);
  const form = new URLSearchParams();
  for (const k of ['client_id', 'redirect_uri', 'state', 'nonce', 'code_challenge', 'scope']) form.set(k, authorize.searchParams.get(k) ?? '');
  form.set('user', sub);
  const back = await fetch(new URL('/authorize', authorize), { method: 'POST', body: form, redirect: 'manual' });
  if (back.status !== 302) throw new Error(`the issuer did not redirect: HTTP ${back.status}`);
  const location = back.headers.get('location');
  if (location === null) throw new Error('the issuer redirected nowhere');
  return location;
}
