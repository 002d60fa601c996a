import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectClient, firstText, startPlane, waitFor, type TestPlane } from '../../helpers/fixture-plane';

describe('gateway: transparent MCP over loopback Streamable HTTP', () => {
  let plane: TestPlane;
  before(async () => {
    plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { roots: [{ uri: 'file:///home/dev/project', name: 'project' }] });
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
  });
  after(async () => plane.stop());

  it('lists and calls tools; serverInfo passes through', async () => {
    const client = await connectClient(plane, 'fx');
    assert.deepEqual(client.getServerVersion(), { name: 'fixture', version: '1.0.0' });
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'echo'));
    const del = tools.find((t) => t.name === 'delete_thing');
    assert.equal(del?.annotations?.destructiveHint, true);
    assert.equal(del?._meta?.['mcpcp/preview'], true);
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'héllo' } })), 'héllo');
    await client.close();
  });

  it('an error reaches the client with the JSON-RPC prefix once, whether the gateway or the server raised it', async () => {
    const client = await connectClient(plane, 'fx');
    const once = (expected: RegExp) => (err: Error): boolean => {
      assert.match(err.message, expected);
      assert.equal(err.message.match(/MCP error/g)?.length, 1, err.message);
      return true;
    };
    // Raised by the gateway (arguments are checked before policy)...
    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), once(/^MCP error -32602: Unknown tool "no_such_tool"/));
    // ...and by the server behind it (a method it does not serve).
    await assert.rejects(client.listResourceTemplates(), once(/^MCP error -32601: Method not found/));
    await client.close();
  });

  it('passes progress notifications with the client token', async () => {
    const client = await connectClient(plane, 'fx');
    const seen: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = await client.callTool({ name: 'slow', arguments: { ms: 200, steps: 4 } }, undefined, { onprogress: (p) => seen.push(p) });
    assert.equal(firstText(result), 'waited 200 ms');
    assert.deepEqual(seen.map((p) => p.progress), [1, 2, 3, 4]);
    assert.equal(seen[3]?.message, 'step 4');
    await client.close();
  });

  it('passes cancellation to the server, and the session keeps working', async () => {
    const client = await connectClient(plane, 'fx');
    const controller = new AbortController();
    const pending = client.callTool({ name: 'slow', arguments: { ms: 30_000, steps: 2 } }, undefined, { signal: controller.signal });
    setTimeout(() => controller.abort('user cancelled'), 200);
    await assert.rejects(pending, /cancel|abort/i);
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'still here' } })), 'still here');
    await client.close();
  });

  it('routes an elicitation to the calling session and returns its answer', async () => {
    const asker = await connectClient(plane, 'fx', { capabilities: { elicitation: {} }, name: 'asker' });
    const bystander = await connectClient(plane, 'fx', { capabilities: { elicitation: {} }, name: 'bystander' });
    let bystanderAsked = 0;
    bystander.setRequestHandler(ElicitRequestSchema, async () => {
      bystanderAsked++;
      return { action: 'decline' };
    });
    asker.setRequestHandler(ElicitRequestSchema, async (req) => {
      assert.equal(req.params.message, 'Proceed?');
      assert.equal(req.params._meta?.['mcpcp/callId'], undefined, 'the routing tag is stripped');
      return { action: 'accept', content: { answer: 'yes' } };
    });
    // The bystander is busy with a call of its own at the same time.
    const busy = bystander.callTool({ name: 'slow', arguments: { ms: 300, steps: 1 } });
    const result = await asker.callTool({ name: 'ask', arguments: { question: 'Proceed?' } });
    assert.equal(firstText(result), 'accept:yes');
    await busy;
    assert.equal(bystanderAsked, 0);
    await asker.close();
    await bystander.close();
  });

  it('routes sampling to the client', async () => {
    const client = await connectClient(plane, 'fx', { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: 'assistant', model: 'test', content: { type: 'text', text: 'sampled!' } }));
    assert.equal(firstText(await client.callTool({ name: 'sample', arguments: { prompt: 'hi' } })), 'sampled!');
    await client.close();
  });

  it('answers roots/list from the host, never from the client', async () => {
    const client = await connectClient(plane, 'fx', { capabilities: { roots: { listChanged: true } } });
    let clientAsked = 0;
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      clientAsked++;
      return { roots: [{ uri: 'file:///', name: 'everything' }] };
    });
    const roots = JSON.parse(firstText(await client.callTool({ name: 'roots', arguments: {} }))) as unknown;
    assert.deepEqual(roots, [{ uri: 'file:///home/dev/project', name: 'project' }]);
    assert.equal(clientAsked, 0);
    await client.close();
  });

  it('forwards logging messages and resource updates to subscribers', async () => {
    const client = await connectClient(plane, 'fx');
    const logs: unknown[] = [];
    const updates: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await client.subscribeResource({ uri: 'fixture://counter' });
    await client.callTool({ name: 'bump', arguments: {} });
    await client.callTool({ name: 'log', arguments: { text: 'hello log' } });
    await waitFor(() => updates.length > 0 && logs.length > 0, 5_000, 'notifications');
    assert.deepEqual(updates, ['fixture://counter']);
    assert.deepEqual(logs, ['hello log']);
    const read = await client.readResource({ uri: 'fixture://counter' });
    assert.ok('text' in read.contents[0]! && Number(read.contents[0].text) >= 1);
    const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'Ada' } });
    assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: 'Hello Ada' });
    await client.close();
  });

  it('serves several clients at once on one child', async () => {
    const clients = await Promise.all([1, 2, 3, 4].map((i) => connectClient(plane, 'fx', { name: `c${i}` })));
    const results = await Promise.all(clients.flatMap((c, i) => [0, 1, 2].map((j) => c.callTool({ name: 'echo', arguments: { text: `${i}-${j}` } }))));
    assert.deepEqual(results.map(firstText).sort(), clients.flatMap((_, i) => [0, 1, 2].map((j) => `${i}-${j}`)).sort());
    assert.equal(plane.supervisor.get('fx')!.status.restarts, 0);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('ends a session on DELETE', async () => {
    const client = await connectClient(plane, 'fx');
    const transport = client.transport;
    assert.ok(transport instanceof StreamableHTTPClientTransport);
    const id = transport.sessionId!;
    await transport.terminateSession();
    const res = await fetch(plane.url('fx'), {
      method: 'POST',
      headers: { authorization: `Bearer ${plane.gateway.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
  });

  it('exposes Prometheus metrics behind the token and a detail-free /healthz', async () => {
    const health = await fetch(`http://127.0.0.1:${plane.gateway.listeningPort}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');
    const denied = await fetch(`http://127.0.0.1:${plane.gateway.listeningPort}/metrics`);
    assert.equal(denied.status, 401);
    const res = await fetch(`http://127.0.0.1:${plane.gateway.listeningPort}/metrics`, { headers: { authorization: `Bearer ${plane.gateway.token}` } });
    const text = await res.text();
    assert.match(text, /mcpcp_calls_total\{server="fx",tool="echo",outcome="ok"\} \d+/);
    assert.match(text, /mcpcp_call_duration_seconds_bucket\{server="fx",tool="echo",le="\+Inf"\} \d+/);
  });
});
