// The kubernetes server in a real VS Code, against the Kubernetes API emulator that run.mjs starts
// before code-server (its kubeconfig in the fresh HOME, `~/.kube/config`, no KUBECONFIG): the
// extension enables the server because a kubeconfig is found, its tools reach vscode.lm.tools,
// reads go through the gateway (Secret values redacted), the cluster shows under the server in
// the tree, and a scale waits for a human who sees the server-side dry-run in the Approvals view;
// after the approval the emulator itself (asked directly, not through the server) has 5 replicas.
// Tests run in order and share state.
'use strict';

const assert = require('node:assert/strict');
const vscode = require('vscode');
const { definitionId, startServerAndWaitForTools, resultText } = require('../lib/mcp');
const { EXTENSION_ID, activateExtension, waitForServer, gatewayClient, openApprovalsView, waitForPending, decide, rejectPending } = require('../lib/control-plane');
const { fixture, kubeGet } = require('../lib/fixtures');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');

const K8S = 'kubernetes';
const WEB = '/apis/apps/v1/namespaces/shop/deployments/web';
/** The seeded Secret's values (test/fixtures/k8s-emulator/seed.ts), plain and base64. */
const SECRET_VALUES = ['s3cr3t-Hunter2', Buffer.from('s3cr3t-Hunter2').toString('base64')];

