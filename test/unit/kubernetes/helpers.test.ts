// Pure pieces of the Kubernetes server: kubeconfig merging, Status errors, redaction, diffs,
// quantities, conflict paths, exposure patterns, resource URIs, manifests.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KubeconfigLoader, statusError } from '../../../src/servers/kubernetes/client';
import { allowedBy, k8sOptionsFromEnv } from '../../../src/servers/kubernetes/config';
import { unifiedDiff } from '../../../src/servers/kubernetes/diff';
import { humanAge, redact, redactPair, type JsonObject } from '../../../src/servers/kubernetes/objects';
import { parseQuantity } from '../../../src/servers/kubernetes/quantity';
import { k8sUri, parseK8sUri } from '../../../src/servers/kubernetes/resources';
import { parseManifest } from '../../../src/servers/kubernetes/tools/resource-apply';
import { valueAtPath } from '../../../src/servers/kubernetes/writes';

const config = (name: string, current: string, extra = ''): string => `apiVersion: v1
kind: Config
current-context: ${current}
clusters:
- name: ${name}
  cluster: {server: "https://${name}.example:6443", certificate-authority: ca.pem}
users:
- name: ${name}-user
  user: {token: t-${name}}
contexts:
- name: ${name}
  context: {cluster: ${name}, user: ${name}-user, namespace: ns-${name}}
${extra}`;

describe('kubeconfig loading', () => {
  it('merges a KUBECONFIG list first-wins, keeps the first current-context and resolves relative paths per file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const one = join(dir, 'one');
    const two = join(dir, 'two');
    writeFileSync(one, config('a', 'a'));
    writeFileSync(two, config('a', 'b', '- name: b\n  context: {cluster: a, user: a-user}\n').replace('https://a.example', 'https://shadowed.example'));
    const { info, kc } = new KubeconfigLoader({ KUBECONFIG: `${one}:${two}:${join(dir, 'missing')}` }, join(dir, 'sa')).load();
    assert.equal(info.source, 'kubeconfig');
    assert.deepEqual(info.files, [one, two]);
    assert.equal(info.currentContext, 'a');
    assert.deepEqual(info.contexts.map((c) => [c.name, c.server, c.namespace, c.auth]), [['a', 'https://a.example:6443', 'ns-a', 'token'], ['b', 'https://a.example:6443', 'default', 'token']]);
    assert.equal(kc?.getCluster('a')?.caFile, join(dir, 'ca.pem'));
  });

  it('reports a broken file, and the absence of any', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'bad'), 'clusters: [\n');
    const bad = new KubeconfigLoader({ KUBECONFIG: join(dir, 'bad') }, join(dir, 'sa')).load().info;
    assert.match(bad.problem ?? '', /^The kubeconfig \S+\/bad cannot be read: /);
    const none = new KubeconfigLoader({ HOME: dir }, join(dir, 'sa')).load().info;
    assert.equal(none.source, 'none');
    assert.match(none.problem ?? '', /^No kubeconfig found \(looked at \S+\/\.kube\/config\)/);
  });

  it('uses the in-cluster service account when there is no kubeconfig', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    for (const [f, v] of [['token', 'abc'], ['ca.crt', 'x'], ['namespace', 'team-a']]) writeFileSync(join(sa, f!), v!);
    const { info } = new KubeconfigLoader({ HOME: dir, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa).load();
    assert.equal(info.source, 'in-cluster');
    assert.deepEqual(info.contexts.map((c) => [c.name, c.server, c.namespace, c.auth]), [['in-cluster', 'https://10.0.0.1:443', 'team-a', 'service account token']]);
  });
});

