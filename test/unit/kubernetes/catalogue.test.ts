// What the model sees of the Kubernetes server: names, titles, descriptions, schemas, annotations
// and the preview flag. Any change is a reviewed diff of test/snapshots/kubernetes.json.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../../src/servers/kit';
import { createKubernetesServer } from '../../../src/servers/kubernetes';
import { matchCatalogueSnapshot } from '../../helpers/snapshot';

let client: Client;
let tools: Tool[];

before(async () => {
  const home = mkdtempSync(join(tmpdir(), 'k8s-catalogue-'));
  const server = createKubernetesServer({
    log: silentLogger,
    env: { HOME: home },
    options: { contexts: undefined, namespaces: undefined, readOnly: false },
    serviceAccountDir: join(home, 'none'),
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  client = new Client({ name: 'catalogue', version: '1.0.0' });
  await Promise.all([server.connect(b), client.connect(a)]);
  tools = (await client.listTools()).tools;
});
after(() => client.close());

describe('kubernetes tool catalogue', () => {
  it('matches the snapshot', () => {
    matchCatalogueSnapshot('kubernetes', tools);
  });

  it('names tools in snake_case with "Noun: Verb" titles', () => {
    for (const t of tools) {
      assert.match(t.name, /^[a-z]+(_[a-z]+)*$/);
      assert.match(t.title ?? '', /^[A-Z][A-Za-z]*( [A-Z][a-z]+)?: [A-Z][a-z]+$/, t.name);
    }
  });

  it('marks reads read-only, and gives every destructive tool a preview with dryRun', () => {
    const readOnly = tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name);
    assert.deepEqual(readOnly, [
      'contexts_list', 'namespaces_list', 'api_resources', 'resources_list', 'resource_get', 'resource_describe', 'events_list', 'pods_logs',
      'top_nodes', 'top_pods', 'rollout_status', 'port_forward_list',
    ]);
    const destructive = tools.filter((t) => t.annotations?.destructiveHint === true);
    assert.deepEqual(destructive.map((t) => t.name), ['resource_apply', 'resource_patch', 'resource_delete', 'scale', 'rollout_restart', 'rollout_undo', 'node_drain', 'pods_exec']);
    for (const t of destructive) {
      assert.equal(t._meta?.['mcpcp/preview'], true, t.name);
      assert.equal((t.inputSchema.properties?.['dryRun'] as { type?: string } | undefined)?.type, 'boolean', t.name);
    }
  });

  it('routes secrets and ownership through reveal and force, and takes a context everywhere it talks to a cluster', () => {
    const withReveal = tools.filter((t) => t.inputSchema.properties?.['reveal']).map((t) => t.name);
    assert.deepEqual(withReveal, ['resources_list', 'resource_get', 'resource_describe', 'resource_apply', 'resource_patch']);
    const withForce = tools.filter((t) => t.inputSchema.properties?.['force']).map((t) => t.name);
    assert.deepEqual(withForce, ['resource_apply', 'node_drain']);
    const local = ['contexts_list', 'port_forward_list', 'port_forward_stop'];
    for (const t of tools.filter((x) => !local.includes(x.name))) assert.ok(t.inputSchema.properties?.['context'], `${t.name} has no context`);
  });

  it('describes every input field', () => {
    for (const t of tools) {
      for (const [field, schema] of Object.entries(t.inputSchema.properties ?? {})) {
        assert.ok(typeof (schema as { description?: unknown }).description === 'string', `${t.name}.${field}`);
      }
    }
  });
});