describe('Kubernetes server in VS Code (API emulator)', function () {
  this.timeout(120_000);

  let k8s;
  let api;
  let hooks;
  /** The prefix VS Code gave the kubernetes server's tools, e.g. `mcp_mcpcp-kuberne_`. */
  let prefix;
  let scaling;
  let settled = false;

  const invoke = (tool, input) => vscode.lm.invokeTool(`${prefix}${tool}`, { input, toolInvocationToken: undefined });

  before(function () {
    k8s = fixture(K8S);
    if (!k8s) this.skip(); // run.mjs --fixtures without kubernetes
  });

  after(async () => {
    await rejectPending(hooks, K8S);
  });

  it('is enabled by the kubeconfig in HOME and starts', async () => {
    api = await activateExtension();
    const server = await waitForServer(api, K8S, 'running', (s) => s.toolCount > 0);
    assert.equal(typeof server.pid, 'number');
    note(`kubernetes: ${server.toolCount} tools, emulator ${k8s.url}, context ${k8s.context}`);
  });

  it('its tools appear in vscode.lm.tools', async () => {
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, K8S), (t) => /^mcp_.+_resources_list$/.test(t.name));
    prefix = tools[0].name.slice(0, -'resources_list'.length);
    const names = vscode.lm.tools.filter((t) => t.name.startsWith(prefix)).map((t) => t.name.slice(prefix.length));
    assert.equal(names.length, api.servers().find((s) => s.name === K8S).toolCount, `lm.tools: ${names.join(', ')}`);
    for (const tool of ['contexts_list', 'resource_get', 'scale', 'resource_apply']) assert.ok(names.includes(tool), `no ${tool} in ${names.join(', ')}`);
  });

  it('resources_list of deployments in shop returns the emulator\'s table: web 3/3', async () => {
    assert.ok(prefix, 'kubernetes tools are not registered');
    const text = resultText(await invoke('resources_list', { resource: 'deployments', namespace: 'shop' }));
    assert.match(text, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m, text);
    assert.match(text, /^web\s+3\/3\s+3\s+3\s/m, text);
  });

  it('resource_get of the Secret shows its values redacted', async () => {
    assert.ok(prefix, 'kubernetes tools are not registered');
    const text = resultText(await invoke('resource_get', { resource: 'secret', name: 'db-credentials', namespace: 'shop' }));
    assert.match(text, /name: db-credentials/, text);
    assert.match(text, /password: "?\[REDACTED\]"?/, text);
    assert.match(text, /kubectl\.kubernetes\.io\/last-applied-configuration: "?\[REDACTED\]"?/, text);
    for (const value of SECRET_VALUES) assert.ok(!text.includes(value), `the Secret's value ${value} leaked:\n${text}`);
  });

  it('the tree shows the server with a Clusters group; k8s://targets says the context is reachable', async () => {
    const row = await waitFor('the kubernetes row with its Clusters group', () => {
      const r = api.treeSnapshot().find((x) => x.label === K8S);
      return r && r.children.includes('Clusters') ? r : undefined;
    });
    assert.match(row.description ?? '', /^running\b/);
    assert.equal(row.children[0], 'Clusters', 'the group comes before the tools');
    assert.ok(row.children.includes('scale'));
    // The snapshot lists group labels only (the tree reads a group's targets lazily), so the
    // targets are read here as the tree reads them, from the server's k8s://targets, but through
    // the gateway with the client configuration a user copies.
    const client = await gatewayClient(K8S);
    try {
      const read = await client.readResource({ uri: 'k8s://targets' });
      const targets = JSON.parse(read.contents[0].text);
      assert.equal(targets.length, 1, JSON.stringify(targets));
      assert.equal(targets[0].context, k8s.context);
      assert.equal(targets[0].server, k8s.url);
      assert.equal(targets[0].reachable, true, JSON.stringify(targets[0]));
      assert.match(targets[0].version ?? '', /^v1\.\d+/);
    } finally {
      await client.close();
    }
  });

  it('a scale of web waits for approval, with the server-side dry run as its preview in the Approvals view', async () => {
    assert.ok(prefix, 'kubernetes tools are not registered');
    hooks = await openApprovalsView(api);
    scaling = invoke('scale', { resource: 'deployments', name: 'web', namespace: 'shop', replicas: 5 });
    scaling.then(() => (settled = true), () => (settled = true));
    const pending = await waitForPending(hooks, K8S, 'scale');
    assert.deepEqual(pending.args, { resource: 'deployments', name: 'web', namespace: 'shop', replicas: 5 });
    assert.match(pending.preview ?? '', /Dry run \(server-side, nothing was changed\): would scale deployment\.apps\/web \(namespace shop\) from 3 to 5/);
    await waitFor('a notification for it', () => hooks.notifications().some((t) => t.startsWith(`Approval needed: scale on ${K8S}`)));
    assert.equal(settled, false, 'the call must wait for the human');
    assert.equal((await kubeGet(k8s, WEB)).spec.replicas, 3, 'the preview changed nothing in the cluster');
  });

  it('approving it scales web to 5 replicas in the emulator', async () => {
    assert.ok(scaling, 'no scale call waiting');
    const pending = await waitForPending(hooks, K8S, 'scale');
    const { id, response } = await decide(hooks, pending, true, 'scale web for the test');
    assert.deepEqual(response, { type: 'response', id, ok: true, result: { status: 'approved', decidedBy: 'vscode-ui' } });
    const text = resultText(await scaling);
    assert.match(text, /^Scaled deployment\.apps\/web \(namespace shop\) from 3 to 5\./, text);
    // The emulator, asked directly as its admin.
    const web = await kubeGet(k8s, WEB);
    assert.equal(web.spec.replicas, 5);
    assert.equal(web.metadata.managedFields?.some((f) => f.manager === 'mcp-control-plane') ?? false, true, `managers: ${JSON.stringify(web.metadata.managedFields?.map((f) => f.manager))}`);
    // And as the model sees it, through the gateway.
    const listed = await waitFor('resources_list to show web 5/5', async () => {
      const t = resultText(await invoke('resources_list', { resource: 'deployments', namespace: 'shop' }));
      return /^web\s+5\/5\s/m.test(t) ? t : undefined;
    }, { timeout: 15_000, interval: 500 });
    assert.match(listed, /^web\s+5\/5\s+5\s+5\s/m);
    assert.match(resultText(await invoke('resource_get', { resource: 'deployments', name: 'web', namespace: 'shop' })), /^ {2}replicas: 5$/m);
    await waitFor('the view to show nothing pending for kubernetes', () => !hooks.approvalsView().pending.some((a) => a.server === K8S));
  });
});
