import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type Notification,
} from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError } from '../../../src/core/errors';
import { createLogger, createToolServer, invalidArgument, toolDefiner, type ToolDefinition } from '../../../src/servers/kit';

interface Services {
  readonly counter: { n: number };
}
const tool = toolDefiner<Services>();
const SAFE = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const DESTRUCTIVE = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false } as const;

const echo = tool({
  name: 'echo_text',
  title: 'Echo: Text',
  description: 'Echoes text.',
  input: z.object({ text: z.string().describe('What to echo.'), times: z.number().int().default(1).describe('Repeat count.') }),
  annotations: SAFE,
  async handler(input) {
    return { text: Array.from({ length: input.times }, () => input.text).join('\n') };
  },
});

const bump = tool({
  name: 'counter_bump',
  title: 'Counter: Bump',
  description: 'Adds one, unless dryRun.',
  input: z.object({}),
  annotations: DESTRUCTIVE,
  preview: true,
  async handler(_input, ctx) {
    if (ctx.dryRun) return { text: `would become ${ctx.services.counter.n + 1}` };
    ctx.services.counter.n++;
    return { text: `now ${ctx.services.counter.n}`, structured: { n: ctx.services.counter.n } };
  },
});

const failing = tool({
  name: 'always_fail',
  title: 'Fail: Always',
  description: 'Fails.',
  input: z.object({ kind: z.enum(['known', 'field', 'unknown']).describe('Which failure.') }),
  annotations: SAFE,
  async handler(input) {
    if (input.kind === 'known') throw new ControlPlaneError('SOMETHING', 'It went wrong at https://u:tok@host/x.', { details: { hint: 'Do the other thing.' } });
    if (input.kind === 'field') throw invalidArgument('path', '"x" is outside.', 'Give a path inside.');
    throw new TypeError('boom at internal place');
  },
});

const asker = tool({
  name: 'ask_client',
  title: 'Ask: Client',
  description: 'Sends sampling and elicitation requests, and progress.',
  input: z.object({}),
  annotations: SAFE,
  async handler(_input, ctx) {
    await ctx.progress(50, 100, 'half');
    const sampled = await ctx.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 });
    const elicited = await ctx.elicit({ mode: 'form', message: 'ok?', requestedSchema: { type: 'object', properties: {} } });
    return { text: `${sampled.content.type === 'text' ? sampled.content.text : ''} ${elicited.action} ${ctx.callId ?? 'none'}` };
  },
});

const big = tool({
  name: 'big_output',
  title: 'Big: Output',
  description: 'Returns more than the budget, with a secret.',
  input: z.object({}),
  annotations: SAFE,
  async handler() {
    return { text: `${['AKIA', 'ABCDEFGHIJKLMNOP'].join('')}\n${Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n')}` };
  },
});

const bigStructured = tool({
  name: 'big_structured',
  title: 'Big: Structured',
  description: 'Returns a short text and structured data over the budget unless small.',
  input: z.object({ small: z.boolean().describe('Keep the structured data small.') }),
  annotations: SAFE,
  async handler(input) {
    const rows = Array.from({ length: input.small ? 3 : 500 }, (_, i) => ({ path: `file-${i}.txt` }));
    return { text: `${rows.length} rows`, structured: { rows } };
  },
});

