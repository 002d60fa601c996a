// The kit's effect contract over a real MCP client (in-memory transport): the definition says it,
// mcpcp/resolveEffect answers without running the handler, and a call whose effect changed since it
// was checked is refused before the handler runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { createLogger, createToolServer, EFFECT_META_KEY, EXPECTED_EFFECT_META_KEY, RESOLVE_EFFECT_METHOD, toolDefiner } from '../../../src/servers/kit';

interface Services {
  readonly state: { target: string; moved: number; ran: number };
}
const tool = toolDefiner<Services>();

const move = tool({
  name: 'thing_move',
  title: 'Thing: Move',
  description: 'Moves the thing to where `to` (default: the current target) points.',
  input: z.object({ to: z.string().optional().describe('Destination; default the current target.') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  preview: true,
  async effect(input, ctx) {
    return { type: 'test.move', destination: input.to ?? ctx.services.state.target };
  },
  async handler(input, ctx) {
    if (ctx.dryRun) return { text: `would move to ${ctx.effect?.['destination'] ?? input.to}` };
    ctx.services.state.ran++;
    return { text: `moved to ${String(ctx.effect?.['destination'] ?? input.to ?? ctx.services.state.target)}` };
  },
});

async function connect(state: Services['state']): Promise<Client> {
  const server = createToolServer<Services>({ name: 't', version: '1', log: createLogger('t', 'error'), services: () => ({ state }), tools: [move] });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 'gateway', version: '1' });
  await client.connect(b);
  return client;
}

const resultSchema = z.object({ effect: z.record(z.string(), z.unknown()) });

describe('kit: effect contract', () => {
  it('advertises the effect and resolves it without running the handler', async () => {
    const state = { target: 'main', moved: 0, ran: 0 };
    const client = await connect(state);
    const [def] = (await client.listTools()).tools;
    assert.equal(def?._meta?.[EFFECT_META_KEY], true);
    const r = await client.request({ method: RESOLVE_EFFECT_METHOD, params: { name: 'thing_move', arguments: {} } } as never, resultSchema);
    assert.deepEqual(r.effect, { type: 'test.move', destination: 'main' });
    assert.equal(state.ran, 0);
    await assert.rejects(client.request({ method: RESOLVE_EFFECT_METHOD, params: { name: 'thing_move', arguments: { to: 5 } } } as never, resultSchema), /invalid arguments for thing_move: to:/);
    await assert.rejects(client.request({ method: RESOLVE_EFFECT_METHOD, params: { name: 'nope', arguments: {} } } as never, resultSchema), /declares no effect/);
    await client.close();
  });

  it('runs when the effect is still the one checked, and hands it to the handler', async () => {
    const state = { target: 'main', moved: 0, ran: 0 };
    const client = await connect(state);
    const ok = await client.callTool({ name: 'thing_move', arguments: {}, _meta: { [EXPECTED_EFFECT_META_KEY]: { destination: 'main', type: 'test.move' } } }, CallToolResultSchema);
    assert.equal(ok.isError, undefined);
    assert.deepEqual(ok.content, [{ type: 'text', text: 'moved to main' }]);
    assert.equal(state.ran, 1);
    await client.close();
  });

  it('refuses, before the handler runs, when the effect changed since it was checked', async () => {
    const state = { target: 'main', moved: 0, ran: 0 };
    const client = await connect(state);
    const checked = (await client.request({ method: RESOLVE_EFFECT_METHOD, params: { name: 'thing_move', arguments: {} } } as never, resultSchema)).effect;
    state.target = 'release';
    const refused = await client.callTool({ name: 'thing_move', arguments: {}, _meta: { [EXPECTED_EFFECT_META_KEY]: checked } }, CallToolResultSchema);
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /no longer what was checked and approved \(then .*main.*, now .*release.*\). Nothing was changed/);
    assert.equal(state.ran, 0, 'the handler ran');
    await client.close();
  });
});
