// Policy rules match what a call changes, not how its arguments are spelt (issue 13, item 2):
// through the real gateway, a real MCP client and the built kubernetes server against the API
// emulator. Each bypass is reproduced first with an `args` rule (the emulator's state is the
// witness), then shown closed with an `effect` rule.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { queryAudit } from '../../../src/core/audit';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import type { PolicyRule } from '../../../src/core/policy';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { createObject, startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { REPO_ROOT, firstText, waitFor } from '../../helpers/fixture-plane';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

let emulator: Emulator;
let plane: ControlPlane;
let client: Client;
let stateDir: string;

function replicas(namespace: string, name: string): unknown {
  const type = emulator.cluster.findType('apps', 'v1', 'deployments')!;
  return (emulator.cluster.get(type, namespace, name) as { spec?: { replicas?: number } }).spec?.replicas;
}

function setRules(user: PolicyRule[]): void {
  plane.policy.setBase({ user, readOnlyMode: false });
}

before(async () => {
  emulator = await startEmulator();
  // A cluster that is down: resolving what a call on it would change fails.
  const dead = await startEmulator({ seed: 'base' });
  // The context's own namespace is kube-system: a call that names no namespace lands there.
  const kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'kube-system' }, { name: 'dead', emulator: dead, namespace: 'default' }], 'emu');
  await dead.close();
  stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-effects-'));
  plane = await ControlPlane.start({
    config: { ...defaultConfig(), servers: { git: { enabled: false } } },
    host: {
      serversDir: join(REPO_ROOT, 'dist/servers'),
      nodePath: process.execPath,
      runAsNode: false,
      env: { PATH: process.env['PATH'] ?? '', HOME: stateDir, KUBECONFIG: kubeconfig },
      secrets: new FileSecretStore(stateDir, {}),
      workspaceTrusted: true,
      defaultCwd: stateDir,
      rootPaths: [stateDir],
      stateDir,
    },
    roots: () => [],
    stateDir,
    instancePrefix: 'effects',
    policyLayer: 'user',
  });
  await plane.supervisor.get('kubernetes')!.waitUntilServing(20_000);
  client = new Client({ name: 'agent', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('kubernetes')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
});

after(async () => {
  await client?.close().catch(() => undefined);
  await plane?.stop();
  await emulator?.close();
});