async function start(tools: readonly ToolDefinition<Services>[]) {
  const counter = { n: 0 };
  const lines: string[] = [];
  const server = createToolServer({ name: 'test', version: '1', log: createLogger('t', 'debug', (l) => lines.push(l)), budgetBytes: 2_000, services: () => ({ counter }), tools });
  const client = new Client({ name: 'c', version: '1' }, { capabilities: { sampling: {}, elicitation: { form: {} } } });
  const seen: { sampling?: unknown; elicit?: unknown } = {};
  client.setRequestHandler(CreateMessageRequestSchema, (req) => {
    seen.sampling = req.params._meta;
    return { role: 'assistant', content: { type: 'text', text: 'sampled' }, model: 'm' };
  });
  client.setRequestHandler(ElicitRequestSchema, (req) => {
    seen.elicit = req.params._meta;
    return { action: 'accept', content: {} };
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  const call = async (name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>) =>
    CallToolResultSchema.parse(await client.callTool({ name, arguments: args, ...(meta === undefined ? {} : { _meta: meta }) }));
  const text = (r: { content: { type: string; text?: string }[] }) => r.content.map((c) => c.text ?? '').join('\n');
  return { client, server, counter, call, text, seen, lines };
}

describe('registerTools', () => {
  it('lists each tool with title, annotations, described JSON schema, and the preview contract', async () => {
    const t = await start([echo, bump]);
    const { tools } = await t.client.listTools();
    const e = tools.find((x) => x.name === 'echo_text');
    const b = tools.find((x) => x.name === 'counter_bump');
    assert.equal(e?.title, 'Echo: Text');
    assert.deepEqual(e?.annotations, { title: 'Echo: Text', ...SAFE });
    assert.equal(e?._meta, undefined);
    assert.equal(e?.inputSchema.properties?.['dryRun'], undefined);
    assert.deepEqual(e?.inputSchema.properties?.['text'], { type: 'string', description: 'What to echo.' });
    assert.deepEqual(b?._meta, { 'mcpcp/preview': true });
    assert.equal(z.object({ type: z.string() }).parse(b?.inputSchema.properties?.['dryRun']).type, 'boolean');
    assert.ok(!(b?.inputSchema.required ?? []).includes('dryRun'));
  });

  it('passes dryRun to the handler, which then changes nothing', async () => {
    const t = await start([bump]);
    const preview = await t.call('counter_bump', { dryRun: true });
    assert.equal(t.text(preview), 'would become 1');
    assert.equal(t.counter.n, 0);
    const done = await t.call('counter_bump', {});
    assert.equal(t.text(done), 'now 1');
    assert.deepEqual(done.structuredContent, { n: 1 });
  });

  it('maps errors to isError results a model can act on, without stacks or secrets', async () => {
    const t = await start([failing]);
    const known = await t.call('always_fail', { kind: 'known' });
    assert.equal(known.isError, true);
    assert.equal(t.text(known), 'It went wrong at https://[REDACTED]@host/x.\nDo the other thing.');
    const field = await t.call('always_fail', { kind: 'field' });
    assert.equal(t.text(field), 'Invalid "path": "x" is outside.\nGive a path inside.');
    const unknown = await t.call('always_fail', { kind: 'unknown' });
    assert.equal(unknown.isError, true);
    assert.match(t.text(unknown), /^always_fail failed with an unexpected error: boom at internal place\./);
    assert.ok(!t.text(unknown).includes('register.test'), 'no stack trace on the wire');
    assert.ok(t.lines.some((l) => l.includes('TypeError') && l.includes('register.test')), 'the stack goes to the log');
  });

  it('refuses invalid input through the schema, naming the field', async () => {
    const t = await start([echo]);
    const r = await t.call('echo_text', { times: 2 });
    assert.equal(r.isError, true);
    assert.match(t.text(r), /text/);
  });

  it('redacts and caps output to the budget with a note', async () => {
    const t = await start([big]);
    const out = t.text(await t.call('big_output'));
    assert.ok(!out.includes('ABCDEFGHIJKLMNOP'));
    assert.ok(Buffer.byteLength(out) < 2_000 + 1_024 + 300);
    assert.match(out, /\[truncated: showing \d+ of \d+ bytes; \d+ bytes not shown\. Narrow the request/);
  });

  it('leaves out structured output over the budget (VS Code would show it to the model instead of the text)', async () => {
    const t = await start([bigStructured]);
    const small = await t.call('big_structured', { small: true });
    assert.deepEqual(small.structuredContent, { rows: [{ path: 'file-0.txt' }, { path: 'file-1.txt' }, { path: 'file-2.txt' }] });
    const large = await t.call('big_structured', { small: false });
    assert.equal(large.structuredContent, undefined);
    assert.match(t.text(large), /^500 rows\n\[structured output left out: larger than the 2000-byte budget/);
  });

  it('tags sampling and elicitation requests with the call id, and sends progress', async () => {
    const t = await start([asker]);
    const progress: Notification[] = [];
    const r = CallToolResultSchema.parse(
      await t.client.callTool({ name: 'ask_client', arguments: {}, _meta: { 'mcpcp/callId': 'call-42' } }, undefined, {
        onprogress: (p) => progress.push({ method: 'notifications/progress', params: p }),
      }),
    );
    assert.equal(t.text(r), 'sampled accept call-42');
    assert.deepEqual(t.seen.sampling, { 'mcpcp/callId': 'call-42' });
    assert.deepEqual(t.seen.elicit, { 'mcpcp/callId': 'call-42' });
    assert.equal(progress.length, 1);
    assert.equal(progress[0]?.params?.['message'], 'half');
  });

  it('sends untagged requests when the call has no id', async () => {
    const t = await start([asker]);
    const r = await t.call('ask_client');
    assert.match(t.text(r), /none$/);
    assert.equal(t.seen.sampling, undefined);
  });

  it('refuses declarations that break the server contract', () => {
    const base = { title: 'X: Y', description: 'd', input: z.object({}), annotations: SAFE, handler: async () => ({ text: '' }) };
    const bad: [string, ToolDefinition<Services>][] = [
      ['name must be snake_case', { ...base, name: 'BadName' }],
      ['has no .describe()', { ...base, name: 'no_desc', input: z.object({ a: z.string() }) }],
      ['"dryRun" is reserved', { ...base, name: 'own_dry', input: z.object({ dryRun: z.boolean().describe('x') }) }],
      ['must declare a preview', { ...base, name: 'destroy_all', annotations: DESTRUCTIVE }],
      ['cannot declare a preview', { ...base, name: 'read_preview', preview: true }],
    ];
    for (const [message, def] of bad) {
      assert.throws(() => createToolServer({ name: 't', version: '1', log: createLogger('t', 'error', () => {}), services: () => ({ counter: { n: 0 } }), tools: [def] }), new RegExp(message.replace(/[.()"]/g, '\\$&')));
    }
    assert.throws(
      () => createToolServer({ name: 't', version: '1', log: createLogger('t', 'error', () => {}), services: () => ({ counter: { n: 0 } }), tools: [echo, echo] }),
      /declared twice/,
    );
  });
});
