/**
 * Threat: the agent names another principal. The Kubernetes server acts as the principal in a
 * request's `_meta["mcpcp/principal"]` (impersonation), so a client that could put one there would
 * act as anyone. First the attack is reproduced straight against the server (it honours the key),
 * then through the gateway, which replaces the client's value with the caller's own principal:
 * the API emulator, the witness, never sees the spoofed user.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { createKubernetesServer } from '../../../src/servers/kubernetes/server';
import { createLogger } from '../../../src/servers/kit/log';
import { startEmulator, writeKubeconfig, type ApiServerEmulator } from '../../fixtures/k8s-emulator/index';
import { REPO_ROOT, firstText, waitFor } from '../../helpers/fixture-plane';

const SA = 'system:serviceaccount:mcpcp:mcpcp';
const SPOOFED = { 'mcpcp/principal': { id: 'oidc:mallory-as-admin', roles: ['operator', 'admin'] } };

describe('a client-supplied mcpcp/principal', () => {
  let emulator: ApiServerEmulator;
  let kubeconfig: string;

  before(async () => {
    emulator = await startEmulator({
      tokens: { 'sa-token': { name: SA, groups: ['system:serviceaccounts', 'system:authenticated'] } },
      impersonators: { [SA]: ['mcpcp:role:viewer', 'mcpcp:role:operator', 'mcpcp:role:approver', 'mcpcp:role:admin'] },
      groupAccess: { 'mcpcp:role:viewer': 'view', 'mcpcp:role:operator': 'edit' },
    });
    kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop', auth: { token: 'sa-token' } }]);
  });
  after(async () => {
    await emulator?.close();
  });

  it('reproduced: sent straight to the server (no gateway), it is honoured', async () => {
    const server = createKubernetesServer({
      log: createLogger('test-k8s', 'error'),
      env: { HOME: mkdtempSync(join(tmpdir(), 'spoof-')), KUBECONFIG: kubeconfig },
      options: { contexts: undefined, namespaces: undefined, readOnly: false, impersonate: true },
    });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: 'direct', version: '1' });
    await client.connect(b);
    const before = emulator.requests.length;
    const r = await client.callTool({ name: 'resources_list', arguments: { resource: 'deployments' }, _meta: SPOOFED });
    assert.notEqual(r.isError, true, firstText(r));
    assert.ok(emulator.requests.slice(before).some((q) => q.user === 'oidc:mallory-as-admin'), 'the server acts as whoever _meta names');
    await client.close();
  });

  it('through the gateway it is replaced by the caller\'s own principal, on tools and resources alike', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'spoof-plane-'));
    const config = defaultConfig();
    const plane = await ControlPlane.start({
      config: { ...config, servers: { git: { enabled: false }, kubernetes: { enabled: true, env: { MCPCP_K8S_IMPERSONATE: '1' } } } },
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
      instancePrefix: 'spoof',
      policyLayer: 'user',
    });
    try {
      await plane.supervisor.get('kubernetes')!.waitUntilServing(20_000);
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('kubernetes')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      const before = emulator.requests.length;

      const list = await client.callTool({ name: 'resources_list', arguments: { resource: 'deployments' }, _meta: SPOOFED });
      assert.notEqual(list.isError, true, firstText(list));
      assert.match(firstText(list), /^web\s+3\/3/m);
      const read = await client.readResource({ uri: 'k8s://emu/shop/deployments/web', _meta: SPOOFED });
      assert.match(JSON.stringify(read.contents), /"name":\s*"web"|name: web/);

      const seen = emulator.requests.slice(before).filter((q) => q.path.includes('/namespaces/shop/deployments'));
      assert.ok(seen.length >= 2, JSON.stringify(seen));
      assert.ok(!emulator.requests.slice(before).some((q) => q.user === 'oidc:mallory-as-admin'), 'the witness never saw the spoofed user');
      // The loopback single-user mode's principal, with its role groups, impersonated by the account.
      for (const q of seen) {
        assert.deepEqual([q.user, q.impersonatedBy], ['local:owner', SA], `${q.method} ${q.path}`);
        assert.ok(q.groups.includes('mcpcp:role:operator'));
      }
      // A write: its effect is resolved before policy (discovery only, as the ServiceAccount), a human
      // approves, and the write itself acts as the caller.
      const writesBefore = emulator.requests.length;
      const scaling = client.callTool({ name: 'scale', arguments: { name: 'web', replicas: 2 }, _meta: SPOOFED });
      await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'the approval');
      const approval = plane.oversight.store.list()[0]!;
      assert.equal(approval.tool, 'scale');
      assert.match(JSON.stringify(approval), /"kind":"Deployment"/);
      await plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      const scaled = await scaling;
      assert.notEqual(scaled.isError, true, firstText(scaled));
      const writes = emulator.requests.slice(writesBefore).filter((q) => q.method !== 'GET');
      assert.ok(writes.length >= 1);
      for (const w of writes) assert.deepEqual([w.user, w.impersonatedBy], ['local:owner', SA], `${w.method} ${w.path}`);
      assert.ok(!emulator.requests.slice(writesBefore).some((q) => q.user === 'oidc:mallory-as-admin'));
      await client.close();
    } finally {
      await plane.stop('test');
    }
  });
});
