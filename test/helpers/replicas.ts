/**
 * N real `mcpcp serve` replicas (the built CLI, dist/cli.js) in team mode on one PostgreSQL, each on
 * its own loopback port and data directory, sharing approvals, API keys, /ui sessions and the audit
 * through `storage.postgres`. Every replica has `team.publicUrl` http://127.0.0.1:<its port> (plain
 * HTTP is accepted on loopback only), `team.oidc` naming one OIDC issuer fixture for all of them, and
 * roles from the token's claims plus `team.roles.groups` (group `ops` → approver). Secrets reach the
 * processes as `MCPCP_SECRET_*` environment variables (database URL, OIDC client secret, the audit
 * key ring all replicas sign with), never in a file or an argument.
 *
 *   const pg = await startPostgres();
 *   const issuer = await startReplicaIssuer();
 *   const [a, b] = await startReplicas(2, { postgres: pg, issuer });
 *   const { key } = a.createApiKey('ci-bot', ['operator']);       // the real CLI, into PostgreSQL
 *   const client = await a.connect(key);                          // an MCP client on A's /mcp/fx
 *   const alice = await b.signIn('u-alice');                      // /ui sign-in on B (code + PKCE)
 *   const [approval] = await b.pending(alice);                    // every replica's, through B
 *   await b.decide(alice, approval, true);
 *   await stopReplicas([a, b]);
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { newAuditKeyring, serializeAuditKeyring } from '../../src/core/audit';
import type { ApprovalView } from '../../src/protocol/ui';
import { OidcIssuer, type IssuerUser } from '../fixtures/oidc-issuer/issuer';
import { REPO_ROOT, fixtureScript } from './fixture-plane';
import type { TestPostgres } from './postgres';
import { signInToUi, type UiSignedIn } from './ui-sign-in';

export const CLI = join(REPO_ROOT, 'dist/cli.js');
export const REPLICA_AUDIENCE = 'mcpcp-replicas';
export const REPLICA_CLIENT_ID = 'mcpcp-ui';
const CLIENT_SECRET = 'replica-fixture-client-secret-5d1e';

/**
 * The people of the replica tests. Olga is an operator and an approver (she asks, and may not
 * decide her own request); Alice is an approver by her token's roles claim; Bob by his group
 * (`ops`, mapped in `team.roles.groups`); Vera is a viewer.
 */
export const REPLICA_USERS: IssuerUser[] = [
  { sub: 'u-olga', email: 'olga@example.com', name: 'Olga', roles: ['operator', 'approver'], groups: ['dev'] },
  { sub: 'u-alice', email: 'alice@example.com', name: 'Alice', roles: ['approver'], groups: [] },
  { sub: 'u-bob', email: 'bob@example.com', name: 'Bob', roles: [], groups: ['ops'] },
  { sub: 'u-vera', email: 'vera@example.com', name: 'Vera', roles: ['viewer'], groups: [] },
];

/** The OIDC issuer fixture all replicas trust (its users: REPLICA_USERS). */
export async function startReplicaIssuer(): Promise<OidcIssuer> {
  return await OidcIssuer.start({ audience: REPLICA_AUDIENCE, clientId: REPLICA_CLIENT_ID, clientSecret: CLIENT_SECRET, users: REPLICA_USERS });
}

/** An access token for /mcp from the issuer, with the user's claims (roles, groups). */
export async function accessTokenFor(issuer: OidcIssuer, sub: string): Promise<string> {
  const user = issuer.users.find((u) => u.sub === sub);
  if (user === undefined) throw new Error(`no user ${sub} at the issuer`);
  return await issuer.accessToken({ sub: user.sub, email: user.email, roles: user.roles ?? [], groups: user.groups ?? [] });
}

export interface ReplicaOptions {
  readonly postgres: TestPostgres;
  readonly issuer: OidcIssuer;
  /** YAML lines appended to each replica's configuration (policy rules, approvals…). */
  readonly extraConfig?: readonly string[];
  /** YAML lines appended inside each replica's `team:` block (allowSelfApproval…). */
  readonly teamConfig?: readonly string[];
  /** storage.postgres.replicaTimeoutSeconds (default 15). */
  readonly replicaTimeoutSeconds?: number;
  /** Names of the replicas' writer ids (default replica-a, replica-b…). */
  readonly names?: readonly string[];
}

export type DecideBody = { status?: string; note?: string; error?: string; code?: string };

export interface Replica {
  readonly name: string;
  readonly dir: string;
  readonly dataDir: string;
  /** This replica's configuration file (for `mcpcp … --config`). */
  readonly config: string;
  readonly child: ChildProcess;
  readonly port: number;
  /** `http://127.0.0.1:<port>`, also its team.publicUrl. */
  readonly url: string;
  /** The `fx` server's MCP endpoint. */
  readonly fxUrl: string;
  /** The environment its processes run with (MCPCP_SECRET_* included). */
  readonly env: NodeJS.ProcessEnv;
  stderr(): string;
  /** An MCP client on this replica's `fx` endpoint with `Authorization: Bearer <bearer>` (API key or access token). */
  connect(bearer: string, name?: string): Promise<Client>;
  /** Signs `user` (a sub of the issuer) in to this replica's /ui. */
  signIn(user: string): Promise<UiSignedIn>;
  /** Pending approvals as this replica's /ui API lists them to a signed-in person (every replica's). */
  pending(as: UiSignedIn): Promise<ApprovalView[]>;
  history(as: UiSignedIn): Promise<ApprovalView[]>;
  /** Decides through this replica's /ui API in a person's session; the HTTP status and body. */
  decide(as: UiSignedIn, approval: Pick<ApprovalView, 'id' | 'digest'>, approve: boolean, reason?: string): Promise<{ status: number; body: DecideBody }>;
  /** Runs the real CLI with this replica's configuration, data directory and environment. */
  cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string };
  /** `mcpcp team api-key create --json` (into PostgreSQL, as storage.postgres says): the key shown once, its id. */
  createApiKey(owner: string, roles: readonly string[]): { key: string; id: string };
  /** Audit records of a type, from PostgreSQL (`mcpcp audit query --config --postgres`), every writer's. */
  audit(type: string): Array<Record<string, unknown> & { detail?: Record<string, unknown> }>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** One audit key ring per database: every replica on it signs with the same keys (as a Kubernetes Secret would give them). */
