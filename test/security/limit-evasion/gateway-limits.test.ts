// Threat: an agent or a local process walks around the gateway's limits — batching calls into one
// HTTP request, opening sessions without end, or holding connections with unfinished headers until
// real clients cannot get in.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { TestPlane } from '../../helpers/fixture-plane';
import { connectClient, firstText, startPlane, waitFor } from '../../helpers/fixture-plane';

async function withPlane(options: Parameters<typeof startPlane>[1], run: (plane: TestPlane) => Promise<void>): Promise<void> {
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], options);
  try {
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    await run(plane);
  } finally {
    await plane.stop();
  }
}

const echoCalls = (plane: TestPlane): number => plane.gateway.metrics.recent(0).filter((s) => s.tool === 'echo').length;

/** A raw Streamable HTTP session: initialize, then POST whatever body. */
async function rawSession(plane: TestPlane): Promise<(body: unknown) => Promise<Response>> {
  const headers = { authorization: `Bearer ${plane.gateway.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(plane.url('fx'), {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  await init.text();
  const session = init.headers.get('mcp-session-id')!;
  const post = (body: unknown): Promise<Response> => fetch(plane.url('fx'), { method: 'POST', headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify(body) });
  await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  return post;
}

const batch = (n: number, from = 1): unknown[] => Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: from + i, method: 'tools/call', params: { name: 'echo', arguments: { text: `m${i}` } } }));

describe('limit evasion: limits count messages, sessions and connections are bounded', () => {
  it('a JSON-RPC batch counts per message for the rate and concurrency limits', async () => {
    await withPlane({ gateway: { maxRequestsPerSecondPerSession: 8, maxConcurrentPerSession: 4 } }, async (plane) => {
      const post = await rawSession(plane);
      // One request of 1,000 calls: refused whole, nothing reaches the server.
      const big = await post(batch(1_000));
      assert.equal(big.status, 429);
      assert.match(await big.text(), /a batch of 1000 messages exceeds this session's limits/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(echoCalls(plane), 0, 'no call of the refused batch ran');
      // Rate: two batches of 4 pings take the whole per-second budget of 8; a third waits for it.
      await new Promise((r) => setTimeout(r, 1_100));
      const pings = (from: number): unknown[] => Array.from({ length: 4 }, (_, i) => ({ jsonrpc: '2.0', id: from + i, method: 'ping' }));
      const at = Date.now();
      for (const from of [200, 300]) {
        const res = await post(pings(from));
        assert.equal(res.status, 200);
        await res.text();
      }
      const third = await post(pings(400));
      const body = await third.text();
      if (Date.now() - at < 400) {
        assert.equal(third.status, 429, 'eight messages spent the budget of eight per second');
        assert.match(body, /rate limit: more than 8 requests per second in this session \(a batch counts each message\)/);
      }
      // Concurrency: three slow calls in flight; a batch of two more would make five of four.
      await new Promise((r) => setTimeout(r, 1_100));
      const slow = (from: number, n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: from + i, method: 'tools/call', params: { name: 'slow', arguments: { ms: 1_500, steps: 1 } } }));
      const inFlight = post(slow(500, 3));
      await new Promise((r) => setTimeout(r, 300));
      const more = await post(slow(600, 2));
      assert.equal(more.status, 429);
      assert.match(await more.text(), /too many requests in flight in this session \(limit 4\); a batch counts each message/);
      const done = await inFlight;
      assert.equal(done.status, 200);
      await done.text();
    });
  });

  it('sessions beyond maxSessions evict the longest idle, never a busy one, and never refuse a new client', async () => {
    await withPlane({ gateway: { maxSessions: 10 }, oversight: {} }, async (plane) => {
      const busy = await connectClient(plane, 'fx', { name: 'busy' });
      const waiting = busy.callTool({ name: 'delete_thing', arguments: { name: 'kept' } });
      await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the busy session to wait');
      const clients = [];
      for (let i = 0; i < 40; i++) clients.push(await connectClient(plane, 'fx', { name: `c${i}` }));
      assert.ok(plane.gateway.sessionCount <= 10, `sessions kept: ${plane.gateway.sessionCount}`);
      // The newest client works; the busy one was not evicted and gets its result.
      assert.equal(firstText(await clients.at(-1)!.callTool({ name: 'echo', arguments: { text: 'new' } })), 'new');
      const approval = plane.oversight!.store.list()[0]!;
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      assert.match(firstText(await waiting), /deleted kept/);
      // An evicted client's next request is told its session is gone (it may initialize again).
      await assert.rejects(clients[0]!.callTool({ name: 'echo', arguments: { text: 'old' } }), /session not found|404/i);
      for (const c of clients) await c.close().catch(() => undefined);
      await busy.close();
    });
  });

  it('connections with unfinished headers are capped and timed out; a real client is still served', async () => {
    await withPlane({ gateway: { maxUnauthenticatedConnections: 20, unauthenticatedTimeoutMs: 1_500 } }, async (plane) => {
      const port = plane.gateway.listeningPort;
      const sockets: Socket[] = [];
      let open = 0;
      await Promise.all(
        Array.from({ length: 300 }, () =>
          new Promise<void>((resolve) => {
            const s = connect(port, '127.0.0.1', () => {
              open++;
              s.write(`POST /mcp/fx HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
              resolve();
            });
            s.on('close', () => open--);
            s.on('error', () => resolve());
            sockets.push(s);
          }),
        ),
      );
      await waitFor(() => open <= 20, 5_000, `the gateway to close all but 20 of 300 (open: ${open})`);
      assert.ok(plane.gateway.unauthenticatedConnections <= 20);
      // A real client connects, lists and calls while the attacker keeps trying.
      const more = Array.from({ length: 50 }, () => connect(port, '127.0.0.1', function (this: Socket) { this.write('GET / HTTP/1.1\r\n'); }).on('error', () => undefined));
      const client = await connectClient(plane, 'fx');
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'served' } })), 'served');
      // The rest time out.
      await waitFor(() => open === 0, 5_000, `the unfinished connections to time out (open: ${open})`);
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'still' } })), 'still', 'the client\'s connection is not touched');
      await client.close();
      for (const s of [...sockets, ...more]) s.destroy();
    });
  });
});
