// The write tools of the Kubernetes server through a real MCP client, against the API emulator:
// server-side apply with conflicts and dry-run diffs, patches, deletes with their dependents,
// scale and rollouts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';
import { connect, type Harness } from './harness';

let emulator: ApiServerEmulator;
let h: Harness;

before(async () => {
  emulator = await startEmulator();
  h = await connect({ contexts: [{ name: 'emu', emulator, namespace: 'shop' }] });
});
after(async () => {
  await h?.close();
  await emulator?.close();
});

const live = (plural: string, name: string, group = ''): Record<string, any> | undefined => emulator.cluster.store.get(`${group}/${plural}`, 'shop', name);

const APP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  labels: {app: cart}
spec:
  replicas: 2
  selector:
    matchLabels: {app: cart}
  template:
    metadata:
      labels: {app: cart}
    spec:
      containers:
      - name: cart
        image: example/cart:1.0
`;

describe('kubernetes write tools', () => {
  it('resource_apply creates, reports unchanged and configured objects, with field manager mcp-control-plane', async () => {
    const created = await h.call('resource_apply', { manifest: APP });
    assert.equal(created.isError, false, created.text);
    assert.equal(created.text, 'Applied with field manager mcp-control-plane:\nconfigmap/settings (namespace shop): created\ndeployment.apps/cart (namespace shop): created');
    assert.equal(live('deployments', 'cart', 'apps')?.metadata.managedFields[0].manager, 'mcp-control-plane');
    assert.equal(emulator.cluster.store.list('/pods', 'shop').filter((p) => p.metadata.labels?.app === 'cart').length, 2);
    const again = await h.call('resource_apply', { manifest: APP });
    assert.match(again.text, /configmap\/settings \(namespace shop\): unchanged\ndeployment\.apps\/cart \(namespace shop\): unchanged$/);
    const changed = await h.call('resource_apply', { manifest: APP.replace('mode: blue', 'mode: green') });
    assert.match(changed.text, /configmap\/settings \(namespace shop\): configured/);
  });

  it('resource_apply dryRun shows a server-side dry run as a diff and changes nothing', async () => {
    const rvBefore = live('deployments', 'cart', 'apps')?.metadata.resourceVersion;
    const r = await h.call('resource_apply', { manifest: APP.replace('replicas: 2', 'replicas: 4').replace('cart:1.0', 'cart:1.1'), dryRun: true });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /^Dry run \(server-side, nothing was changed\):\nconfigmap\/settings \(namespace shop\): would change:\n/);
    assert.match(r.text, /deployment\.apps\/cart \(namespace shop\): would change:\n--- deployment\.apps\/cart \(namespace shop\) \(live\)\n\+\+\+ deployment\.apps\/cart \(namespace shop\) \(after\)\n@@ [^\n]+ @@\n/);
    assert.match(r.text, /\n- {2}replicas: 2\n\+ {2}replicas: 4\n/);
    assert.match(r.text, /\n- +image: example\/cart:1\.0\n\+ +image: example\/cart:1\.1\n/);
    assert.equal(live('deployments', 'cart', 'apps')?.metadata.resourceVersion, rvBefore);
    assert.ok(emulator.requests.some((q) => q.method === 'PATCH' && q.query.includes('dryRun=All') && q.contentType === 'application/apply-patch+yaml'));
  });

  it('an ownership conflict names the managers and fields; force takes them over', async () => {
    const manifest = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 5\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.28\n';
    const conflict = await h.call('resource_apply', { manifest });
    assert.equal(conflict.isError, true);
    assert.match(
      conflict.text,
      /Apply conflict on web \(context "emu"\): 2 fields are managed by another field manager:\n- \.spec\.replicas: owned by "kubectl-client-side-apply"; live value 3, yours 5\n- \.spec\.template\.spec\.containers\[name="nginx"\]\.image: owned by "kubectl-client-side-apply"; live value "nginx:1\.27", yours "nginx:1\.28"\n {2}Either remove these fields from the manifest \(leave them to their owner\), set them to the live values \(share ownership\), or apply again with force: true/,
    );
    assert.equal(live('deployments', 'web', 'apps')?.spec.replicas, 3);
    const forced = await h.call('resource_apply', { manifest, force: true });
    assert.equal(forced.isError, false, forced.text);
    assert.match(forced.text, /^Applied with field manager mcp-control-plane \(force\):\ndeployment\.apps\/web \(namespace shop\): configured$/);
    const deploy = live('deployments', 'web', 'apps')!;
    assert.equal(deploy.spec.replicas, 5);
    const mine = deploy.metadata.managedFields.find((m: { manager: string }) => m.manager === 'mcp-control-plane');
    assert.ok(mine.fieldsV1['f:spec']['f:replicas']);
  });

  it('secret values stay redacted in apply previews, changed ones marked as changed', async () => {
    const r = await h.call('resource_apply', {
      manifest: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token\ndata:\n  token: bmV3LXRva2Vu\n  user: YWRtaW4=\n',
      dryRun: true,
    });
    assert.match(r.text, /secret\/api-token \(namespace shop\): would be created:\n[\s\S]*token: "\[REDACTED\]"/);
    assert.doesNotMatch(r.text, /bmV3LXRva2Vu|YWRtaW4=/);
    await h.call('resource_apply', { manifest: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token\ndata:\n  token: b2xkLXRva2Vu\n  user: YWRtaW4=\n' });
    const change = await h.call('resource_apply', { manifest: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token\ndata:\n  token: bmV3LXRva2Vu\n  user: YWRtaW4=\n', dryRun: true });
    assert.match(change.text, /\n- {2}token: "\[REDACTED\]"\n\+ {2}token: "\[REDACTED: changed\]"\n/);
    assert.doesNotMatch(change.text, /user: "\[REDACTED: changed\]"|bmV3|b2xk/);
  });

  it('invalid objects come back as one line with the fields to fix', async () => {
    const r = await h.call('resource_apply', { manifest: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers: []\n' });
    assert.equal(r.isError, true);
    assert.match(r.text, /document 1 \(Pod Bad_Name\): failed: Invalid: Pod "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain[^\n]*, spec\.containers: Required value\] \(context "emu"\)/);
    const mismatch = await h.call('resource_apply', { manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n', namespace: 'shop' });
    assert.match(mismatch.text, /Invalid "namespace": document 1 is in namespace "kube-system" but the call names "shop"\./);
    const yaml = await h.call('resource_apply', { manifest: 'kind: ConfigMap\nmetadata:\n  name: x\n' });
    assert.match(yaml.text, /^Invalid "manifest": document 1 has no apiVersion\./);
  });

  it('resource_patch: strategic for built-ins, merge for custom resources, JSON patch, with dry-run diffs', async () => {
    const preview = await h.call('resource_patch', { resource: 'deploy', name: 'cart', patch: '{"spec":{"template":{"spec":{"containers":[{"name":"cart","image":"example/cart:2.0"}]}}}}', dryRun: true });
    assert.match(preview.text, /^Dry run \(server-side, strategic patch\), nothing was changed\. It would change deployment\.apps\/cart \(namespace shop\):\n/);
    assert.match(preview.text, /\n- +image: example\/cart:1\.0\n\+ +image: example\/cart:2\.0/);
    assert.equal(live('deployments', 'cart', 'apps')?.spec.template.spec.containers[0].image, 'example/cart:1.0');
    const widget = await h.call('resource_patch', { resource: 'wd', name: 'sprocket', patch: 'spec:\n  size: 7\n' });
    assert.match(widget.text, /^Patched widget\.example\.com\/sprocket \(namespace shop\) \(merge\):\n/);
    assert.equal(emulator.cluster.store.get('example.com/widgets', 'shop', 'sprocket')?.spec.size, 7);
    const json = await h.call('resource_patch', { resource: 'cm', name: 'settings', type: 'json', patch: '[{"op":"add","path":"/data/extra","value":"1"}]' });
    assert.match(json.text, /\+ {2}extra: "1"/);
    const bad = await h.call('resource_patch', { resource: 'cm', name: 'settings', type: 'json', patch: '{"data":{}}' });
    assert.match(bad.text, /^Invalid "patch": a JSON patch is a list of operations\./);
  });

  it('scale, rollout_restart, rollout_status and rollout_undo', async () => {
    const dry = await h.call('scale', { name: 'cart', replicas: 1, dryRun: true });
    assert.equal(dry.text, 'Dry run (server-side, nothing was changed): would scale deployment.apps/cart (namespace shop) from 2 to 1. 1 pod would stop.');
    const scaled = await h.call('scale', { name: 'cart', replicas: 3 });
    assert.match(scaled.text, /^Scaled deployment\.apps\/cart \(namespace shop\) from 2 to 3\./);
    assert.equal(emulator.cluster.store.list('/pods', 'shop').filter((p) => p.metadata.labels?.app === 'cart').length, 3);
    await h.call('resource_patch', { resource: 'deploy', name: 'cart', patch: '{"spec":{"template":{"spec":{"containers":[{"name":"cart","image":"example/cart:2.0"}]}}}}' });
    const restarted = await h.call('rollout_restart', { name: 'cart' });
    assert.match(restarted.text, /^Restarted deployment\.apps\/cart \(namespace shop\) \(restartedAt [^)]+\): its 3 pods are being replaced\./);
    const status = await h.call('rollout_status', { name: 'cart' });
    assert.equal(status.text, 'deployment "cart" successfully rolled out (revision 3, 3/3 available)');
    const preview = await h.call('rollout_undo', { name: 'cart', dryRun: true });
    assert.match(preview.text, /^Dry run \(server-side, nothing was changed\): would roll deployment\.apps\/cart \(namespace shop\) back from revision 3 to 2 \(ReplicaSet cart-\S+\)\.\n/);
    assert.match(preview.text, /\n- {8}kubectl\.kubernetes\.io\/restartedAt: /);
    const undone = await h.call('rollout_undo', { name: 'cart', toRevision: 1 });
    assert.match(undone.text, /^Rolled deployment\.apps\/cart \(namespace shop\) back to the template of revision 1 \(ReplicaSet cart-\S+\); it becomes revision 4\./);
    assert.equal(live('deployments', 'cart', 'apps')?.spec.template.spec.containers[0].image, 'example/cart:1.0');
    const missing = await h.call('rollout_undo', { name: 'cart', toRevision: 9 });
    assert.match(missing.text, /^Invalid "toRevision": deployment\.apps\/cart \(namespace shop\) has no revision 9\.\nRevisions kept: 4, 3, 2 \(current 4\)\.$/);
  });

  it('rollout_undo diffs only what changes, not keys whose order differs', async () => {
    const created = await h.call('resource_apply', {
      manifest: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ordered
spec:
  replicas: 1
  selector:
    matchLabels: {app: ordered}
  template:
    metadata:
      labels: {app: ordered}
      annotations: {team: shop, owner: alice}
    spec:
      containers:
      - name: app
        image: example/ordered:1.0
`,
    });
    assert.equal(created.isError, false, created.text);
    // The same annotations in another order, and a new image: revision 2.
    const patched = await h.call('resource_patch', {
      resource: 'deploy',
      name: 'ordered',
      type: 'json',
      patch: JSON.stringify([
        { op: 'replace', path: '/spec/template/metadata/annotations', value: { owner: 'alice', team: 'shop' } },
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'example/ordered:2.0' },
      ]),
    });
    assert.equal(patched.isError, false, patched.text);
    assert.deepEqual(Object.keys(live('deployments', 'ordered', 'apps')?.spec.template.metadata.annotations), ['owner', 'team']);
    const preview = await h.call('rollout_undo', { name: 'ordered', dryRun: true });
    assert.equal(preview.isError, false, preview.text);
    const changed = preview.text.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l));
    assert.deepEqual(changed, ['-          image: example/ordered:2.0', '+          image: example/ordered:1.0'], preview.text);
  });

  it('resource_delete previews exactly what goes (dependents included), caps selectors, and deletes', async () => {
    const preview = await h.call('resource_delete', { resource: 'deploy', name: 'cart', dryRun: true });
    assert.match(preview.text, /^Dry run \(server-side, nothing was deleted\)\. Would delete 1 object in namespace shop:\n {2}deployment\.apps\/cart\nand, by Background propagation, 6 dependents:\n/);
    assert.equal((preview.text.match(/\n {2}replicaset\.apps\/cart-/g) ?? []).length, 3);
    assert.equal((preview.text.match(/\n {2}pod\/cart-/g) ?? []).length, 3);
    assert.ok(live('deployments', 'cart', 'apps'));
    const tooMany = await h.call('resource_delete', { resource: 'pods', labelSelector: 'app=cart', max: 2 });
    assert.match(tooMany.text, /^Invalid "labelSelector": more than 2 pods match "app=cart"\./);
    const deleted = await h.call('resource_delete', { resource: 'deploy', name: 'cart' });
    assert.equal(deleted.text, 'Deleted 1 object in namespace shop: deployment.apps/cart. Dependents are removed by the garbage collector (Background).');
    assert.equal(live('deployments', 'cart', 'apps'), undefined);
    assert.equal(emulator.cluster.store.list('/pods', 'shop').filter((p) => p.metadata.labels?.app === 'cart').length, 0);
    const bySelector = await h.call('resource_delete', { resource: 'cm', labelSelector: 'nothing=here' });
    assert.match(bySelector.text, /^No configmaps match nothing=here in namespace shop: nothing to delete\.$/);
  });
});
