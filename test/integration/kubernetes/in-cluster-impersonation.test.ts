/**
 * The Kubernetes server as it runs in a team deployment: in-cluster configuration (service account
 * token and CA files, KUBERNETES_SERVICE_HOST/PORT) against the API emulator, acting as the calling
 * principal through impersonation. The emulator gives the ServiceAccount only `impersonate` on the
 * mcpcp role groups, and access per role group (viewer: view, operator: edit), as deploy/ does;
 * a real kubectl checks the emulator's impersonation first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createKubernetesServer } from '../../../src/servers/kubernetes/server';
import { createLogger } from '../../../src/servers/kit/log';
import { EMULATOR_CA, kubeconfigYaml, startEmulator, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';
import { kubectl, kubectlSkip } from '../deploy/manifests';

const SA = 'system:serviceaccount:mcpcp:mcpcp';
const ROLE_GROUPS = ['mcpcp:role:viewer', 'mcpcp:role:operator', 'mcpcp:role:approver', 'mcpcp:role:admin'];

type Result = Awaited<ReturnType<Client['callTool']>>;
const text = (r: Result): string => (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
const asPrincipal = (id: string, roles: string[]): Record<string, unknown> => ({ 'mcpcp/principal': { id, roles } });

describe('kubernetes server in the cluster, acting as the caller', () => {
  let emulator: ApiServerEmulator;
  let dir: string;
  let client: Client;

  const replicas = (name: string): unknown => {
    const type = emulator.cluster.findType('apps', 'v1', 'deployments')!;
    return (emulator.cluster.get(type, 'shop', name) as { spec?: { replicas?: number } }).spec?.replicas;
  };

  before(async () => {
    emulator = await startEmulator({
      tokens: {
        'admin-token': { name: 'admin', groups: ['system:masters', 'system:authenticated'] },
        'sa-token': { name: SA, groups: ['system:serviceaccounts', 'system:serviceaccounts:mcpcp', 'system:authenticated'] },
        'viewer-token': { name: 'viewer', groups: ['viewers', 'system:authenticated'] },
      },
      impersonators: { [SA]: ROLE_GROUPS },
      groupAccess: { viewers: 'view', 'mcpcp:role:viewer': 'view', 'mcpcp:role:operator': 'edit' },
    });
    dir = mkdtempSync(join(tmpdir(), 'in-cluster-'));
    // What the kubelet mounts into the pod.
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), EMULATOR_CA);
    writeFileSync(join(sa, 'namespace'), 'shop');
    const server = createKubernetesServer({
      log: createLogger('test-k8s', 'error'),
      env: { HOME: join(dir, 'home'), KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(emulator.port) },
      serviceAccountDir: sa,
      options: { contexts: undefined, namespaces: undefined, readOnly: false, impersonate: true },
    });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    client = new Client({ name: 'gateway-stand-in', version: '1' });
    await client.connect(b);
  });

  after(async () => {
    await client?.close();
    await emulator?.close();
  });

  it('kubectl judges the emulator: --as/--as-group act as that user; impersonating without the right is 403', { skip: kubectlSkip }, async () => {
    const admin = join(dir, 'admin.kubeconfig');
    writeFileSync(admin, kubeconfigYaml([{ name: 'emu', emulator, namespace: 'shop' }]));
    const saConfig = join(dir, 'sa.kubeconfig');
    writeFileSync(saConfig, kubeconfigYaml([{ name: 'emu', emulator, namespace: 'shop', auth: { token: 'sa-token' } }]));

    const get = await kubectl(['get', 'deployments', '-o', 'name', '--as=alice', '--as-group=mcpcp:role:viewer'], { kubeconfig: admin });
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /deployment\.apps\/web/);
    const seen = emulator.requests.filter((r) => r.path === '/apis/apps/v1/namespaces/shop/deployments').pop()!;
    assert.deepEqual([seen.user, seen.impersonatedBy, seen.groups], ['alice', 'admin', ['mcpcp:role:viewer', 'system:authenticated']]);

    const del = await kubectl(['delete', 'deployment', 'web', '--as=alice', '--as-group=mcpcp:role:viewer'], { kubeconfig: admin });
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /deployments(\.apps)? "web" is forbidden: User "alice" cannot delete resource "deployments" in API group "apps" in the namespace "shop"/);
    assert.equal(replicas('web'), 3);

    const escalate = await kubectl(['get', 'secrets', '--as=alice', '--as-group=system:masters'], { kubeconfig: saConfig });
    assert.notEqual(escalate.code, 0);
    assert.match(escalate.stderr, new RegExp(`groups "system:masters" is forbidden: User "${SA}" cannot impersonate resource "groups" in API group "" at the cluster scope`));

    const own = await kubectl(['get', 'deployments'], { kubeconfig: saConfig });
    assert.notEqual(own.code, 0, 'the ServiceAccount itself reads nothing');
    assert.match(own.stderr, /forbidden: User "system:serviceaccount:mcpcp:mcpcp" cannot list resource "deployments"/);
  });

  it('uses the in-cluster service account: one context, the pod namespace, the CA file', async () => {
    const r = await client.callTool({ name: 'contexts_list', arguments: {}, _meta: asPrincipal('oidc:alice', ['viewer']) });
    assert.notEqual(r.isError, true, text(r));
    assert.match(text(r), /in-cluster/);
    assert.match(text(r), new RegExp(`https://127\\.0\\.0\\.1:${emulator.port}`));
    assert.match(text(r), /service account token/);
  });

  it('a viewer reads as themself; their write is refused by the cluster and changes nothing', async () => {
    const before = emulator.requests.length;
    const list = await client.callTool({ name: 'resources_list', arguments: { resource: 'deployments' }, _meta: asPrincipal('oidc:alice', ['viewer']) });
    assert.notEqual(list.isError, true, text(list));
    assert.match(text(list), /^web\s+3\/3/m);
    const reads = emulator.requests.slice(before).filter((r) => r.path.startsWith('/apis/apps/v1/namespaces/shop/deployments'));
    assert.ok(reads.length >= 1);
    for (const r of reads) assert.deepEqual([r.user, r.impersonatedBy, r.groups], ['oidc:alice', SA, ['mcpcp:role:viewer', 'system:authenticated']]);

    const scale = await client.callTool({ name: 'scale', arguments: { name: 'web', replicas: 1 }, _meta: asPrincipal('oidc:alice', ['viewer']) });
    assert.equal(scale.isError, true);
    assert.match(text(scale), /forbidden/i);
    assert.match(text(scale), /oidc:alice/);
    assert.equal(replicas('web'), 3, 'the witness: nothing changed');
  });

  it('an operator writes as themself (their role group has edit)', async () => {
    const before = emulator.requests.length;
    const scale = await client.callTool({ name: 'scale', arguments: { name: 'api', replicas: 4 }, _meta: asPrincipal('oidc:bob', ['operator']) });
    assert.notEqual(scale.isError, true, text(scale));
    assert.equal(replicas('api'), 4);
    const writes = emulator.requests.slice(before).filter((r) => r.method !== 'GET');
    assert.ok(writes.length >= 1);
    for (const w of writes) assert.deepEqual([w.user, w.impersonatedBy], ['oidc:bob', SA]);
  });

  it('without a principal the server acts as its own account, which reads nothing', async () => {
    const r = await client.callTool({ name: 'resources_list', arguments: { resource: 'deployments' } });
    assert.equal(r.isError, true);
    assert.match(text(r), new RegExp(`User "${SA}" cannot list resource "deployments"`));
  });

  it('only role groups are ever sent: no other group, no malformed role, no header injection', async () => {
    const before = emulator.requests.length;
    // Extra fields (an IdP's groups) are not forwarded; an unknown role makes the principal unusable.
    const withGroups = await client.callTool({ name: 'resources_list', arguments: { resource: 'deployments' }, _meta: { 'mcpcp/principal': { id: 'oidc:carol', roles: ['viewer'], groups: ['system:masters'] } } });
    assert.notEqual(withGroups.isError, true, text(withGroups));
    const badRole = await client.callTool({ name: 'resources_list', arguments: { resource: 'secrets' }, _meta: { 'mcpcp/principal': { id: 'oidc:carol', roles: ['system:masters'] } } });
    assert.equal(badRole.isError, true);
    const injected = await client.callTool({ name: 'resources_list', arguments: { resource: 'secrets' }, _meta: { 'mcpcp/principal': { id: 'oidc:carol\r\nImpersonate-Group: system:masters', roles: ['viewer'] } } });
    assert.equal(injected.isError, true);
    const seen = emulator.requests.slice(before);
    assert.ok(seen.every((r) => !r.groups.includes('system:masters')), JSON.stringify(seen.map((r) => r.groups)));
    assert.ok(!seen.some((r) => r.path.endsWith('/secrets') && r.user !== SA), 'secrets were never read as a principal');
  });

  it('exec and port-forward, which cannot carry impersonation, are refused before anything is sent', async () => {
    const before = emulator.requests.length;
    const exec = await client.callTool({ name: 'pods_exec', arguments: { pod: 'deployment/web', command: ['id'] }, _meta: asPrincipal('oidc:bob', ['operator']) });
    assert.equal(exec.isError, true);
    assert.match(text(exec), /not available while this server acts as the calling principal/);
    assert.ok(!emulator.requests.slice(before).some((r) => r.path.endsWith('/exec')), 'no exec reached the cluster');
    const pf = await client.callTool({ name: 'port_forward_start', arguments: { service: 'web', port: 80 }, _meta: asPrincipal('oidc:bob', ['operator']) });
    assert.equal(pf.isError, true, text(pf));
    assert.match(text(pf), /port-forward .* is not available while this server acts as the calling principal/);
    const listed = await client.callTool({ name: 'port_forward_list', arguments: {}, _meta: asPrincipal('oidc:bob', ['operator']) });
    assert.doesNotMatch(text(listed), /pf-\d/, 'no listener was left open');
    assert.ok(!emulator.requests.slice(before).some((r) => r.path.endsWith('/portforward')), 'no port-forward reached the cluster');
  });
});
