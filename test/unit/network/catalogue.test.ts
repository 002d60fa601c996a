// What the model sees of the network server: names, titles, descriptions, schemas, annotations and
// the preview flag. Any change is a reviewed diff of test/snapshots/network.json.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../../src/servers/kit';
import { createNetworkServer, networkOptionsFromEnv } from '../../../src/servers/network';
import { matchCatalogueSnapshot } from '../../helpers/snapshot';

let client: Client;
let server: McpServer;
let tools: Tool[];

before(async () => {
  server = createNetworkServer({ log: silentLogger, options: networkOptionsFromEnv({ HOME: '/nonexistent' }, '/nonexistent') });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  client = new Client({ name: 'catalogue', version: '1.0.0' });
  await client.connect(a);
  tools = (await client.listTools()).tools;
});
after(async () => {
  await client.close();
  await server.close();
});

describe('network tool catalogue', () => {
  it('matches the snapshot', () => {
    matchCatalogueSnapshot('network', tools);
  });

  it('names tools in snake_case with "Noun: Verb" titles', () => {
    assert.deepEqual(tools.map((t) => t.name), ['devices_list', 'device_facts', 'device_command', 'device_command_many', 'config_get', 'config_diff', 'config_apply', 'config_rollback', 'config_save']);
    for (const t of tools) assert.match(t.title ?? '', /^[A-Z][a-z]+: [A-Z][a-z]+$/);
  });

  it('read tools are read-only and open-world; changes are destructive with a dryRun preview', () => {
    const readOnly = tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name);
    assert.deepEqual(readOnly, ['devices_list', 'device_facts', 'device_command', 'device_command_many', 'config_get', 'config_diff']);
    for (const t of tools) assert.equal(t.annotations?.openWorldHint, true, t.name);
    const destructive = tools.filter((t) => t.annotations?.destructiveHint === true);
    assert.deepEqual(destructive.map((t) => t.name), ['config_apply', 'config_rollback', 'config_save']);
    for (const t of destructive) {
      assert.equal(t._meta?.['mcpcp/preview'], true, t.name);
      assert.equal((t.inputSchema.properties?.['dryRun'] as { type?: string } | undefined)?.type, 'boolean', t.name);
    }
  });

  it('describes every input field, and no tool takes a password', () => {
    for (const t of tools) {
      for (const [field, schema] of Object.entries(t.inputSchema.properties ?? {})) {
        assert.ok(typeof (schema as { description?: unknown }).description === 'string', `${t.name}.${field}`);
        assert.doesNotMatch(field, /password|secret|credential|key/i, `${t.name}.${field}`);
      }
    }
  });
});
