import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startPlane, type TestPlane } from '../../helpers/fixture-plane';

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** A raw HTTP request, so Host and Origin can be set freely. */
function raw(port: number, path: string, headers: Record<string, string>, body?: string, method = 'POST'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

describe('gateway: HTTP security', () => {
  let plane: TestPlane;
  let port: number;
  let auth: Record<string, string>;
  before(async () => {
    plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { gateway: { maxBodyBytes: 2048 } });
    port = plane.gateway.listeningPort;
    auth = { authorization: `Bearer ${plane.gateway.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  });
  after(async () => plane.stop());

  it('listens on 127.0.0.1 only, with a 256-bit random token', () => {
    assert.equal(Buffer.from(plane.gateway.token, 'base64url').length, 32);
  });

  it('401 without a token or with a wrong one', async () => {
    const none = await raw(port, '/mcp/fx', { 'content-type': 'application/json' }, initialize);
    assert.equal(none.status, 401);
    const wrong = await raw(port, '/mcp/fx', { ...auth, authorization: `Bearer ${plane.gateway.token.slice(0, -1)}x` }, initialize);
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /unauthorized/);
  });

  it('403 for a foreign Origin, 403 for a foreign Host (DNS rebinding)', async () => {
    const origin = await raw(port, '/mcp/fx', { ...auth, origin: 'https://evil.example' }, initialize);
    assert.equal(origin.status, 403);
    assert.match(origin.body, /Origin/);
    const host = await raw(port, '/mcp/fx', { ...auth, host: `attacker.example:${port}` }, initialize);
    assert.equal(host.status, 403);
    assert.match(host.body, /Host/);
    const ok = await raw(port, '/mcp/fx', { ...auth, origin: `http://127.0.0.1:${port}` }, initialize);
    assert.equal(ok.status, 200);
  });

  it('413 for an oversized body, and nothing reaches the server', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x'.repeat(5000) } } });
    const res = await raw(port, '/mcp/fx', auth, big);
    assert.equal(res.status, 413);
    assert.match(res.body, /exceeds the limit of 2048 bytes/);
  });

  it('404 for an unknown server and an unknown path; 400 for invalid JSON', async () => {
    const unknown = await raw(port, '/mcp/nope', auth, initialize);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /no server named \\"nope\\"; known: fx/);
    const path = await raw(port, '/elsewhere', auth, undefined, 'GET');
    assert.equal(path.status, 404);
    const bad = await raw(port, '/mcp/fx', auth, '{not json');
    assert.equal(bad.status, 400);
  });

  it('400 for a request without a session that is not initialize', async () => {
    const res = await raw(port, '/mcp/fx', auth, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    assert.equal(res.status, 400);
    assert.match(res.body, /initialize/);
  });
});

describe('gateway: idle sessions', () => {
  it('expire after sessionIdleMs; the client must initialize again', async () => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { gateway: { sessionIdleMs: 1_000 } });
    try {
      const port = plane.gateway.listeningPort;
      const headers = { authorization: `Bearer ${plane.gateway.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const init = await fetch(`http://127.0.0.1:${port}/mcp/fx`, { method: 'POST', headers, body: initialize });
      assert.equal(init.status, 200);
      const session = init.headers.get('mcp-session-id')!;
      await init.text();
      assert.equal(plane.gateway.sessionCount, 1);
      await new Promise((r) => setTimeout(r, 1_600));
      assert.equal(plane.gateway.sessionCount, 0);
      const after = await raw(port, '/mcp/fx', { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
      assert.equal(after.status, 404);
      assert.match(after.body, /session not found: it expired or was closed; initialize a new session/);
    } finally {
      await plane.stop();
    }
  });
});

describe('gateway: per-session limits', () => {
  it('answers 429 beyond the request rate and beyond the requests in flight', async () => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { gateway: { maxRequestsPerSecondPerSession: 5, maxConcurrentPerSession: 2 } });
    try {
      const port = plane.gateway.listeningPort;
      const headers = { authorization: `Bearer ${plane.gateway.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const init = await fetch(`http://127.0.0.1:${port}/mcp/fx`, { method: 'POST', headers, body: initialize });
      const session = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
      await init.text();
      const list = (id: number) => raw(port, '/mcp/fx', session, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' }));
      const burst: Array<{ status: number; body: string }> = [];
      const started = Date.now();
      for (let i = 0; i < 12; i++) burst.push(await list(10 + i));
      const elapsedS = (Date.now() - started) / 1000;
      const limited = burst.filter((r) => r.status === 429);
      assert.deepEqual(burst.slice(0, 5).map((r) => r.status), [200, 200, 200, 200, 200], 'the bucket holds 5');
      // Whatever the machine's speed: no more passed than the bucket plus what refilled meanwhile.
      assert.ok(12 - limited.length <= 5 + Math.ceil(elapsedS * 5), `${12 - limited.length} passed in ${elapsedS}s`);
      assert.ok(limited.length > 0, 'some requests were limited');
      assert.match(limited[0]!.body, /rate limit: more than 5 requests per second in this session/);
      await new Promise((r) => setTimeout(r, 1_200));
      const slow = (id: number) => raw(port, '/mcp/fx', session, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow', arguments: { ms: 600, steps: 1 } } }));
      const calls = await Promise.all([slow(100), slow(101), new Promise<{ status: number; body: string }>((resolve) => setTimeout(() => void slow(102).then(resolve), 150))]);
      assert.deepEqual(calls.map((c) => c.status), [200, 200, 429]);
      assert.match(calls[2]!.body, /too many requests in flight in this session \(limit 2\)/);
    } finally {
      await plane.stop();
    }
  });
});
