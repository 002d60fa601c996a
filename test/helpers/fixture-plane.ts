// Starts a real gateway and supervisor on loopback with fixture servers (real child processes),
// and connects real SDK clients over Streamable HTTP.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { gatewayConfigSchema, supervisorConfigSchema, type GatewayConfig, type SupervisorConfig } from '../../src/core/config/schema';
import { Gateway, type GatewayTeamOptions, type HostRoot } from '../../src/core/gateway/gateway';
import type { OversightStages } from '../../src/core/gateway/pipeline';
import type { ServerSpec } from '../../src/core/supervisor/managed-server';
import { Supervisor } from '../../src/core/supervisor/supervisor';
import type { LogLine } from '../../src/core/supervisor/server-log';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { approvalsConfigSchema, type ApprovalsConfig } from '../../src/core/config/schema';
import { Metrics } from '../../src/core/metrics/metrics';
import { openOversight, type Oversight } from '../../src/core/oversight/oversight';
import { LayeredPolicy } from '../../src/core/oversight/policy-source';
import type { PolicyRule } from '../../src/core/policy';
import { Redactor } from '../../src/core/redact';
import type { PgPool } from '../../src/core/storage/postgres';

export const REPO_ROOT = resolve(__dirname, '../..');
export const FIXTURES_DIR = join(REPO_ROOT, 'dist/test/fixtures/servers');

/** The built fixture's path; fails clearly when `npm run build` has not run. */
export function fixtureScript(name: string): string {
  const file = join(FIXTURES_DIR, `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

export interface FixtureServer {
  name: string;
  fixture: string;
  builtin?: boolean;
  env?: Record<string, string>;
  /** Values the control plane handed the server as secrets (what `${secret:}` expansion records). */
  secrets?: string[];
}

export function fixtureSpec(server: FixtureServer): ServerSpec {
  const script = fixtureScript(server.fixture);
  return {
    name: server.name,
    builtin: server.builtin ?? true,
    fingerprint: JSON.stringify(server),
    ...(server.secrets ? { secretValues: () => server.secrets! } : {}),
    resolveSpawn: async () => ({
      command: process.execPath,
      args: [script],
      env: { PATH: process.env['PATH'] ?? '', ...server.env },
    }),
  };
}

export interface TestPlane {
  gateway: Gateway;
  supervisor: Supervisor;
  logs: LogLine[];
  /** Present when started with `oversight`: the real policy, approval and audit stages. */
  oversight?: Oversight;
  policy?: LayeredPolicy;
  stateDir?: string;
  url(server: string): string;
  stop(): Promise<void>;
}

export async function startPlane(
  servers: FixtureServer[],
  options: {
    gateway?: Partial<GatewayConfig>;
    supervisor?: Partial<SupervisorConfig>;
    stages?: OversightStages;
    roots?: HostRoot[];
    waitForServerMs?: number;
    /** Team mode of the gateway (identities on /mcp, public URL, TLS, trusted proxies). */
    team?: GatewayTeamOptions;
    /** Receives the gateway's log lines. */
    gatewayLog?: (message: string) => void;
    /** Run the real oversight stages (policy, approvals, audit in a temp state dir). */
    oversight?: { rules?: PolicyRule[]; workspaceRules?: PolicyRule[]; readOnlyMode?: boolean; approvals?: Partial<ApprovalsConfig>; stateDir?: string; heartbeatMs?: number; allowSelfApproval?: boolean; postgresAudit?: { pool: PgPool; writerId: string } };
  } = {},
): Promise<TestPlane> {
  const logs: LogLine[] = [];
  const metrics = new Metrics();
  const gateway = new Gateway({
    config: gatewayConfigSchema.parse(options.gateway ?? {}),
    metrics,
    roots: () => options.roots ?? [{ uri: 'file:///workspace/project', name: 'project' }],
    ...(options.stages ? { stages: options.stages } : {}),
    ...(options.waitForServerMs !== undefined ? { waitForServerMs: options.waitForServerMs } : {}),
    ...(options.team ? { team: options.team } : {}),
    ...(options.gatewayLog ? { log: options.gatewayLog } : {}),
  });
  const supervisor = new Supervisor({
    config: supervisorConfigSchema.parse({ healthIntervalMs: 60_000, ...options.supervisor }),
    hooks: gateway,
    logSink: (line) => logs.push(line),
  });
  gateway.attach(supervisor);
  let oversight: Oversight | undefined;
  let policy: LayeredPolicy | undefined;
  let stateDir: string | undefined;
  if (options.oversight) {
    stateDir = options.oversight.stateDir ?? mkdtempSync(join(tmpdir(), 'mcpcp-state-'));
    policy = new LayeredPolicy();
    policy.setBase({ user: options.oversight.rules ?? [], readOnlyMode: options.oversight.readOnlyMode ?? false });
    if (options.oversight.workspaceRules) policy.setWorkspaceRules(options.oversight.workspaceRules);
    const redactor = new Redactor();
    redactor.addSecret(gateway.token);
    oversight = await openOversight({
      stateDir,
      instancePrefix: 'test',
      policy,
      // Tests may use expiries below the configuration's minimum.
      approvals: { ...approvalsConfigSchema.parse({}), ...options.oversight.approvals },
      redactor,
      metrics,
      supervisor,
      gatewayUrl: (server) => gateway.url(server),
      ...(options.oversight.heartbeatMs !== undefined ? { heartbeatMs: options.oversight.heartbeatMs } : {}),
      ...(options.oversight.postgresAudit !== undefined ? { postgresAudit: options.oversight.postgresAudit } : {}),
      ...(options.oversight.allowSelfApproval !== undefined ? { allowSelfApproval: options.oversight.allowSelfApproval } : {}),
    });
    gateway.setStages(oversight);
  }
  await gateway.listen();
  await supervisor.apply(servers.map(fixtureSpec));
  return {
    gateway,
    supervisor,
    logs,
    ...(oversight ? { oversight } : {}),
    ...(policy ? { policy } : {}),
    ...(stateDir ? { stateDir } : {}),
    url: (server) => gateway.url(server),
    stop: async () => {
      oversight?.rejectPending();
      await supervisor.stopAll();
      await gateway.close();
      await oversight?.close();
      policy?.dispose();
      supervisor.dispose();
    },
  };
}

export async function connectClient(
  plane: TestPlane,
  server: string,
  options: { capabilities?: ClientCapabilities; name?: string; version?: string; token?: string } = {},
): Promise<Client> {
  const client = new Client({ name: options.name ?? 'test-client', version: options.version ?? '1.2.3' }, { capabilities: options.capabilities ?? {} });
  const transport = new StreamableHTTPClientTransport(new URL(plane.url(server)), {
    requestInit: { headers: { Authorization: `Bearer ${options.token ?? plane.gateway.token}` } },
  });
  await client.connect(transport);
  return client;
}

/** Polls until `predicate` is true, failing with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The text of the first content item of a tool result. */
export function firstText(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  const item = content[0];
  if (!item || item.type !== 'text') throw new Error(`expected a text result, got ${JSON.stringify(result)}`);
  return item.text ?? '';
}
