/**
 * N real `mcpcp serve` replicas (the built CLI, dist/cli.js) on one PostgreSQL, each on its own
 * loopback port and data directory, sharing approvals through `storage.postgres`. The database
 * URL reaches each process as `MCPCP_SECRET_PG_URL` (the config says `${secret:pg-url}`), never in
 * a file or an argument. Each replica serves the `fx` fixture server (tools `write_marker`,
 * `delete_thing`, …) and has its own approver credential.
 *
 *   const pg = await startPostgres();
 *   const [a, b] = await startReplicas(2, { postgres: pg });
 *   const client = await a.connect();          // an MCP client on replica a's gateway
 *   const pending = await b.pending();          // every replica's pending approvals, through b
 *   await b.decide(pending[0], true);           // with b's approver credential
 *   await stopReplicas([a, b]);
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ApprovalView } from '../../src/protocol/ui';
import { REPO_ROOT, fixtureScript } from './fixture-plane';
import type { TestPostgres } from './postgres';

export const CLI = join(REPO_ROOT, 'dist/cli.js');

export interface ReplicaOptions {
  readonly postgres: TestPostgres;
  /** YAML lines appended to each replica's configuration (policy rules, `team:`…). */
  readonly extraConfig?: readonly string[];
  /** storage.postgres.replicaTimeoutSeconds (default 15). */
  readonly replicaTimeoutSeconds?: number;
  /** Names of the replicas' writer ids (default replica-a, replica-b…). */
  readonly names?: readonly string[];
}

export interface Replica {
  readonly name: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  readonly port: number;
  /** The `fx` server's endpoint and the client token's headers on this replica. */
  readonly fx: { readonly url: string; readonly headers: Record<string, string> };
  /** This replica's approver credential (its data directory's). */
  readonly credential: string;
  stderr(): string;
  /** An MCP client connected to this replica's `fx` endpoint. */
  connect(name?: string): Promise<Client>;
  /** Pending approvals as this replica's /ui API lists them (every replica's, with shared state). */
  pending(): Promise<ApprovalView[]>;
  history(): Promise<ApprovalView[]>;
  /** Decides through this replica's /ui API with its approver credential; the HTTP status and body. */
  decide(approval: Pick<ApprovalView, 'id' | 'digest'>, approve: boolean, reason?: string): Promise<{ status: number; body: { status?: string; note?: string; error?: string; code?: string } }>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

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

async function startReplica(name: string, options: ReplicaOptions): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), `mcpcp-${name}-`));
  const dataDir = join(dir, 'data');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      'servers:',
      '  git: { enabled: false }',
      `  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }`,
      'storage:',
      '  postgres:',
      '    url: "${secret:pg-url}"',
      `    writerId: ${name}`,
      '    poolSize: 4',
      `    replicaTimeoutSeconds: ${options.replicaTimeoutSeconds ?? 15}`,
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  const env = { ...process.env, MCPCP_SECRET_PG_URL: options.postgres.url };
  // The credential exists before serve starts, so nothing is printed about creating one.
  const rotate = spawnSync(process.execPath, [CLI, 'approver-credential', 'rotate', '--data-dir', dataDir], { encoding: 'utf8', env });
  const credential = rotate.stdout.trim();
  if (rotate.status !== 0 || !credential.startsWith('mcpcp_appr_')) throw new Error(`approver-credential rotate failed: ${rotate.stderr}`);
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--print-client-config', '--data-dir', dataDir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${name}: serve exited (${code}): ${err}`)));
  });
  const printed = JSON.parse(firstLine) as { servers: Record<string, { url: string; headers: Record<string, string> }> };
  const fx = printed.servers['fx'];
  if (fx === undefined) throw new Error(`${name}: no fx server in ${firstLine}`);
  const port = Number(new URL(fx.url).port);
  const api = `http://127.0.0.1:${port}/ui/api/approvals`;
  const headers = { 'x-approver-credential': credential, 'content-type': 'application/json' };
  const list = async (): Promise<{ approvals: ApprovalView[]; history: ApprovalView[] }> => {
    const res = await fetch(api, { headers });
    if (!res.ok) throw new Error(`${name}: GET approvals: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { approvals: ApprovalView[]; history: ApprovalView[] };
  };
  return {
    name,
    dir,
    dataDir,
    child,
    port,
    fx,
    credential,
    stderr: () => err,
    connect: async (clientName = 'agent') => {
      const client = new Client({ name: clientName, version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
      return client;
    },
    pending: async () => (await list()).approvals,
    history: async () => (await list()).history,
    decide: async (approval, approve, reason) => {
      const res = await fetch(`${api}/${encodeURIComponent(approval.id)}`, { method: 'POST', headers, body: JSON.stringify({ approve, digest: approval.digest, ...(reason ? { reason } : {}) }) });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as { status?: string; error?: string; code?: string } };
    },
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}
