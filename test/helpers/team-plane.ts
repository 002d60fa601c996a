// A real gateway in team mode (identities on /mcp) with the fixture server `fx`, the real oversight
// stages, a file API key store in the state directory and a local OIDC issuer (test/fixtures/oidc-issuer).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { PolicyRule } from '../../src/core/policy';
import { FileApiKeyStore, teamConfigSchema, teamGatewayOptions, type TeamConfig } from '../../src/core/team';
import type { TeamAuthenticator } from '../../src/core/team/authenticator';
import { OidcIssuer, type IssuerUser } from '../fixtures/oidc-issuer/issuer';
import { startPlane, type TestPlane } from './fixture-plane';

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
  /** `http://127.0.0.1:<port>` */
  base: string;
  mcpUrl(server?: string): string;
  stop(): Promise<void>;
}

export async function startTeamPlane(options: { rules?: PolicyRule[]; team?: Partial<Record<string, unknown>>; oidc?: Partial<Record<string, unknown>>; issuer?: OidcIssuer } = {}): Promise<TeamPlane> {
  const issuer = options.issuer ?? (await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, users: USERS }));
  const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-team-'));
  const keys = new FileApiKeyStore(stateDir);
  const team = teamConfigSchema.parse({
    publicUrl: 'http://127.0.0.1:1',
    oidc: { issuer: issuer.issuer, audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: '${secret:oidc-client}', jwksCooldownSeconds: 0, ...options.oidc },
    roles: { users: {}, groups: {} },
    ...options.team,
  });
  const { options: gatewayTeam, authenticator } = await teamGatewayOptions(team, keys);
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: { rules: options.rules ?? [], stateDir }, team: gatewayTeam });
  await plane.supervisor.get('fx')!.waitUntilServing(10_000);
  const base = `http://127.0.0.1:${plane.gateway.listeningPort}`;
  return {
    plane,
    issuer,
    keys,
    team,
    authenticator,
    stateDir,
    base,
    mcpUrl: (server = 'fx') => `${base}/mcp/${server}`,
    stop: async () => {
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
