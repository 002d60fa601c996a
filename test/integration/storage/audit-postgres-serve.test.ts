// Two `mcpcp serve` replicas on one PostgreSQL (storage.postgres, each its own writerId, one key
// ring from a secret as a Kubernetes Secret would give it): calls through both are audited in the
// database, each replica in its own chain; one replica is SIGKILLed while a call runs; every call a
// client got an answer for has its `call.completed` row, the killed call its `call.requested` and
// `policy.decided` rows, and `mcpcp audit verify --config` says intact. `mcpcp audit query --config`
// reads both writers. A configuration combining storage.postgres with audit.retention is refused.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { newAuditKeyring, serializeAuditKeyring } from '../../../src/core/audit';
import { AUDIT_RECORDS_TABLE } from '../../../src/core/audit/postgres';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { REPO_ROOT, firstText, fixtureScript, waitFor } from '../../helpers/fixture-plane';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const skip = postgresSkipReason();
const KEYS = serializeAuditKeyring(newAuditKeyring());

describe('mcpcp serve with the audit in PostgreSQL: two replicas, one killed mid-call (real processes, real server)', { skip }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  let dir: string;
  const children: ChildProcess[] = [];
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url);
    dir = mkdtempSync(join(tmpdir(), 'mcpcp-pg-serve-'));
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await pool?.end();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, MCPCP_SECRET_PG_URL: server.url, MCPCP_SECRET_AUDIT_KEYS: KEYS });

  function writeConfig(name: string, writerId: string, extra: string[] = []): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        'servers:',
        '  git: { enabled: false }',
        `  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }`,
        'storage:',
        '  postgres:',
        '    url: "${secret:pg-url}"',
        `    writerId: ${writerId}`,
        'audit:',
        '  keyring: "${secret:audit-keys}"',
        ...extra,
        '',
      ].join('\n'),
    );
    return file;
  }

  async function serve(name: string, writerId: string): Promise<{ child: ChildProcess; client: Client; stderr: () => string }> {
    const config = writeConfig(name, writerId);
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, `data-${name}`), '--port', '0', '--print-client-config'], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
    });
    const fx = (JSON.parse(line) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['fx']!;
    const client = new Client({ name: `client-${name}`, version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
    return { child, client, stderr: () => stderr };
  }

  const cli = (args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [CLI, 'audit', ...args], { encoding: 'utf8', env: env(), timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('both replicas audit to their own chains; a replica killed mid-call loses no audit record; verify is intact', async () => {
    const a = await serve('a', 'replica-a');
    const b = await serve('b', 'replica-b');
    // Concurrent calls through both replicas.
    const answered = await Promise.all([
      ...Array.from({ length: 20 }, async (_, i) => ['a', firstText(await a.client.callTool({ name: 'echo', arguments: { text: `a${i}` } }))] as const),
      ...Array.from({ length: 20 }, async (_, i) => ['b', firstText(await b.client.callTool({ name: 'echo', arguments: { text: `b${i}` } }))] as const),
    ]);
    assert.equal(answered.length, 40);

    // A call running on A when A is killed.
    const gone = new AbortController();
    const slow = a.client.callTool({ name: 'slow', arguments: { ms: 20_000, steps: 2 } }, undefined, { timeout: 60_000, signal: gone.signal }).then(
      () => 'answered',
      () => 'failed',
    );
    await waitFor(async () => (await pool.query(`SELECT 1 FROM ${AUDIT_RECORDS_TABLE} WHERE writer_id = 'replica-a' AND tool = 'slow' AND type = 'policy.decided'`)).rowCount === 1, 15_000, 'the slow call decided on A');
    a.child.kill('SIGKILL');
    await new Promise((resolve) => a.child.once('exit', resolve));
    // The client stops waiting for an answer that cannot come (the SDK would wait for its time-out).
    gone.abort();
    assert.equal(await slow, 'failed');

    const rows = async (writer: string, type: string, tool: string): Promise<number> =>
      Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${AUDIT_RECORDS_TABLE} WHERE writer_id = $1 AND type = $2 AND tool = $3`, [writer, type, tool])).rows[0]!.n);
    // Every call a client got an answer for is recorded as completed: the gateway answers only after the row committed.
    assert.equal(await rows('replica-a', 'call.completed', 'echo'), 20);
    assert.equal(await rows('replica-b', 'call.completed', 'echo'), 20);
    assert.equal(await rows('replica-a', 'call.requested', 'slow'), 1);
    assert.equal(await rows('replica-a', 'call.completed', 'slow'), 0, 'the killed call never completed');

    const verified = cli(['verify', '--config', join(dir, 'a.yaml'), '--data-dir', join(dir, 'data-a')]);
    assert.equal(verified.code, 0, verified.out + verified.err);
    assert.match(verified.out, /from 2 writers/);

    // B stops cleanly (its closing checkpoint); the query path reads both writers from the database.
    b.child.kill('SIGTERM');
    await new Promise((resolve) => b.child.once('exit', resolve));
    const query = cli(['query', '--config', join(dir, 'b.yaml'), '--data-dir', join(dir, 'data-b'), '--type', 'call.completed', '--limit', '100']);
    assert.equal(query.code, 0, query.err);
    const instances = new Set(query.out.trim().split('\n').map((l) => (JSON.parse(l) as { instance: string }).instance));
    assert.deepEqual([...instances].sort(), ['replica-a', 'replica-b']);
    const again = cli(['verify', '--config', join(dir, 'b.yaml'), '--data-dir', join(dir, 'data-b')]);
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(again.out, /replica-b: seq 1\.\.\d+ \(checkpointed through \d+\)/);
  });

  it('a second replica with the same writerId is refused at start, naming the setting', async () => {
    const a = await serve('c', 'replica-c');
    try {
      const config = writeConfig('c2', 'replica-c');
      const r = spawnSync(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, 'data-c2'), '--port', '0'], { cwd: dir, env: env(), encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /audit writer "replica-c" is already being written by another running replica/);
      assert.match(r.stderr, /storage\.postgres\.writerId/);
    } finally {
      await a.client.close();
      a.child.kill('SIGTERM');
    }
  });

  it('a replica whose audit.keyring secret is not set does not start (it never makes a key ring of its own)', () => {
    const config = writeConfig('k', 'replica-k');
    const { MCPCP_SECRET_AUDIT_KEYS: _omitted, ...withoutKeys } = env();
    const r = spawnSync(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, 'data-k'), '--port', '0'], { cwd: dir, env: withoutKeys, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /audit\.keyring names the secret audit-keys, which is not set: create one with `mcpcp audit rotate-key --key-file audit\.key`/);
    assert.match(r.stderr, /MCPCP_SECRET_AUDIT_KEYS/);
  });

  it('storage.postgres with audit.retention is refused rather than silently ignored', () => {
    const config = writeConfig('r', 'replica-r', ['  retention:', '    maxAgeDays: 30']);
    const r = spawnSync(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, 'data-r'), '--port', '0'], { cwd: dir, env: env(), encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /audit\.retention removes rotated audit files, and with storage\.postgres the audit is in the database/);
  });
});
