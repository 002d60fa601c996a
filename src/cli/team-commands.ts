// `mcpcp team api-key create|list|revoke`: API keys for MCP clients in team mode (docs/team.md).
// Run by an admin on the machine (or pod) that holds the data directory or the database secret.
import { resolve } from 'node:path';
import { loadConfigFile } from '../core/config/load';
import type { Config } from '../core/config/schema';
import { ControlPlaneError } from '../core/errors';
import { expandReferences, FileSecretStore } from '../core/secrets/secret-store';
import { openPostgres, type PgPool } from '../core/storage/postgres';
import { openApiKeyStore, type ApiKeyInfo, type ApiKeyStore } from '../core/team';
import { isRole, type Role } from '../core/team/principal';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom, ensureDataDir } from './data-dir';

export const TEAM_USAGE = `  team api-key create --owner NAME --roles ROLE[,ROLE] [--expires 90d|ISO-DATE] [--json]
  team api-key list [--json]
  team api-key revoke ID
        [--config FILE] [--data-dir DIR]: API keys for MCP clients in team mode (an admin's
        command). A new key is printed once; only its SHA-256 is kept, in DATA_DIR/api-keys.json
        or in PostgreSQL when the configuration has storage.postgres. Roles: viewer, operator,
        approver, admin (an API key never decides approvals, whatever its roles).
`;

export async function teamCommand(argv: string[]): Promise<number> {
  const [noun, action, ...rest] = argv;
  if (noun !== 'api-key') throw new UsageError(`mcpcp team api-key create|list|revoke (got "${noun ?? ''}")`);
  const args = parseArgs(rest, ['owner', 'roles', 'expires', 'config', 'data-dir'], ['json']);
  const configFile = stringFlag(args, 'config');
  const config = configFile ? await loadConfigFile(resolve(configFile)) : undefined;
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), config?.dataDir ? resolve(config.dataDir) : undefined);
  await ensureDataDir(dataDir);
  const pool = await openPool(config, dataDir);
  const store = await openApiKeyStore(dataDir, pool);
  try {
    switch (action) {
      case 'create':
        return await create(store, stringFlag(args, 'owner'), stringFlag(args, 'roles'), stringFlag(args, 'expires'), args.flags.has('json'));
      case 'list': {
        const keys = await store.list();
        if (args.flags.has('json')) process.stdout.write(`${JSON.stringify(keys)}\n`);
        else process.stdout.write(keys.length === 0 ? 'no API keys\n' : `${keys.map(describeKey).join('\n')}\n`);
        return 0;
      }
      case 'revoke': {
        const id = args.positionals[0];
        if (!id) throw new UsageError('mcpcp team api-key revoke ID (see `mcpcp team api-key list`)');
        if (!(await store.revoke(id))) {
          process.stderr.write(`mcpcp: no API key with id ${id} (see \`mcpcp team api-key list\`)\n`);
          return 1;
        }
        process.stderr.write(`API key ${id} revoked: it is refused from now on\n`);
        return 0;
      }
      default:
        throw new UsageError('mcpcp team api-key create|list|revoke');
    }
  } finally {
    await store.close();
    await pool?.end();
  }
}

async function create(store: ApiKeyStore, owner: string | undefined, rolesText: string | undefined, expires: string | undefined, json: boolean): Promise<number> {
  if (!owner || !/^[\w .@+-]{1,128}$/.test(owner)) throw new UsageError('--owner NAME is needed: who the key acts for (letters, digits, space, . @ + _ -)');
  const roles = (rolesText ?? '').split(',').map((r) => r.trim()).filter((r) => r.length > 0);
  if (roles.length === 0) throw new UsageError('--roles is needed: one or more of viewer, operator, approver, admin, comma-separated');
  const bad = roles.filter((r) => !isRole(r));
  if (bad.length > 0) throw new UsageError(`--roles: unknown role ${bad.join(', ')}; use viewer, operator, approver, admin`);
  const expiresAt = expires === undefined ? undefined : parseExpiry(expires);
  const { key, info } = await store.create({ owner, roles: roles as Role[], ...(expiresAt ? { expiresAt } : {}) });
  if (json) {
    process.stdout.write(`${JSON.stringify({ key, ...info })}\n`);
  } else {
    process.stderr.write(`API key ${info.id} for ${owner} (${info.roles.join(', ')}${info.expiresAt ? `, expires ${info.expiresAt}` : ', no expiry'}). It is shown once; keep it in the MCP client's secret store:\n`);
    process.stdout.write(`${key}\n`);
  }
  return 0;
}

/** `90d`, `12h`, `30m` from now, or an ISO date in the future. */
export function parseExpiry(text: string, now = Date.now()): Date {
  const m = /^(\d+)\s*(d|h|m)$/.exec(text.trim());
  const date = m ? new Date(now + Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm']) : new Date(text);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--expires "${text}": give a duration (90d, 12h, 30m) or an ISO date (2027-01-31)`);
  if (date.getTime() <= now) throw new UsageError(`--expires "${text}" is in the past`);
  return date;
}

function describeKey(k: ApiKeyInfo): string {
  const state = k.revokedAt ? `revoked ${k.revokedAt}` : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? `expired ${k.expiresAt}` : 'active';
  return `${k.id}  ${k.owner}  [${k.roles.join(',')}]  ${state}  created ${k.createdAt}${k.expiresAt ? `  expires ${k.expiresAt}` : ''}  last use ${k.lastUsedAt ?? 'never'}`;
}

/** The deployment's PostgreSQL pool when `storage.postgres` is configured (its URL from the secret store). */
export async function openPool(config: Config | undefined, dataDir: string): Promise<PgPool | undefined> {
  const pg = config?.storage.postgres;
  if (!pg) return undefined;
  let url: string;
  try {
    url = await expandReferences(pg.url, { secrets: new FileSecretStore(dataDir), env: process.env });
  } catch (err) {
    if (err instanceof ControlPlaneError) throw new ControlPlaneError(err.code, `storage.postgres.url: ${err.message}`);
    throw err;
  }
  return openPostgres(url, { poolSize: pg.poolSize, applicationName: `mcpcp ${pg.writerId ?? 'cli'}` });
}