const keyrings = new WeakMap<TestPostgres, string>();

export async function startReplicas(count: number, options: ReplicaOptions): Promise<Replica[]> {
  const names = options.names ?? Array.from({ length: count }, (_, i) => `replica-${String.fromCharCode(97 + i)}`);
  // One after the other: the first applies the migrations, the others find them applied.
  const replicas: Replica[] = [];
  try {
    for (const name of names.slice(0, count)) replicas.push(await startReplica(name, options));
  } catch (err) {
    await stopReplicas(replicas);
    throw err;
  }
  return replicas;
}

export async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(
    replicas.map(async (r) => {
      if (r.child.exitCode !== null || r.child.signalCode !== null) return;
      r.child.kill('SIGTERM');
      const exited = await Promise.race([new Promise((resolve) => r.child.once('exit', () => resolve(true))), new Promise((resolve) => setTimeout(() => resolve(false), 15_000))]);
      if (!exited) r.child.kill('SIGKILL');
    }),
  );
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

async function startReplica(name: string, options: ReplicaOptions): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), `mcpcp-${name}-`));
  const dataDir = join(dir, 'data');
  const config = join(dir, 'config.yaml');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    config,
    [
      `gateway: { port: ${port} }`,
      'servers:',
      '  git: { enabled: false }',
      `  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }`,
      'storage:',
      '  postgres:',
      '    url: "${secret:pg-url}"',
      `    writerId: ${name}`,
      '    poolSize: 4',
      `    replicaTimeoutSeconds: ${options.replicaTimeoutSeconds ?? 15}`,
      'audit:',
      '  keyring: "${secret:audit-keys}"',
      'team:',
      `  publicUrl: ${url}`,
      '  oidc:',
      `    issuer: ${options.issuer.issuer}`,
      `    audience: ${REPLICA_AUDIENCE}`,
      `    clientId: ${REPLICA_CLIENT_ID}`,
      '    clientSecret: "${secret:oidc-client}"',
      '  roles:',
      '    groups: { ops: [approver] }',
      ...(options.teamConfig ?? []).map((l) => `  ${l}`),
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  let keyring = keyrings.get(options.postgres);
  if (keyring === undefined) keyrings.set(options.postgres, (keyring = serializeAuditKeyring(newAuditKeyring())));
  const env: NodeJS.ProcessEnv = { ...process.env, MCPCP_SECRET_PG_URL: options.postgres.url, MCPCP_SECRET_OIDC_CLIENT: CLIENT_SECRET, MCPCP_SECRET_AUDIT_KEYS: keyring };
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--print-client-config', '--data-dir', dataDir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${name}: serve exited (${code}): ${err}`)));
  });
  const printed = JSON.parse(firstLine) as { servers: Record<string, { url: string }> };
  const fx = printed.servers['fx'];
  if (fx === undefined) throw new Error(`${name}: no fx server in ${firstLine}`);
  if (fx.url !== `${url}/mcp/fx`) throw new Error(`${name}: printed ${fx.url}, expected the public URL ${url}/mcp/fx`);
  const api = `${url}/ui/api/approvals`;
  const list = async (as: UiSignedIn): Promise<{ approvals: ApprovalView[]; history: ApprovalView[] }> => {
    const res = await fetch(api, { headers: as.headers() });
    if (!res.ok) throw new Error(`${name}: GET approvals: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { approvals: ApprovalView[]; history: ApprovalView[] };
  };
  const cli = (args: readonly string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--config', config, '--data-dir', dataDir], { encoding: 'utf8', env, timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    name,
    dir,
    dataDir,
    config,
    child,
    port,
    url,
    fxUrl: fx.url,
    env,
    stderr: () => err,
    connect: async (bearer, clientName = 'agent') => {
      const client = new Client({ name: clientName, version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }));
      return client;
    },
    signIn: (user) => signInToUi(url, user),
    pending: async (as) => (await list(as)).approvals,
    history: async (as) => (await list(as)).history,
    decide: async (as, approval, approve, reason) => {
      const res = await fetch(`${api}/${encodeURIComponent(approval.id)}`, { method: 'POST', headers: as.headers(), body: JSON.stringify({ approve, digest: approval.digest, ...(reason ? { reason } : {}) }) });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as DecideBody };
    },
    cli,
    createApiKey: (owner, roles) => {
      const r = cli(['team', 'api-key', 'create', '--owner', owner, '--roles', roles.join(','), '--expires', '1d', '--json']);
      if (r.status !== 0) throw new Error(`${name}: team api-key create failed (${r.status}): ${r.stderr}`);
      return JSON.parse(r.stdout) as { key: string; id: string };
    },
    audit: (type) => {
      const r = cli(['audit', 'query', '--postgres', '--type', type, '--limit', '1000']);
      if (r.status !== 0) throw new Error(`${name}: audit query failed (${r.status}): ${r.stderr}`);
      return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}
