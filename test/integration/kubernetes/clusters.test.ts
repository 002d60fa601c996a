// Several clusters side by side (two emulators, two contexts), the targets resource, clusters that
// go away, no kubeconfig at all, exposure options, read-only mode, and the kubeconfig credential
// kinds (token, client certificate, exec plugin).
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';
import { connect, type Harness } from './harness';

let a: ApiServerEmulator;
let b: ApiServerEmulator;

before(async () => {
  [a, b] = await Promise.all([startEmulator(), startEmulator({ seed: 'base', metrics: false })]);
});
after(async () => {
  await a?.close();
  await b?.close();
});

describe('two clusters through one server', () => {
  let h: Harness;
  before(async () => {
    h = await connect({ contexts: [{ name: 'alpha', emulator: a, namespace: 'shop' }, { name: 'beta', emulator: b }] });
  });
  after(() => h?.close());

  it('every tool takes a context; the kubeconfig is never written', async () => {
    const before = readFileSync(h.kubeconfig!, 'utf8');
    const mtime = statSync(h.kubeconfig!).mtimeMs;
    const contexts = await h.call('contexts_list');
    assert.match(contexts.text, /\n\*\s+alpha\s+alpha\s+https:\/\/127\.0\.0\.1:\d+\s+shop\s+token\n\s+beta\s+beta\s+https:\/\/127\.0\.0\.1:\d+\s+default\s+token/);
    const alphaDeploys = await h.call('resources_list', { resource: 'deploy' });
    assert.match(alphaDeploys.text, /\nweb\s+3\/3/);
    const betaDeploys = await h.call('resources_list', { resource: 'deploy', context: 'beta' });
    assert.equal(betaDeploys.text, 'No deployments found in namespace default (context beta).');
    const applied = await h.call('resource_apply', { context: 'beta', manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-beta\ndata:\n  a: b\n' });
    assert.match(applied.text, /configmap\/only-in-beta \(namespace default\): created/);
    assert.ok(b.cluster.store.get('/configmaps', 'default', 'only-in-beta'));
    assert.equal(a.cluster.store.get('/configmaps', 'default', 'only-in-beta'), undefined);
    const current = await h.call('resources_list', { resource: 'cm', namespace: 'default', output: 'name' });
    assert.doesNotMatch(current.text, /only-in-beta/);
    assert.equal(readFileSync(h.kubeconfig!, 'utf8'), before);
    assert.equal(statSync(h.kubeconfig!).mtimeMs, mtime);
  });

  it('a cluster without metrics says so clearly; an unknown context lists the known ones', async () => {
    const top = await h.call('top_nodes', { context: 'beta' });
    assert.equal(top.isError, true);
    assert.equal(top.text, 'The metrics API (metrics.k8s.io) is not available in context "beta".\nInstall metrics-server in the cluster to use top_nodes and top_pods; resource_describe shows requests and limits meanwhile.');
    const unknown = await h.call('namespaces_list', { context: 'gamma' });
    assert.equal(unknown.text, 'Invalid "context": there is no context "gamma" in the kubeconfig.\nAvailable contexts: alpha, beta.');
  });

  it('k8s://targets reports each cluster, and a cluster that goes away is named in every failure', async () => {
    const read = async (): Promise<{ context: string; reachable: boolean; version?: string; ready?: boolean; error?: string }[]> => {
      const res = await h.client.readResource({ uri: 'k8s://targets' });
      const first = res.contents[0];
      return JSON.parse(first && 'text' in first ? String(first.text) : '[]');
    };
    const targets = await read();
    assert.deepEqual(targets.map((t) => [t.context, t.reachable, t.version, t.ready]), [['alpha', true, 'v1.32.4', true], ['beta', true, 'v1.32.4', true]]);
    a.setReady(false);
    const notReady = await read();
    assert.equal(notReady[0]?.ready, false);
    a.setReady(true);

    const gone = await startEmulator({ seed: 'base' });
    const h2 = await connect({ contexts: [{ name: 'alpha', emulator: a }, { name: 'gone', emulator: gone }] });
    await gone.close();
    try {
      const res = await h2.client.readResource({ uri: 'k8s://targets' });
      const list = JSON.parse(String((res.contents[0] as { text: string }).text)) as { context: string; reachable: boolean; error?: string }[];
      assert.equal(list[1]?.reachable, false);
      assert.match(list[1]?.error ?? '', /^context "gone": cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: connection refused\.$/);
      const call = await h2.call('resources_list', { resource: 'pods', context: 'gone' });
      assert.equal(call.isError, true);
      assert.match(call.text, /^context "gone": cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: connection refused\.\nCheck that the cluster is running/);
      const other = await h2.call('namespaces_list', { context: 'alpha' });
      assert.equal(other.isError, false);
    } finally {
      await h2.close();
    }
  });
});

describe('kubeconfig and options', () => {
  it('without any kubeconfig the server starts, lists its tools and explains every call', async () => {
    const h = await connect({});
    try {
      const { tools } = await h.client.listTools();
      assert.ok(tools.length > 20);
      const r = await h.call('resources_list', { resource: 'pods' });
      assert.equal(r.isError, true);
      assert.match(r.text, /^No kubeconfig found \(looked at \S+\/\.kube\/config\) and not running inside a cluster\. Set KUBECONFIG or create ~\/\.kube\/config\.$/);
      assert.match((await h.call('contexts_list')).text, /^No kubeconfig found/);
    } finally {
      await h.close();
    }
  });

  it('KUBECONFIG lists merge as kubectl does, and new contexts appear without a restart', async () => {
    const h = await connect({ contexts: [{ name: 'alpha', emulator: a }] });
    try {
      const second = join(h.kubeconfig!, '..', 'second');
      writeFileSync(second, readFileSync(h.kubeconfig!, 'utf8').replaceAll('alpha', 'delta'));
      const h2 = await connect({ env: { KUBECONFIG: `${h.kubeconfig}:${second}:/nonexistent/config` } });
      try {
        const r = await h2.call('contexts_list');
        assert.match(r.text, /\n\*\s+alpha\s+[\s\S]*\n\s+delta\s+/);
        const config = readFileSync(h.kubeconfig!, 'utf8');
        writeFileSync(h.kubeconfig!, config.replace('contexts:\n', 'contexts:\n  - name: epsilon\n    context:\n      cluster: alpha\n      user: alpha-user\n'));
        const later = await h2.call('namespaces_list', { context: 'epsilon' });
        assert.equal(later.isError, false, later.text);
      } finally {
        await h2.close();
      }
    } finally {
      await h.close();
    }
  });

  it('exposed contexts and namespaces, and read-only mode', async () => {
    const h = await connect({ contexts: [{ name: 'alpha', emulator: a, namespace: 'shop' }, { name: 'beta', emulator: b }], options: { contexts: ['al*'], namespaces: ['shop'], readOnly: true } });
    try {
      const { tools } = await h.client.listTools();
      assert.ok(tools.every((t) => t.annotations?.readOnlyHint === true));
      assert.ok(!tools.some((t) => t.name === 'resource_apply'));
      const hidden = await h.call('namespaces_list', { context: 'beta' });
      assert.equal(hidden.text, 'Context "beta" is not exposed by this server.\nExposed contexts: alpha (MCPCP_K8S_CONTEXTS).');
      const ns = await h.call('namespaces_list');
      assert.match(ns.text, /^NAME\s+STATUS\s+AGE\nshop\s+Active\s+\d+s\n\(only exposed namespaces are shown: shop\)$/);
      const other = await h.call('resources_list', { resource: 'pods', namespace: 'kube-system' });
      assert.match(other.text, /^Namespace "kube-system" is not exposed by this server\./);
      const all = await h.call('resources_list', { resource: 'pods', allNamespaces: true, output: 'name' });
      assert.doesNotMatch(all.text, /coredns|kube-proxy/);
      assert.match(all.text, /pod\/crashy/);
    } finally {
      await h.close();
    }
  });

  it('client certificates and exec plugins authenticate; RBAC refusals read as one line', async () => {
    const script = join(__dirname, '..', '..', 'fixtures', 'k8s-emulator', 'exec-credential.mjs');
    const h = await connect({
      contexts: [
        { name: 'viewer', emulator: a, auth: { cert: 'viewer' }, namespace: 'shop' },
        { name: 'plugin', emulator: a, auth: { exec: { command: process.execPath, args: [script, 'admin-token'] } }, namespace: 'shop' },
        { name: 'nobody', emulator: a, auth: { token: 'wrong' } },
      ],
    });
    try {
      const contexts = await h.call('contexts_list');
      assert.match(contexts.text, /\n\*\s+viewer\s+.*client certificate\n/);
      assert.match(contexts.text, /\n\s+plugin\s+.*exec plugin \(/);
      const read = await h.call('resources_list', { resource: 'pods', context: 'viewer', output: 'name' });
      assert.match(read.text, /pod\/crashy/);
      const denied = await h.call('resource_delete', { resource: 'pod', name: 'crashy', context: 'viewer' });
      assert.equal(denied.isError, true);
      assert.equal(denied.text, 'Forbidden: pods "crashy" is forbidden: User "emulator-viewer" cannot delete resource "pods" in API group "" in the namespace "shop" (context "viewer")\nThe identity of this context lacks this permission (RBAC); use another context or ask for access.');
      const secret = await h.call('resource_get', { resource: 'secret', name: 'db-credentials', context: 'viewer' });
      assert.match(secret.text, /^Forbidden: secrets "db-credentials" is forbidden: User "emulator-viewer" cannot get resource "secrets"/);
      const viaPlugin = await h.call('namespaces_list', { context: 'plugin' });
      assert.equal(viaPlugin.isError, false, viaPlugin.text);
      const rejected = await h.call('namespaces_list', { context: 'nobody' });
      assert.equal(rejected.text, 'Unauthorized: Unauthorized (context "nobody")\nThe credentials of this context were rejected: log in again or refresh the token in the kubeconfig.');
    } finally {
      await h.close();
    }
  });
});
