// Exec, port-forward (both over WebSocket), node operations and top, through a real MCP client
// against the API emulator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createObject, startEmulator, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';
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

describe('kubernetes exec, port-forward, nodes and top', () => {
  it('pods_exec returns exit code, stdout and stderr, feeds stdin, and previews without running', async () => {
    const r = await h.call('pods_exec', { pod: 'deployment/web', command: ['sh', '-c', 'echo hello; echo oops >&2; exit 2'] });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /^Exit code 2 — \["sh","-c","echo hello; echo oops >&2; exit 2"\] in container nginx of pod shop\/web-\S+ \(picked pod web-\S+ of 3\), context emu\.\n--- stdout ---\nhello\n--- stderr ---\noops$/);
    const cat = await h.call('pods_exec', { pod: 'deployment/web', command: ['cat'], stdin: 'from stdin\n' });
    assert.match(cat.text, /^Exit code 0 — .*\n--- stdout ---\nfrom stdin$/);
    const dry = await h.call('pods_exec', { pod: 'deployment/web', command: ['rm', '-rf', '/data'], dryRun: true });
    assert.match(dry.text, /^Dry run: would run \["rm","-rf","\/data"\] in container nginx of pod shop\/web-\S+ .*Nothing was run\.\nCannot be undone: a command run in a container can change anything the container reaches/);
    const execs = emulator.requests.filter((q) => q.path.endsWith('/exec'));
    assert.equal(execs.length, 2);
  });

  it('pods_exec caps output, times out, and explains containers that do not run', async () => {
    const big = await h.call('pods_exec', { pod: 'deployment/web', command: ['seq', '100000'], maxBytes: 2000 });
    assert.match(big.text, /^Output passed maxBytes \(2000\); the connection was closed — .*\n--- stdout \(first 2000 of \d+ bytes\) ---\n1\n2\n/);
    assert.ok(Buffer.byteLength(big.text) < 2600);
    const slow = await h.call('pods_exec', { pod: 'deployment/web', command: ['sleep', '30'], timeoutSeconds: 1 });
    assert.match(slow.text, /^Timed out after 1s \(the process may still run in the container\)/);
    const crash = await h.call('pods_exec', { pod: 'crashy', command: ['ls'] });
    assert.equal(crash.isError, true);
    assert.match(crash.text, /^Invalid "pod": container app of pod crashy is not running \(CrashLoopBackOff\)\./);
    const missing = await h.call('pods_exec', { pod: 'deployment/web', command: ['nosuch'] });
    assert.match(missing.text, /^context "emu": the command could not run: .*exec: "nosuch": executable file not found in \$PATH/);
  });

  it('port_forward_start forwards 127.0.0.1 to a service\'s pod, lists it, and stops it', async () => {
    const r = await h.call('port_forward_start', { service: 'web', port: 'http' });
    assert.equal(r.isError, false, r.text);
    const port = Number(r.structured?.['localPort']);
    assert.match(r.text, new RegExp(`^Forwarding pf-1: 127\\.0\\.0\\.1:${port} -> pod shop/web-\\S+:80 \\(via service/web:80\\), context emu\\.`));
    const res = await fetch(`http://127.0.0.1:${port}/hello`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^hello from web-\S+:80 \(GET \/hello\)\n$/);
    const listed = await h.call('port_forward_list');
    assert.match(listed.text, /^ID\s+LOCAL\s+TARGET\s+VIA\s+CONTEXT\s+CONNECTIONS\s+AGE\s+LAST ERROR\npf-1\s+127\.0\.0\.1:\d+\s+shop\/web-\S+:80\s+service\/web:80\s+emu\s+\d open \/ 1 total/);
    assert.ok(emulator.requests.some((q) => q.path.endsWith('/portforward') && q.query === '?ports=80'));
    const stopped = await h.call('port_forward_stop', { id: 'pf-1' });
    assert.match(stopped.text, /^Stopped pf-1: /);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/again`));
    assert.equal((await h.call('port_forward_list')).text, 'No port-forwards are running.');
  });

  it('top_nodes and top_pods read metrics.k8s.io', async () => {
    const nodes = await h.call('top_nodes');
    assert.match(nodes.text, /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\nemulator-control-plane\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/);
    const pods = await h.call('top_pods', { containers: true, labelSelector: 'app=api' });
    assert.match(pods.text, /^NAME\s+CONTAINER\s+CPU\(cores\)\s+MEMORY\(bytes\)\n/);
    assert.equal((pods.text.match(/\napi-\S+\s+(api|log-shipper)\s+\d+m\s+\d+Mi/g) ?? []).length, 4);
  });

  it('node_cordon and node_uncordon', async () => {
    const dry = await h.call('node_cordon', { name: 'emulator-worker2', dryRun: true });
    assert.equal(dry.text, 'Dry run: would cordon node/emulator-worker2 (no new pods would be scheduled on it).');
    assert.equal(emulator.cluster.store.get('/nodes', undefined, 'emulator-worker2')?.spec.unschedulable, undefined);
    const cordoned = await h.call('node_cordon', { name: 'emulator-worker2' });
    assert.equal(cordoned.text, 'node/emulator-worker2 cordoned: no new pods will be scheduled on it.');
    const nodes = await h.call('resources_list', { resource: 'nodes' });
    assert.match(nodes.text, /\nemulator-worker2\s+Ready,SchedulingDisabled\s/);
    assert.equal((await h.call('node_uncordon', { name: 'emulator-worker2' })).text, 'node/emulator-worker2 uncordoned: pods can be scheduled on it again.');
  });

  it('node_drain previews, refuses unmanaged pods, waits on a PodDisruptionBudget, and evicts', async () => {
    createObject(emulator, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pinned', namespace: 'shop' }, spec: { nodeName: 'emulator-worker', containers: [{ name: 'app', image: 'example/app:1' }] } });
    const preview = await h.call('node_drain', { name: 'emulator-worker', dryRun: true });
    assert.match(preview.text, /^Dry run: would cordon node\/emulator-worker and evict its pods\. The drain would be refused as it stands\.\n\d+ pods? to evict:\n/);
    assert.match(preview.text, /\nSkipped:\n {2}kube-system\/kube-proxy-\S+ \(DaemonSet\)\nBlocking the drain:\n/);
    assert.match(preview.text, /\n {2}shop\/pinned has no controller and would not come back \(set force to delete it\)/);
    const refused = await h.call('node_drain', { name: 'emulator-worker' });
    assert.equal(refused.isError, true);
    assert.match(refused.text, /^Cannot drain node\/emulator-worker; nothing was changed\./);
    assert.equal(emulator.cluster.store.get('/nodes', undefined, 'emulator-worker')?.spec.unschedulable, undefined);

    // A budget that allows no disruption of web pods blocks their eviction until the timeout.
    await h.call('resource_patch', { resource: 'pdb', name: 'web-pdb', patch: '{"spec":{"minAvailable":3}}' });
    const onNode = emulator.cluster.store.list('/pods', 'shop').filter((p) => p.spec.nodeName === 'emulator-worker' && p.metadata.labels?.app === 'web');
    const progress: string[] = [];
    const blocked = await h.call('node_drain', { name: 'emulator-worker', force: true, timeoutSeconds: 2 }, { onprogress: (p) => progress.push(p.message ?? '') });
    assert.ok(onNode.length > 0, 'the seed schedules web pods on emulator-worker');
    {
      assert.equal(blocked.isError, true, blocked.text);
      assert.match(blocked.text, /\nNot evicted after 2s:\n {2}shop\/web-\S+: TooManyRequests: Cannot evict pod as it would violate the pod's disruption budget\. \[fields:|\nNot evicted after 2s:\n {2}shop\/web-\S+: TooManyRequests: Cannot evict pod as it would violate the pod's disruption budget\./);
      assert.match(blocked.text, /A PodDisruptionBudget allows no more disruptions now/);
    }
    assert.ok(progress.length >= 1);
    assert.equal(emulator.cluster.store.get('/nodes', undefined, 'emulator-worker')?.spec.unschedulable, true);
    await h.call('resource_patch', { resource: 'pdb', name: 'web-pdb', patch: '{"spec":{"minAvailable":1}}' });
    const drained = await h.call('node_drain', { name: 'emulator-worker', force: true, timeoutSeconds: 10 });
    assert.equal(drained.isError, false, drained.text);
    assert.match(drained.text, /^node\/emulator-worker cordoned; (\d+) of \1 pods? evicted\.\nEvicted:\n/);
    const left = emulator.cluster.store.list('/pods').filter((p) => p.spec.nodeName === 'emulator-worker' && !p.metadata.ownerReferences?.some((r: { kind: string }) => r.kind === 'DaemonSet'));
    assert.deepEqual(left.map((p) => p.metadata.name), []);
    await h.call('node_uncordon', { name: 'emulator-worker' });
  });
});