describe('errors and output', () => {
  it('turns a Status into one line with reason, message, fields and context', () => {
    const err = statusError('prod', 422, JSON.stringify({ kind: 'Status', reason: 'Invalid', message: 'Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1', details: { causes: [{ field: 'spec.replicas' }, { field: 'spec.template' }] } }));
    assert.equal(err.code, 'K8S_INVALID');
    assert.equal(err.message, 'Invalid: Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1 [fields: spec.template] (context "prod")');
    const html = statusError('prod', 502, '<html>\n<body>Bad gateway</body>');
    assert.equal(html.message, 'HTTP 502: <html> (context "prod")');
    assert.equal(html.code, 'K8S_SERVER_ERROR');
  });

  it('redacts Secret values and last-applied annotations, in lists too, and marks changed values', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"p":"x"}}', keep: 'me' } }, data: { p: 'eA==' }, stringData: { q: 'y' } };
    assert.deepEqual(redact(secret), { ...secret, metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '[REDACTED]', keep: 'me' } }, data: { p: '[REDACTED]' }, stringData: { q: '[REDACTED]' } });
    const listed = redact({ kind: 'SecretList', items: [{ metadata: { name: 'a' }, data: { k: 'dg==' } }] });
    assert.deepEqual(listed['items'], [{ metadata: { name: 'a' }, data: { k: '[REDACTED]' } }]);
    const [before, after] = redactPair({ kind: 'Secret', data: { a: 'MQ==', b: 'Mg==' } }, { kind: 'Secret', data: { a: 'MQ==', b: 'Mw==', c: 'NA==' } });
    assert.deepEqual(before?.['data'], { a: '[REDACTED]', b: '[REDACTED]' });
    assert.deepEqual(after['data'], { a: '[REDACTED]', b: '[REDACTED: changed]', c: '[REDACTED]' });
  });

  it('diffs lines with context, removals before additions', () => {
    const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const b = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n');
    assert.equal(unifiedDiff(a, b, { from: 'x', to: 'y' }), '--- x\n+++ y\n@@ -2,9 +2,10 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n i\n j\n+k');
    const far = ['x', ...'abcdefghijkl'.split(''), 'y'].join('\n');
    assert.equal(unifiedDiff(far, far.replace('x', 'X').replace('y', 'Y'), { from: 'x', to: 'y' }), '--- x\n+++ y\n@@ -1,4 +1,4 @@\n-x\n+X\n a\n b\n c\n@@ -11,4 +11,4 @@\n j\n k\n l\n-y\n+Y');
    assert.equal(unifiedDiff(a, a, { from: 'x', to: 'y' }), '');
  });

  it('parses quantities and ages as kubectl prints them', () => {
    assert.equal(parseQuantity('250m'), 0.25);
    assert.ok(Math.abs((parseQuantity('123456789n') ?? 0) - 0.123456789) < 1e-12);
    assert.equal(parseQuantity('1Gi'), 2 ** 30);
    assert.equal(parseQuantity('1.5k'), 1500);
    assert.equal(parseQuantity('2e3'), 2000);
    assert.equal(parseQuantity('abc'), undefined);
    const now = Date.parse('2024-01-10T00:00:00Z');
    assert.equal(humanAge('2024-01-09T23:59:15Z', now), '45s');
    assert.equal(humanAge('2024-01-09T23:54:50Z', now), '5m10s');
    assert.equal(humanAge('2024-01-09T21:00:00Z', now), '3h');
    assert.equal(humanAge('2023-12-29T00:00:00Z', now), '12d');
  });

  it('reads conflict paths, manifests, URIs and exposure patterns', () => {
    const obj: JsonObject = { spec: { template: { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y', ports: [{ containerPort: 80, protocol: 'TCP' }] }] } } } };
    assert.equal(valueAtPath(obj, '.spec.template.spec.containers[name="b"].image'), 'y');
    assert.equal(valueAtPath(obj, '.spec.template.spec.containers[name="b"].ports[containerPort=80,protocol="TCP"].containerPort'), 80);
    assert.equal(valueAtPath(obj, '.spec.missing'), undefined);
    const docs = parseManifest('---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
    assert.deepEqual(docs.map((d) => (d['metadata'] as { name: string }).name), ['a', 'b']);
    assert.throws(() => parseManifest('a: [\n'), /Invalid "manifest": document 1 is not valid YAML/);
    assert.deepEqual(parseK8sUri('k8s://arn%3Aaws%3Aeks%2Fx/_/nodes'), { context: 'arn:aws:eks/x', namespace: undefined, resource: 'nodes', name: undefined });
    assert.equal(k8sUri({ context: 'kind-a', namespace: 'shop', resource: 'pods', name: 'web-1' }), 'k8s://kind-a/shop/pods/web-1');
    assert.deepEqual(k8sOptionsFromEnv({ MCPCP_K8S_CONTEXTS: 'kind-*, prod', MCPCP_K8S_READ_ONLY: '1' }), { contexts: ['kind-*', 'prod'], namespaces: undefined, readOnly: true, impersonate: false });
    assert.equal(k8sOptionsFromEnv({ MCPCP_K8S_IMPERSONATE: '1' }).impersonate, true);
    assert.equal(allowedBy(['kind-*', 'prod'], 'kind-a'), true);
    assert.equal(allowedBy(['kind-*', 'prod'], 'prod-eu'), false);
    assert.equal(allowedBy(undefined, 'anything'), true);
  });
});
