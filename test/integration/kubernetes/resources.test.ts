// The k8s:// resources: objects and lists read as resources, and subscriptions driven by API
// watches (bookmarks, resourceVersion, a fresh list after 410 Gone).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startEmulator, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';
import { connect, type Harness } from './harness';

let emulator: ApiServerEmulator;
let h: Harness;
const updates: string[] = [];

before(async () => {
  emulator = await startEmulator({ bookmarkIntervalMs: 100 });
  h = await connect({ contexts: [{ name: 'emu', emulator, namespace: 'shop' }] });
  h.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
  });
});
after(async () => {
  await h?.close();
  await emulator?.close();
});

async function waitFor(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const text = (r: { contents: ({ text: string } | { blob: string })[] }): string => {
  const first = r.contents[0];
  return first && 'text' in first ? first.text : '';
};

describe('kubernetes resources', () => {
  it('lists the templates and reads objects (redacted) and lists (tables)', async () => {
    const { resourceTemplates } = await h.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['k8s://{context}/{namespace}/{resource}/{name}', 'k8s://{context}/{namespace}/{resource}']);
    const { resources } = await h.client.listResources();
    assert.deepEqual(resources.map((r) => r.uri), ['k8s://targets']);
    const secret = text(await h.client.readResource({ uri: 'k8s://emu/shop/secrets/db-credentials' }));
    assert.match(secret, /password: "\[REDACTED\]"/);
    assert.doesNotMatch(secret, /czNjcjN0|managedFields/);
    const nodes = text(await h.client.readResource({ uri: 'k8s://emu/_/nodes' }));
    assert.match(nodes, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nemulator-control-plane\s+Ready\s+control-plane/);
    await assert.rejects(h.client.readResource({ uri: 'k8s://emu/_/pods/crashy' }), /pods is namespaced: put the namespace in the URI/);
  });

  it('a subscription to an object reports its changes, survives 410 Gone and stops on unsubscribe', async () => {
    const uri = 'k8s://emu/shop/deployments/web';
    await h.client.subscribeResource({ uri });
    await new Promise((r) => setTimeout(r, 250));
    const watch = emulator.requests.find((q) => q.path === '/apis/apps/v1/namespaces/shop/deployments' && q.query.includes('watch=1'));
    assert.ok(watch, 'a watch was opened');
    assert.match(watch.query, /resourceVersion=\d+/);
    assert.match(watch.query, /allowWatchBookmarks=true/);
    assert.match(decodeURIComponent(watch.query), /fieldSelector=metadata\.name=web/);
    updates.length = 0;
    await h.call('scale', { name: 'web', replicas: 4 });
    await waitFor(() => updates.includes(uri), 'an update after scaling');

    const listsBefore = emulator.requests.filter((q) => q.path === '/apis/apps/v1/namespaces/shop/deployments' && !q.query.includes('watch=1')).length;
    emulator.expireWatches();
    await waitFor(() => emulator.requests.filter((q) => q.path === '/apis/apps/v1/namespaces/shop/deployments' && !q.query.includes('watch=1')).length > listsBefore, 'a new list after 410');
    await waitFor(() => emulator.openWatches >= 1, 'the watch to reopen');
    updates.length = 0;
    await h.call('scale', { name: 'web', replicas: 3 });
    await waitFor(() => updates.includes(uri), 'an update after the 410');

    await h.client.unsubscribeResource({ uri });
    await waitFor(() => emulator.openWatches === 0, 'the watch to close');
    updates.length = 0;
    await h.call('scale', { name: 'web', replicas: 2 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(updates, []);
  });

  it('a refused read or subscription carries the JSON-RPC prefix once, not once per hop', async () => {
    // The client adds "MCP error <code>: " to what the server sent; a server that sends an
    // McpError's message puts a second one on the wire (and a gateway in between a third).
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => h.client.readResource({ uri: 'k8s://emu/_/pods/crashy' }), /^MCP error -32602: pods is namespaced: put the namespace in the URI/],
      [() => h.client.readResource({ uri: 'k8s://emu/shop/pods/nosuch' }), /^MCP error -32602: NotFound: pods "nosuch" not found/],
      [() => h.client.readResource({ uri: 'k8s://nope/shop/pods/x' }), /^MCP error -32602: Invalid "context": there is no context "nope"/],
      [() => h.client.subscribeResource({ uri: 'k8s://emu/shop/bogus' }), /^MCP error -32602: The cluster of context "emu" serves no resource type "bogus"/],
      [() => h.client.subscribeResource({ uri: 'http://example.invalid/x' }), /^MCP error -32602: Only k8s:\/\/\{context\}/],
    ];
    for (const [request, expected] of cases) {
      await assert.rejects(request(), (err: Error) => {
        assert.match(err.message, expected);
        assert.equal(err.message.match(/MCP error/g)?.length, 1, err.message);
        return true;
      });
    }
  });

  it('a subscription to a list reports changes of any member', async () => {
    const uri = 'k8s://emu/shop/configmaps';
    await h.client.subscribeResource({ uri });
    updates.length = 0;
    await h.call('resource_apply', { manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  a: "1"\n' });
    await waitFor(() => updates.includes(uri), 'an update for a new configmap');
    await h.client.unsubscribeResource({ uri });
  });
});
