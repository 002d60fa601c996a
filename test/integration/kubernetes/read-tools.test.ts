// The read tools of the Kubernetes server through a real MCP client, against the API emulator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addBulkPods, startEmulator, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';
import { connect, type Harness } from './harness';

let emulator: ApiServerEmulator;
let h: Harness;

before(async () => {
  emulator = await startEmulator({ logTickMs: 200 });
  addBulkPods(emulator, 2, 150);
  h = await connect({ contexts: [{ name: 'emu', emulator, namespace: 'shop' }] });
});
after(async () => {
  await h?.close();
  await emulator?.close();
});

const tokenOf = (text: string): string | undefined => text.match(/continue: "([^"]+)"/)?.[1];

describe('kubernetes read tools', () => {
  it('contexts_list shows the kubeconfig contexts and, on request, reachability', async () => {
    const r = await h.call('contexts_list', { check: true });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /^CURRENT\s+NAME\s+CLUSTER\s+SERVER\s+NAMESPACE\s+AUTH\s+REACHABLE\s+VERSION\n\*\s+emu\s+emu\s+https:\/\/127\.0\.0\.1:\d+\s+shop\s+token\s+yes\s+v1\.32\.4/);
    assert.equal(r.structured?.['currentContext'], 'emu');
  });

  it('namespaces_list and api_resources (with CRDs and short names)', async () => {
    const ns = await h.call('namespaces_list');
    assert.match(ns.text, /^NAME\s+STATUS\s+AGE\n/);
    assert.match(ns.text, /\nshop\s+Active\s+\d+s/);
    const api = await h.call('api_resources', { search: 'wid' });
    assert.match(api.text, /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND\s+VERBS\nwidgets\s+wd\s+example\.com\/v1\s+true\s+Widget\s+create,/);
  });

  it('resources_list prints kubectl\'s columns from the server Table, by short name, for CRDs, and wide', async () => {
    const pods = await h.call('resources_list', { resource: 'po' });
    assert.equal(pods.isError, false, pods.text);
    assert.match(pods.text, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    assert.match(pods.text, /\ncrashy\s+0\/1\s+CrashLoopBackOff\s+3 \(\d+s ago\)\s+\d+s/);
    assert.ok(emulator.requests.some((r) => r.path === '/api/v1/namespaces/shop/pods' && r.accept.startsWith('application/json;as=Table;v=v1;g=meta.k8s.io')));
    const wide = await h.call('resources_list', { resource: 'apps/v1/Deployment', output: 'wide' });
    assert.match(wide.text, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    assert.match(wide.text, /\nweb\s+3\/3\s+3\s+3\s+\d+s\s+nginx\s+nginx:1\.27\s+app=web/);
    const widgets = await h.call('resources_list', { resource: 'widgets.example.com' });
    assert.match(widgets.text, /^NAME\s+SIZE\s+AGE\nsprocket\s+3\s+\d+s$/);
    const names = await h.call('resources_list', { resource: 'svc', output: 'name' });
    assert.equal(names.text, 'NAME\nservice/web');
    const none = await h.call('resources_list', { resource: 'pods', labelSelector: 'app=nothing' });
    assert.equal(none.text, 'No pods found in namespace shop matching labels app=nothing (context emu).');
  });

  it('resources_list pages 300 pods across namespaces within the budget, each pod exactly once', async () => {
    const seen = new Set<string>();
    let token: string | undefined;
    let calls = 0;
    do {
      const r = await h.call('resources_list', { resource: 'pods', allNamespaces: true, labelSelector: 'app=bench', ...(token ? { continue: token } : {}) });
      assert.equal(r.isError, false, r.text);
      assert.ok(Buffer.byteLength(r.text) <= 16_000, `page of ${Buffer.byteLength(r.text)} bytes`);
      const rows = r.text.split('\n').filter((l) => l.startsWith('bench-'));
      for (const row of rows) {
        const [ns, name] = row.split(/\s+/);
        const key = `${ns}/${name}`;
        assert.ok(!seen.has(key), `${key} shown twice`);
        seen.add(key);
      }
      token = tokenOf(r.text);
      if (token) assert.match(r.text, /\[(\d+ )?more pods not shown \(showed \d+, budget 16 KB \(~4k tokens\)\) — continue with continue: "/);
      calls++;
    } while (token && calls < 20);
    assert.equal(seen.size, 300);
    assert.ok(calls >= 2);
  });

  it('an expired continue token says to list again', async () => {
    const first = await h.call('resources_list', { resource: 'pods', namespace: 'bench-00', limit: 10 });
    const token = tokenOf(first.text);
    assert.ok(token, first.text);
    const next = await h.call('resources_list', { resource: 'pods', namespace: 'bench-00', limit: 10, continue: token });
    assert.equal(next.isError, false, next.text);
    assert.match(next.text, /^NAME\s+READY/);
    const third = tokenOf(next.text);
    assert.ok(third);
    emulator.compact();
    const expired = await h.call('resources_list', { resource: 'pods', namespace: 'bench-00', limit: 10, continue: third });
    assert.equal(expired.isError, true);
    assert.match(expired.text, /^The continue token has expired: the pods list changed too much since the first page \(context emu\)\.\nList again without continue to start over\.$/);
    const foreign = await h.call('resources_list', { resource: 'svc', continue: third });
    assert.match(foreign.text, /Invalid "continue": this token belongs to another listing/);
  });

  it('secrets are redacted in get, list as yaml and describe, and shown only with reveal', async () => {
    const get = await h.call('resource_get', { resource: 'secret', name: 'db-credentials' });
    assert.match(get.text, /password: "\[REDACTED\]"/);
    assert.match(get.text, /kubectl\.kubernetes\.io\/last-applied-configuration: "\[REDACTED\]"/);
    assert.doesNotMatch(get.text, /s3cr3t|czNjcjN0|managedFields/);
    const listed = await h.call('resources_list', { resource: 'secrets', output: 'json' });
    assert.doesNotMatch(listed.text, /s3cr3t|czNjcjN0/);
    assert.match(listed.text, /"password": "\[REDACTED\]"/);
    const described = await h.call('resource_describe', { resource: 'secret', name: 'db-credentials' });
    assert.match(described.text, /Data:\n {2}username: 4 bytes\n {2}password: 14 bytes/);
    assert.doesNotMatch(described.text, /s3cr3t|czNjcjN0/);
    const revealed = await h.call('resource_get', { resource: 'secret', name: 'db-credentials', reveal: true, output: 'json' });
    assert.match(revealed.text, /"password": "czNjcjN0LUh1bnRlcjI="/);
    assert.match(revealed.text, /s3cr3t-Hunter2/);
  });

  it('resource_describe shows a Deployment with its ReplicaSets, Pods, conditions and events', async () => {
    const r = await h.call('resource_describe', { resource: 'deploy', name: 'web' });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /^Name: {9}web\nNamespace: {4}shop\nKind: {9}Deployment \(apps\/v1\)/);
    assert.match(r.text, /\nReplicas: {5}3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable\n/);
    assert.match(r.text, /\nReplicaSets:\n {2}NAME\s+REVISION\s+DESIRED\s+CURRENT\s+READY\s+IMAGES\s+AGE\n {2}web-\S+\s+1 \(current\)\s+3\s+3\s+3\s+nginx:1\.27/);
    assert.equal((r.text.match(/\n {2}web-\S+-\S+\s+1\/1\s+Running/g) ?? []).length, 3);
    assert.match(r.text, /\nConditions:\n {2}TYPE\s+STATUS\s+REASON\s+SINCE\s+MESSAGE\n {2}Available\s+True\s+MinimumReplicasAvailable/);
    assert.match(r.text, /\nEvents:\n {2}LAST SEEN\s+TYPE\s+REASON\s+FROM\s+MESSAGE\n {2}\d+s\s+Normal\s+ScalingReplicaSet\s+deployment-controller\s+Scaled up replica set web-\S+ from 0 to 3/);
    const svc = await h.call('resource_describe', { resource: 'service', name: 'web' });
    assert.match(svc.text, /\nEndpoints:\n {2}Ready \(3\):\n {4}10\.244\.\d+\.\d+:80 \(pod\/web-/);
  });

  it('resource_describe of a busy node says how to list the rest of its pods, and that call works', async () => {
    const busy = emulator.cluster.store.list('/pods', 'bench-00')[0]?.spec?.nodeName as string;
    assert.ok(busy, 'the bench pods are scheduled');
    const r = await h.call('resource_describe', { resource: 'node', name: busy });
    assert.equal(r.isError, false, r.text);
    assert.equal((r.text.match(/\n {2}bench-0[01]\s+app-\d{4}-/g) ?? []).length, 20);
    const fieldSelector = `spec.nodeName=${busy},status.phase!=Succeeded,status.phase!=Failed`;
    // The API server gives no remainingItemCount for a selected list, so no count is promised.
    assert.match(r.text, new RegExp(`\\n {2}\\(more not shown: resources_list resource=pods allNamespaces=true fieldSelector="${fieldSelector.replace(/[.!]/g, '\\$&')}"\\)`));
    const follow = await h.call('resources_list', { resource: 'pods', allNamespaces: true, fieldSelector, limit: 500 });
    assert.equal(follow.isError, false, follow.text);
    assert.match(follow.text, /^NAMESPACE\s+NAME\s+READY/);
    assert.equal(new Set(follow.text.split('\n').filter((l) => l.startsWith('bench-')).map((l) => l.split(/\s+/)[0])).size, 2);
  });

  it('events_list shows warnings, and pods_logs gets tails, previous containers and workload pods', async () => {
    const events = await h.call('events_list', { warningsOnly: true });
    assert.match(events.text, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+FROM\s+MESSAGE\n/);
    assert.match(events.text, /Warning\s+Failed\s+pod\/broken-\S+\s+kubelet\s+Failed to pull image "example\/doesnotexist:1\.0"/);
    assert.doesNotMatch(events.text, /Normal/);
    const tail = await h.call('pods_logs', { pod: 'deployment/api', tailLines: 3 });
    assert.match(tail.text, /^Logs of shop\/api-\S+, picked pod api-\S+ of 2; container api \(others: log-shipper\):\n(api request \d+: GET \/api\/items\/\d+ 200 \d+ms\n?){3}$/);
    const previous = await h.call('pods_logs', { pod: 'crashy', previous: true });
    assert.match(previous.text, /panic: failed to connect to database/);
    const noPrevious = await h.call('pods_logs', { pod: 'deployment/web', previous: true });
    assert.equal(noPrevious.isError, true);
    assert.match(noPrevious.text, /^BadRequest: previous terminated container "nginx" in pod "web-\S+" not found \(context "emu"\)/);
  });

  it('pods_logs follows a container for a bounded time with progress notifications', async () => {
    const progress: string[] = [];
    const r = await h.call('pods_logs', { pod: 'deployment/web', tailLines: 1, follow: true, followSeconds: 2 }, { onprogress: (p) => progress.push(p.message ?? '') });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /^Logs of shop\/web-\S+, picked pod web-\S+ of 3 \(followed for up to 2s\):\nnginx request 39: [^\n]+\nnginx tick 1\nnginx tick 2\n/);
    assert.ok(progress.length >= 1 && /^\d+ lines so far from web-\S+\/nginx$/.test(progress[0] ?? ''), JSON.stringify(progress));
  });

  it('rollout_status explains a stuck rollout with the pods and their warnings', async () => {
    const r = await h.call('rollout_status', { name: 'broken', timeoutSeconds: 1 });
    assert.equal(r.isError, false);
    assert.match(r.text, /^Waiting for deployment "broken" rollout to finish: 0 of 1 updated replicas are available\.\.\. Not finished after 1s\.\nPods not ready \(1 of 1\):\n {2}broken-\S+: ImagePullBackOff \(Back-off pulling image "example\/doesnotexist:1\.0"\)\nRecent warnings:/);
  });

  it('API errors are one line naming the reason and the context; unknown types suggest names', async () => {
    const missing = await h.call('resource_get', { resource: 'deploy', name: 'nope' });
    assert.equal(missing.isError, true);
    assert.equal(missing.text, 'NotFound: deployments.apps "nope" not found (context "emu")\nCheck the name, kind and namespace (resources_list shows what exists).');
    const unknown = await h.call('resources_list', { resource: 'widget.nothing' });
    assert.match(unknown.text, /^The cluster of context "emu" serves no resource type "widget\.nothing"\. Did you mean: widgets\?/);
    const badSelector = await h.call('resources_list', { resource: 'pods', fieldSelector: 'spec.foo=bar' });
    assert.equal(badSelector.text.split('\n')[0], 'BadRequest: field label not supported: spec.foo (context "emu")');
  });
});
