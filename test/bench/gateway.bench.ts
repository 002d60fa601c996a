// Gateway overhead: a no-op tool through the gateway vs a direct stdio call to the same fixture
// server vs a plain node:http server answering with a fixed JSON-RPC reply (the floor for any
// HTTP hop), at concurrency 1 and 16, all with the same SDK client; then the time from kill -9 of
// a server to it running again.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { percentile } from '../../src/core/metrics/metrics';
import { connectClient, fixtureScript, startPlane, waitFor } from '../helpers/fixture-plane';

interface Row {
  path: string;
  concurrency: number;
  calls: number;
  p50: number;
  p99: number;
  perSecond: number;
}

async function measure(path: string, client: Client, concurrency: number, total: number): Promise<Row> {
  // Warm-up: JIT, connections, sessions.
  for (let i = 0; i < 200; i++) await client.callTool({ name: 'noop', arguments: {} });
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t0 = process.hrtime.bigint();
        await client.callTool({ name: 'noop', arguments: {} });
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { path, concurrency, calls: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: latencies.length / seconds };
}

/** A plain HTTP server that answers every JSON-RPC request with a fixed reply for its method. */
async function plainServer(): Promise<{ server: HttpServer; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const msg = JSON.parse(Buffer.concat(chunks).toString()) as { id?: number; method: string };
      if (msg.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const result =
        msg.method === 'initialize'
          ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'plain', version: '1' } }
          : { content: [{ type: 'text', text: 'ok' }] };
      const body = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

async function restartTimes(backoffBaseMs: number, trials: number): Promise<number[]> {
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], {
    supervisor: { backoffBaseMs, crashLoopThreshold: 1_000, healthIntervalMs: 60_000 },
  });
  const managed = plane.supervisor.get('fx')!;
  await managed.waitUntilServing(10_000);
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const state = managed.status.state;
    if (state.kind !== 'running') throw new Error(`not running: ${state.kind}`);
    const t0 = process.hrtime.bigint();
    process.kill(state.pid!, 'SIGKILL');
    await waitFor(() => {
      const s = managed.status.state;
      return s.kind === 'running' && s.pid !== state.pid;
    }, 40_000, 'running again');
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    // A manual restart resets the backoff, so every trial measures a first crash.
    await managed.restart();
    await managed.waitUntilServing(10_000);
  }
  await plane.stop();
  return times;
}

export async function run(): Promise<string> {
  const rows: Row[] = [];
  const total = 3_000;

  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { gateway: { maxRequestsPerSecondPerSession: 1_000_000, maxConcurrentPerSession: 64 } });
  await plane.supervisor.get('fx')!.waitUntilServing(10_000);
  const viaGateway = await connectClient(plane, 'fx');

  const guarded = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], {
    gateway: { maxRequestsPerSecondPerSession: 1_000_000, maxConcurrentPerSession: 64 },
    oversight: {},
  });
  await guarded.supervisor.get('fx')!.waitUntilServing(10_000);
  const viaGuarded = await connectClient(guarded, 'fx');

  const direct = new Client({ name: 'bench', version: '1' });
  await direct.connect(new StdioClientTransport({ command: process.execPath, args: [fixtureScript('well-behaved')], stderr: 'ignore' }));

  const plain = await plainServer();
  const viaPlain = new Client({ name: 'bench', version: '1' });
  await viaPlain.connect(new StreamableHTTPClientTransport(new URL(plain.url)));

  for (const concurrency of [1, 16]) {
    rows.push(await measure('direct stdio (SDK client → child)', direct, concurrency, total));
    rows.push(await measure('plain node:http, fixed reply (HTTP floor)', viaPlain, concurrency, total));
    rows.push(await measure('gateway (HTTP → gateway → stdio child)', viaGateway, concurrency, total));
    rows.push(await measure('gateway + policy + audit (fsync\'d, hash-chained)', viaGuarded, concurrency, total));
  }
  await viaGuarded.close();
  await guarded.stop();
  await viaGateway.close();
  await direct.close();
  await viaPlain.close();
  plain.server.close();
  await plane.stop();

  const defaultBackoff = await restartTimes(500, 20);
  const minimalBackoff = await restartTimes(1, 20);

  const fmt = (n: number): string => n.toFixed(2);
  const lines = [
    '## Gateway overhead (`test/bench/gateway.bench.ts`)',
    '',
    `No-op read-only tool call, ${total} calls per row after 200 warm-up calls, one SDK client (\`@modelcontextprotocol/sdk\`) for every path. ` +
      'The plain gateway runs with policy and audit off; the guarded one evaluates the policy and writes three audit records per call ' +
      '(requested and the policy decision awaited, fsync\'d with group commit, before forwarding; the completion after).',
    '',
    '| path | concurrency | p50 ms | p99 ms | calls/s | p50 vs direct stdio | calls/s vs plain HTTP |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const directRow = rows.find((x) => x.concurrency === r.concurrency && x.path.startsWith('direct'))!;
    const plainRow = rows.find((x) => x.concurrency === r.concurrency && x.path.startsWith('plain'))!;
    lines.push(`| ${r.path} | ${r.concurrency} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.perSecond.toFixed(0)} | ${(r.p50 / directRow.p50).toFixed(2)}× | ${(r.perSecond / plainRow.perSecond).toFixed(2)}× |`);
  }
  lines.push(
    '',
    '### Time from kill -9 to running again (20 trials each, a manual restart between trials resets the backoff)',
    '',
    '| backoff base | median ms | p90 ms | max ms |',
    '|---|---:|---:|---:|',
    `| 500 ms (default; full jitter draws 0–500 ms) | ${fmt(percentile(defaultBackoff, 50))} | ${fmt(percentile(defaultBackoff, 90))} | ${fmt(Math.max(...defaultBackoff))} |`,
    `| 1 ms (respawn + handshake + tool listing only) | ${fmt(percentile(minimalBackoff, 50))} | ${fmt(percentile(minimalBackoff, 90))} | ${fmt(Math.max(...minimalBackoff))} |`,
  );
  return lines.join('\n');
}