describe('kubernetes: rules on where a change lands', () => {
  it('an args rule on namespace is dodged by leaving the namespace out; an effect rule is not', async () => {
    const allowScale: PolicyRule = { server: 'kubernetes', tool: 'scale', decision: 'allow' };
    // Reproduce: the rule only sees the spelling `namespace: kube-system`.
    setRules([{ server: 'kubernetes', args: { namespace: { equals: 'kube-system' } }, decision: 'deny' }, allowScale]);
    assert.match(plane.policy.problems().join('\n'), /warning: user policy rule #1: use effect fields/, 'the args rule is flagged at load');
    assert.equal(replicas('kube-system', 'coredns'), 2);
    const spelled = await client.callTool({ name: 'scale', arguments: { resource: 'deploy', name: 'coredns', namespace: 'kube-system', replicas: 4 } });
    assert.equal(spelled.isError, true);
    const dodged = await client.callTool({ name: 'scale', arguments: { resource: 'deploy', name: 'coredns', replicas: 3 } });
    assert.notEqual(dodged.isError, true, firstText(dodged));
    assert.equal(replicas('kube-system', 'coredns'), 3, 'the bypass is real: kube-system changed without a human');

    // Closed: the same rule on the effect meets every spelling.
    setRules([{ server: 'kubernetes', effect: { namespace: { equals: 'kube-system' } }, decision: 'deny' }, allowScale]);
    assert.deepEqual(plane.policy.problems(), []);
    for (const args of [{ resource: 'deploy', name: 'coredns', replicas: 1 }, { resource: 'deployments.apps', name: 'coredns', namespace: 'kube-system', replicas: 1 }, { resource: 'apps/v1/Deployment', name: 'coredns', replicas: 1 }]) {
      const r = await client.callTool({ name: 'scale', arguments: args });
      assert.equal(r.isError, true, JSON.stringify(args));
      assert.match(firstText(r), /Denied by policy/);
    }
    assert.equal(replicas('kube-system', 'coredns'), 3, 'nothing reached kube-system');
    // ...and only there: shop is still allowed.
    const shop = await client.callTool({ name: 'scale', arguments: { resource: 'deploy', name: 'web', namespace: 'shop', replicas: 4 } });
    assert.notEqual(shop.isError, true, firstText(shop));
    assert.equal(replicas('shop', 'web'), 4);
  });

  it('the approval shows the resolved effect and is bound to it; a change in between is refused by the server', async () => {
    setRules([]);
    // Two pods match the selector now; the approver sees exactly these.
    createObject(emulator, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job-a', namespace: 'shop', labels: { job: 'cleanup' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    createObject(emulator, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job-b', namespace: 'shop', labels: { job: 'cleanup' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const deleting = client.callTool({ name: 'resource_delete', arguments: { resource: 'pods', namespace: 'shop', labelSelector: 'job=cleanup' } });
    await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'the approval');
    const approval = plane.oversight.store.list()[0]!;
    assert.deepEqual(approval.effect, { type: 'kubernetes', cluster: 'emu', context: 'emu', namespace: 'shop', kind: 'Pod', name: ['job-a', 'job-b'] });
    const view = (await plane.oversight.state(60_000)).pending[0]!;
    assert.deepEqual(view.effect, approval.effect, 'the human views get the effect');
    // A third pod appears before the human decides: the approved call would now delete it too.
    createObject(emulator, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job-c', namespace: 'shop', labels: { job: 'cleanup' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
    const result = await deleting;
    assert.equal(result.isError, true);
    assert.match(firstText(result), /no longer what was checked and approved/);
    const pods = emulator.cluster.findType('', 'v1', 'pods')!;
    for (const name of ['job-a', 'job-b', 'job-c']) assert.ok(emulator.cluster.get(pods, 'shop', name), `${name} was deleted`);
    // The audit records the effect policy judged.
    const requested = (await queryAudit(join(stateDir, 'audit'), { type: 'call.requested', tool: 'resource_delete' }, { limit: 5 })).records;
    assert.deepEqual((requested[0] as Record<string, unknown> | undefined)?.['effect'], approval.effect);
  });

  it('when the effect cannot be resolved, an allow rule does not run the call: a human decides; wrong arguments are refused at once', async () => {
    setRules([{ server: 'kubernetes', tool: 'scale', decision: 'allow' }]);
    const typo = await client.callTool({ name: 'scale', arguments: { context: 'nowhere', resource: 'deploy', name: 'web', replicas: 1 } });
    assert.equal(typo.isError, true);
    assert.match(firstText(typo), /no context "nowhere".*Nothing ran/s);
    assert.equal(plane.oversight.store.list().length, 0, 'a call that cannot run waits for nobody');
    const scaling = client.callTool({ name: 'scale', arguments: { context: 'dead', resource: 'deploy', name: 'web', replicas: 1 } });
    await waitFor(() => plane.oversight.store.list().length === 1, 30_000, 'the approval');
    const approval = plane.oversight.store.list()[0]!;
    assert.equal(approval.rule?.id, 'effect-unresolved');
    assert.match(approval.reason, /could not be resolved/);
    await plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: false }, { kind: 'vscode-ui' });
    assert.equal((await scaling).isError, true);
    assert.equal(replicas('shop', 'web'), 4);
  });

  it('a Secret read through a resource URI with an encoded slash needs approval like any Secret read', async () => {
    setRules([]);
    const uri = 'k8s://emu/shop/v1%2FSecret/db-credentials';
    // Reproduce: the URI as sent has no "secrets" segment (what the old check looked at), yet the
    // server decodes it to the Secret (shown below once a human approves).
    assert.equal(/(?:^|[/:])secrets?(?:[/?#]|$)|[?&]kind=secrets?(?:[&#]|$)/i.test(uri), false);
    const before = emulator.requests.length;
    const reading = client.readResource({ uri });
    reading.catch(() => undefined);
    await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'the approval of the Secret read');
    const approval = plane.oversight.store.list()[0]!;
    assert.equal(approval.kind, 'resource');
    assert.equal(approval.rule?.id, 'secret-resource');
    assert.ok(!emulator.requests.slice(before).some((r) => r.path.includes('/secrets/')), 'the Secret was fetched before a human decided');
    await plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
    const read = await reading;
    assert.match(JSON.stringify(read.contents), /kind: Secret/, 'the URI does reach the Secret');
    assert.ok(emulator.requests.slice(before).some((r) => r.path === '/api/v1/namespaces/shop/secrets/db-credentials'));
  });

  it('one rule on the effect covers every way to the object: a tool, a resource URI in any spelling', async () => {
    setRules([{ server: 'kubernetes', effect: { kind: { equals: 'Secret' }, name: { equals: 'db-credentials' } }, decision: 'deny', reason: 'db-credentials is off limits' }]);
    const before = emulator.requests.length;
    const viaTool = await client.callTool({ name: 'resource_get', arguments: { resource: 'secret', name: 'db-credentials', namespace: 'shop' } });
    assert.equal(viaTool.isError, true);
    assert.match(firstText(viaTool), /off limits/);
    for (const uri of ['k8s://emu/shop/secrets/db-credentials', 'k8s://emu/shop/v1%2FSecret/db-credentials', 'k8s://emu/shop/Secret/db-credentials']) {
      await assert.rejects(client.readResource({ uri }), /off limits/, uri);
    }
    assert.ok(!emulator.requests.slice(before).some((r) => r.path === '/api/v1/namespaces/shop/secrets/db-credentials'), 'the Secret was fetched');
    // Other objects stay readable.
    const other = await client.readResource({ uri: 'k8s://emu/shop/deployments/web' });
    assert.match(JSON.stringify(other.contents), /kind: Deployment/);
  });
});
