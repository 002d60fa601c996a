/**
 * Fidelity of the Kubernetes API emulator, judged by a real kubectl: where kubectl and the
 * emulator disagree, the emulator is wrong. Uses $KUBECTL, else /usr/bin/kubectl (the Google
 * Cloud CLI dispatcher, which runs the client matching the server's reported v1.32).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObject, startEmulator, writeKubeconfig, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';

const KUBECTL = process.env['KUBECTL'] ?? '/usr/bin/kubectl';
const skip = existsSync(KUBECTL) ? false : `no kubectl at ${KUBECTL}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('k8s emulator against a real kubectl', { skip }, () => {
  let emulator: ApiServerEmulator;
  let kubeconfig: string;
  let viewerKubeconfig: string;
  let work: string;

  const kubectl = (args: string[], options: { input?: string; config?: string } = {}): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile(
        KUBECTL,
        [`--cache-dir=${join(work, 'cache')}`, ...args],
        { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, KUBECONFIG: options.config ?? kubeconfig }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });

  before(async () => {
    emulator = await startEmulator();
    work = mkdtempSync(join(tmpdir(), 'kubectl-fidelity-'));
    kubeconfig = writeKubeconfig([{ name: 'emulator', emulator }]);
    viewerKubeconfig = writeKubeconfig([{ name: 'viewer', emulator, auth: { cert: 'viewer' } }]);
  });
  after(async () => {
    await emulator?.close();
  });

  it('get: nodes as JSON, pods as the server-side table, CRDs by short name with printer columns', async () => {
    const nodes = await kubectl(['get', 'nodes', '-o', 'json']);
    assert.equal(nodes.code, 0, nodes.stderr);
    const parsed = JSON.parse(nodes.stdout) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(parsed.items.map((n) => n.metadata.name), ['emulator-control-plane', 'emulator-worker', 'emulator-worker2']);

    const pods = await kubectl(['get', 'pods', '-n', 'shop']);
    assert.equal(pods.code, 0, pods.stderr);
    const lines = pods.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.ok(lines.some((l) => /^web-\S+\s+1\/1\s+Running\s+0\s+\d+s$/.test(l)), pods.stdout);
    assert.ok(lines.some((l) => /^crashy\s+0\/1\s+CrashLoopBackOff\s+3 \(\d+s ago\)/.test(l)), pods.stdout);
    assert.ok(emulator.requests.some((r) => r.path === '/api/v1/namespaces/shop/pods' && r.accept.includes('as=Table')));

    const widgets = await kubectl(['get', 'wd', '-n', 'shop', '-o', 'wide']);
    assert.equal(widgets.code, 0, widgets.stderr);
    assert.match(widgets.stdout, /^NAME\s+SIZE\s+COLOR\s+AGE\nsprocket\s+3\s+blue\s+\d+s\n$/);
  });

  it('get: paginates with limit/continue across namespaces', async () => {
    const all = await kubectl(['get', 'pods', '-A', '--chunk-size=2', '-o', 'name']);
    assert.equal(all.code, 0, all.stderr);
    const names = all.stdout.trim().split('\n');
    assert.ok(names.length >= 10, all.stdout);
    assert.equal(new Set(names).size, names.length);
    const pages = emulator.requests.filter((r) => r.path === '/api/v1/pods' && r.query.includes('limit=2'));
    assert.ok(pages.length >= 5 && pages.slice(1).every((r) => r.query.includes('continue=')), JSON.stringify(pages.map((p) => p.query)));
  });

  it('apply --server-side: creates, reports ownership conflicts, forces, and dry-runs on the server', async () => {
    const manifest = join(work, 'app.yaml');
    writeFileSync(
      manifest,
      [
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: shop\ndata:\n  key: value\n',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 4\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.28\n',
      ].join('---\n'),
    );
    const first = await kubectl(['apply', '--server-side', '-f', manifest]);
    assert.notEqual(first.code, 0);
    assert.match(first.stdout, /configmap\/demo serverside-applied/);
    assert.match(first.stderr, /Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps\/v1:\n- \.spec\.replicas\n- \.spec\.template\.spec\.containers\[name="nginx"\]\.image/);

    const dry = await kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', manifest]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /deployment\.apps\/web serverside-applied \(server dry run\)/);
    const unchanged = await kubectl(['get', 'deploy', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}']);
    assert.equal(unchanged.stdout, '3');

    const forced = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', manifest]);
    assert.equal(forced.code, 0, forced.stderr);
    const live = await kubectl(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields']);
    const deploy = JSON.parse(live.stdout) as { spec: { replicas: number }; metadata: { managedFields: { manager: string; operation: string; fieldsV1: { 'f:spec'?: Record<string, unknown> } }[] } };
    assert.equal(deploy.spec.replicas, 4);
    const mine = deploy.metadata.managedFields.find((m) => m.manager === 'kubectl' && m.operation === 'Apply');
    assert.ok(mine?.fieldsV1['f:spec']?.['f:replicas'], JSON.stringify(deploy.metadata.managedFields));

    const status = await kubectl(['rollout', 'status', 'deploy/web', '-n', 'shop', '--timeout=20s']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /successfully rolled out/);
  });

  it('delete: removes the object, kubectl waits for it, and NotFound reads as kube-apiserver writes it', async () => {
    // `kubectl create` sends protobuf, which the emulator does not speak (JSON only).
    createObject(emulator, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'doomed', namespace: 'shop' }, data: { a: 'b' } });
    const deleted = await kubectl(['delete', 'configmap', 'doomed', '-n', 'shop']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /configmap "doomed" deleted/);
    const missing = await kubectl(['get', 'configmap', 'doomed', '-n', 'shop']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Error from server \(NotFound\): configmaps "doomed" not found/);
    const cascade = await kubectl(['delete', 'deployment', 'api', '-n', 'shop']);
    assert.equal(cascade.code, 0, cascade.stderr);
    const left = await kubectl(['get', 'rs,pods', '-n', 'shop', '-l', 'app=api', '-o', 'name']);
    assert.equal(left.stdout.trim(), '');
  });

  it('logs: tail, previous container, default container choice', async () => {
    const tail = await kubectl(['logs', '-n', 'shop', 'deploy/web', '--tail=3']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout.trim().split('\n').length, 3);
    const previous = await kubectl(['logs', '-n', 'shop', 'crashy', '--previous']);
    assert.equal(previous.code, 0, previous.stderr);
    assert.match(previous.stdout, /panic: failed to connect to database/);
    const noPrevious = await kubectl(['logs', '-n', 'shop', 'deploy/web', '--previous']);
    assert.notEqual(noPrevious.code, 0);
    assert.match(noPrevious.stderr, /previous terminated container "nginx" in pod "web-\S+" not found/);
  });

  it('exec over WebSocket: output, exit codes and stdin', async () => {
    const out = await kubectl(['exec', '-n', 'shop', 'deploy/web', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3']);
    assert.equal(out.code, 3);
    assert.equal(out.stdout, 'hi\n');
    assert.match(out.stderr, /oops\ncommand terminated with exit code 3/);
    const cat = await kubectl(['exec', '-i', '-n', 'shop', 'deploy/web', '--', 'cat'], { input: 'through stdin\n' });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'through stdin\n');
    assert.ok(emulator.requests.some((r) => r.path.endsWith('/exec')));
  });

  it('authentication and RBAC: a client certificate user that may only read', async () => {
    const read = await kubectl(['get', 'pods', '-n', 'shop', '-o', 'name'], { config: viewerKubeconfig });
    assert.equal(read.code, 0, read.stderr);
    const write = await kubectl(['delete', 'pod', 'crashy', '-n', 'shop'], { config: viewerKubeconfig });
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /Error from server \(Forbidden\): pods "crashy" is forbidden: User "emulator-viewer" cannot delete resource "pods" in API group "" in the namespace "shop"/);
  });

  it('NetworkPolicy and RBAC kinds: apply, get, an immutable roleRef, delete', async () => {
    const manifest = [
      'apiVersion: networking.k8s.io/v1',
      'kind: NetworkPolicy',
      'metadata: {name: deny-all, namespace: shop}',
      'spec: {podSelector: {}, policyTypes: [Ingress]}',
      '---',
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata: {name: reader}',
      'rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]',
      '---',
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: RoleBinding',
      'metadata: {name: readers, namespace: shop}',
      'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}',
      'subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: team}]',
      '',
    ].join('\n');
    const applied = await kubectl(['apply', '-f', '-'], { input: manifest });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /networkpolicy\.networking\.k8s\.io\/deny-all created\nclusterrole\.rbac\.authorization\.k8s\.io\/reader created\nrolebinding\.rbac\.authorization\.k8s\.io\/readers created/);
    const got = await kubectl(['get', 'netpol,rolebindings', '-n', 'shop', '-o', 'name']);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(got.stdout.trim().split('\n'), ['networkpolicy.networking.k8s.io/deny-all', 'rolebinding.rbac.authorization.k8s.io/readers']);
    const changed = await kubectl(['apply', '-f', '-'], { input: manifest.replace('kind: ClusterRole, name: reader', 'kind: ClusterRole, name: admin') });
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /RoleBinding(\.rbac\.authorization\.k8s\.io)? "readers" is invalid: roleRef: Invalid value: rbac\.RoleRef\{APIGroup:"rbac\.authorization\.k8s\.io", Kind:"ClusterRole", Name:"admin"\}: cannot change roleRef/);
    const removed = await kubectl(['delete', '-f', '-'], { input: manifest });
    assert.equal(removed.code, 0, removed.stderr);
  });
});
