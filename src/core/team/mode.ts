import { readFile, stat } from 'node:fs/promises';
import type { GatewayTeamOptions } from '../gateway/context';
import { ControlPlaneError, errorMessage } from '../errors';
import type { PgPool } from '../storage/postgres';
import { FileApiKeyStore, PostgresApiKeyStore, type ApiKeyStore } from './api-keys';
import { TeamAuthenticator } from './authenticator';
import type { TeamConfig } from './config';
import { ProtectedResource } from './resource-metadata';

/**
 * The API key store a deployment uses: PostgreSQL when `storage.postgres` is configured (replicas
 * share keys), else `<dataDir>/api-keys.json`.
 */
export async function openApiKeyStore(dataDir: string, pool: PgPool | undefined): Promise<ApiKeyStore> {
  return pool ? await PostgresApiKeyStore.open(pool) : new FileApiKeyStore(dataDir);
}

/**
 * What the gateway needs for team mode: the `/mcp` authenticator (OIDC access tokens, API keys),
 * the public URL, the listen address, TLS material (read now; a missing or world-readable key file
 * is refused with what to fix) and the trusted proxies.
 */
export async function teamGatewayOptions(team: TeamConfig, keys: ApiKeyStore, resolvePath: (p: string) => string = (p) => p): Promise<{ options: GatewayTeamOptions; authenticator: TeamAuthenticator }> {
  const authenticator = new TeamAuthenticator(team, keys);
  let tls: GatewayTeamOptions['tls'];
  if (team.tls) {
    const certFile = resolvePath(team.tls.certFile);
    const keyFile = resolvePath(team.tls.keyFile);
    try {
      const info = await stat(keyFile);
      if ((info.mode & 0o077) !== 0) {
        throw new ControlPlaneError('TLS_KEY_INSECURE', `team.tls.keyFile ${keyFile} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`);
      }
      tls = { cert: await readFile(certFile), key: await readFile(keyFile) };
    } catch (err) {
      if (err instanceof ControlPlaneError) throw err;
      throw new ControlPlaneError('TLS_FILES_UNREADABLE', `team.tls: cannot read ${certFile} or ${keyFile}: ${errorMessage(err)}`, { cause: err });
    }
  }
  return {
    authenticator,
    options: {
      authenticateMcp: (authorization) => authenticator.authenticateMcp(authorization),
      publicUrl: team.publicUrl.replace(/\/+$/, ''),
      listenHost: team.listenHost,
      ...(tls ? { tls } : {}),
      trustedProxies: team.trustedProxies,
      ...(team.oidc ? { protectedResource: new ProtectedResource(team) } : {}),
    },
  };
}
