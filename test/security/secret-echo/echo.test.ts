// Threat: a server hands back, to the agent, the secret the control plane gave it — verbatim or
// encoded, on any server-to-client path — or a tool's log output carries a credential.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateMessageRequestSchema, ElicitRequestSchema, LoggingMessageNotificationSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { configSchema } from '../../../src/core/config/schema';
import { resolveServerSpecs } from '../../../src/core/config/server-specs';
import { MASKED_NOTE } from '../../../src/core/gateway/secret-echo';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import type { TestPlane } from '../../helpers/fixture-plane';
import { connectClient, firstText, startPlane, waitFor } from '../../helpers/fixture-plane';

const SECRET = 'tok-9f8e7d6c5b4a39281706';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Every way the secret could show in what the client received. */
function leaks(value: unknown): string[] {
  const text = JSON.stringify(value) ?? '';
  const forms = [SECRET, encodeURIComponent(SECRET), b64(`user:${SECRET}`).slice(8, 30), Buffer.from(SECRET).toString('base64url').slice(0, 24)];
  return forms.filter((f) => text.includes(f));
}

async function withPlane(secrets: string[] | undefined, run: (plane: TestPlane) => Promise<void>): Promise<void> {
  const plane = await startPlane([{ name: 'echo', fixture: 'secret-echo', builtin: false, env: { ECHO_SECRET: SECRET }, ...(secrets ? { secrets } : {}) }], {
    oversight: { rules: [{ server: 'echo', decision: 'allow' }] },
  });
  try {
    await plane.supervisor.get('echo')!.waitUntilServing(10_000);
    await run(plane);
  } finally {
    await plane.stop();
  }
}

/** Collects everything the echoing server sends a client, over every path. */
async function collectAll(plane: TestPlane): Promise<Record<string, unknown>> {
  const client = await connectClient(plane, 'echo', { capabilities: { sampling: {}, elicitation: {} } });
  const got: Record<string, unknown> = {};
  const logs: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    got['sampling request'] = req.params;
    return { role: 'assistant', content: { type: 'text', text: 'ok' }, model: 'm' };
  });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    got['elicitation request'] = req.params;
    return { action: 'decline' };
  });
  got['instructions'] = client.getInstructions();
  got['tools/list'] = await client.listTools();
  got['result'] = await client.callTool({ name: 'leak', arguments: {} });
  got['isError result'] = await client.callTool({ name: 'leak_tool_error', arguments: {} });
  got['error'] = await client.callTool({ name: 'leak_error', arguments: {} }).catch((err: McpError) => ({ message: err.message, data: err.data }));
  const progress: unknown[] = [];
  await client.callTool({ name: 'leak_progress', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
  got['progress'] = progress;
  await client.callTool({ name: 'leak_log', arguments: {} });
  await waitFor(() => logs.length > 0, 5_000, 'the log notification');
  got['log notification'] = logs;
  await client.callTool({ name: 'leak_sampling', arguments: {} });
  await client.callTool({ name: 'leak_elicitation', arguments: {} });
  got['resources/list'] = await client.listResources();
  got['resources/read'] = await client.readResource({ uri: 'echo://config' });
  got['prompts/list'] = await client.listPrompts();
  got['prompts/get'] = await client.getPrompt({ name: 'p' });
  got['completion'] = await client.complete({ ref: { type: 'ref/prompt', name: 'p' }, argument: { name: 'a', value: '' } });
  await client.close();
  return got;
}

describe('secret echo: nothing a server received as a secret goes back to the agent', () => {
  it('without the filter the fixture leaks on every path (the attack is real)', async () => {
    await withPlane(undefined, async (plane) => {
      const got = await collectAll(plane);
      const leaking = Object.entries(got).filter(([, v]) => leaks(v).length > 0).map(([k]) => k);
      assert.deepEqual(leaking.sort(), Object.keys(got).sort(), 'every path carries the secret when the gateway does not know it');
    });
  });

  it('knowing the secret, the gateway masks it and its encodings on every path', async () => {
    await withPlane([SECRET], async (plane) => {
      const got = await collectAll(plane);
      assert.equal(Object.keys(got).length, 14);
      for (const [path, value] of Object.entries(got)) assert.deepEqual(leaks(value), [], `${path}: ${JSON.stringify(value)}`);
      // Masked, not dropped: the output stays useful.
      assert.match(firstText(got['result']), /^raw \[SECRET\] b64 \S*\[SECRET\]\S* url x%3D\[SECRET\]$/);
      assert.deepEqual((got['result'] as { structuredContent: unknown }).structuredContent, { token: '[SECRET]', nested: [{ basic: (got['result'] as { structuredContent: { nested: [{ basic: string }] } }).structuredContent.nested[0].basic }] });
      assert.match(JSON.stringify(got['error']), /cannot use \[SECRET\]/);
    });
  });

  it('credential patterns are masked in declared log output, with a note; not in file content', async () => {
    await withPlane([SECRET], async (plane) => {
      const client = await connectClient(plane, 'echo');
      const log = await client.callTool({ name: 'container_logs', arguments: {} });
      const texts = (log.content as Array<{ text: string }>).map((c) => c.text);
      assert.doesNotMatch(texts.join('\n'), /Sup3r-S3cret-Passw0rd-1234|hunter2hunter2/);
      assert.match(texts[0]!, /starting app\nDB_PASSWORD=\[REDACTED\]\n/);
      assert.equal(texts.at(-1), MASKED_NOTE);
      const diff = await client.callTool({ name: 'file_diff', arguments: {} });
      assert.match(firstText(diff), /DB_PASSWORD=Sup3r-S3cret-Passw0rd-1234/, 'file content the agent edits from is left as it is');
      assert.equal((diff.content as unknown[]).length, 1);
      await client.close();
    });
  });

  it('the secret values of a server are those its ${secret:} references resolved to at its start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-secrets-'));
    const store = new FileSecretStore(dir, {});
    await store.set('api', SECRET);
    await store.set('other', 'never-given-to-it');
    const config = configSchema.parse({ servers: { up: { command: 'node', args: ['--token=${secret:api}'], allowSecretInArgs: true, env: { A: 'x-${secret:api}', B: '${env:HOME}' } } } });
    const { specs } = resolveServerSpecs(config, { serversDir: dir, nodePath: process.execPath, runAsNode: false, env: { HOME: '/home/x' }, secrets: store, workspaceTrusted: true, defaultCwd: dir, rootPaths: [dir], stateDir: dir });
    const up = specs.find((s) => s.name === 'up')!;
    assert.deepEqual(up.secretValues?.(), []);
    await up.resolveSpawn();
    assert.deepEqual(up.secretValues?.(), [SECRET]);
  });
});
