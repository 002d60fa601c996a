// A workspace `.mcpcp/inventory.yaml` proposes devices; it does not choose where the user's secrets
// go. On the old main, a read-only `devices_list {probe: true}` (no approval) sent a stored secret
// as the SSH password to the host the file named. Here a capturing SSH listener is that host: it
// records nothing until a human binds the secret to exactly that destination, then it receives it
// (the witness works), and a changed destination waits again.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { prepareNetworkInventory } from '../../../src/core/consent/devices';
import { ConsentStore } from '../../../src/core/consent/store';
import { firstText, waitFor } from '../../helpers/fixture-plane';
import { startCapturingSsh } from './capturing-ssh';
import { approverCredential, makeWorkspace, runCli, runCliOnTerminal, serve, SECRET, type Workspace } from './harness';

function inventory(port: number, extra: { jump?: string; agent?: boolean; user?: string; host?: string } = {}): string {
  return [
    'version: 1',
    'credentials:',
    '  lab:',
    `    username: ${extra.user ?? 'admin'}`,
    '    password: ${secret:api-key}',
    ...(extra.agent ? ['    agent: true'] : []),
    ...(extra.jump ? ['jumpHosts:', `  bastion: { host: ${extra.jump}, port: 22, credential: lab }`] : []),
    'devices:',
    '  - name: core1',
    `    host: ${extra.host ?? '127.0.0.1'}`,
    `    port: ${port}`,
    '    platform: cisco_ios',
    '    credential: lab',
    ...(extra.jump ? ['    jumpHost: bastion'] : []),
    '',
  ].join('\n');
}

function writeInventory(ws: Workspace, text: string): void {
  writeFileSync(join(ws.dir, '.mcpcp', 'inventory.yaml'), text);
}

async function connect(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

describe('hostile workspace: device inventory', () => {
  it('devices_list {probe: true} sends no secret to a workspace-named host until the user binds it; then only there', async () => {
    const listener = await startCapturingSsh();
    const other = await startCapturingSsh();
    const ws = makeWorkspace();
    writeInventory(ws, inventory(listener.port));
    const credential = approverCredential(ws);
    const s = serve(ws);
    try {
      const printed = await s.config;
      const net = printed.servers['network'];
      assert.ok(net, `the network server runs (with no workspace device): ${s.stderr()}`);
      let client = await connect(net.url, net.headers);
      const listed = await client.callTool({ name: 'devices_list', arguments: { probe: true } });
      assert.doesNotMatch(firstText(listed), /core1/, 'the proposed device is not in the inventory the server got');
      const direct = await client.callTool({ name: 'device_command', arguments: { device: 'core1', command: 'show version' } });
      assert.equal(direct.isError, true);
      await client.close();
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(listener.attempts, [], 'nothing reached the workspace-named host');

      const status = runCli(ws, ['status']);
      assert.match(status.stdout, /device core1 \(admin@127\.0\.0\.1:\d+\): waiting for consent: mcpcp consent grant ([0-9a-f]{12})/);
      const id = /mcpcp consent grant ([0-9a-f]{12})/.exec(status.stdout)![1]!;
      const list = runCli(ws, ['consent', 'list']);
      assert.match(list.stdout, new RegExp(`secret "api-key" → 127\\.0\\.0\\.1:${listener.port}`));

      // The agent's shell cannot bind it (no terminal); the human can.
      assert.equal(runCli(ws, ['consent', 'grant', id], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: credential }).status, 1);
      const human = runCliOnTerminal(ws, ['consent', 'grant', id], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.equal(human.status, 0, human.output);

      // The network server restarts with the bound device; a probe now reaches the listener with the secret.
      await waitFor(async () => {
        try {
          const c = await connect(net.url, net.headers);
          const text = firstText(await c.callTool({ name: 'devices_list', arguments: { probe: true } }));
          await c.close();
          return /core1/.test(text);
        } catch {
          return false;
        }
      }, 30_000, 'core1 in the inventory after consent');
      await waitFor(() => listener.attempts.some((a) => a.password === SECRET), 15_000, 'the bound secret at the bound destination');

      // The workspace moves the device to another host: the old binding does not follow it.
      writeInventory(ws, inventory(other.port));
      await waitFor(() => /device core1 \(admin@127\.0\.0\.1:\d+\): waiting for consent/.test(runCli(ws, ['status']).stdout), 30_000, 'the moved device to wait again');
      await waitFor(() => /network\s+running/.test(runCli(ws, ['status']).stdout), 30_000, 'network running again');
      client = await connect(net.url, net.headers);
      assert.doesNotMatch(firstText(await client.callTool({ name: 'devices_list', arguments: { probe: true } })), /core1/);
      await client.close();
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(other.attempts, [], 'nothing reached the new host');
    } finally {
      await s.stop();
      await listener.close();
      await other.close();
    }
  });

  it('any change of destination asks again: host, port, user, jump host, SSH agent, secret name; a changed host key too', async () => {
    const ws = makeWorkspace();
    mkdirSync(ws.dataDir, { recursive: true });
    const host = { env: {}, rootPaths: [ws.dir], stateDir: ws.dataDir };
    const store = new ConsentStore(ws.dataDir);
    writeInventory(ws, inventory(2222));
    const first = await prepareNetworkInventory(host, store);
    assert.equal(first.waiting.length, 1);
    const p = first.waiting[0]!;
    await store.grant({ kind: 'device', id: p.id, source: p.source, name: p.name, hash: p.hash, destination: p.destination!, secrets: p.secrets, hostKeys: {}, summary: p.summary, grantedAt: new Date().toISOString() });
    assert.equal((await prepareNetworkInventory(host, store)).waiting.length, 0, 'granted');
    const variants = [
      inventory(2223),
      inventory(2222, { host: '127.0.0.2' }),
      inventory(2222, { user: 'root' }),
      inventory(2222, { jump: '10.9.9.9' }),
      inventory(2222, { agent: true }),
      inventory(2222).replace('${secret:api-key}', '${secret:other-key}'),
    ];
    for (const v of variants) {
      writeInventory(ws, v);
      const r = await prepareNetworkInventory(host, store);
      assert.equal(r.waiting.length, 1, v);
      assert.doesNotMatch(JSON.stringify(await import('node:fs').then((fs) => fs.readFileSync(r.file!, 'utf8'))), /core1/, 'not in the effective inventory');
    }
    const agent = (await (async () => (writeInventory(ws, inventory(2222, { agent: true })), prepareNetworkInventory(host, store)))()).waiting[0]!;
    assert.ok(agent.secrets.includes('ssh-agent'), 'using the SSH agent is a credential the user binds');
    // Host key: granted with a key on record; a different key later waits again.
    writeInventory(ws, inventory(2222));
    writeFileSync(join(ws.dataDir, 'known_hosts'), '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld\n');
    const withKey = (await prepareNetworkInventory({ ...host }, new ConsentStore(join(ws.dataDir, 'none')))).waiting[0]!;
    await store.grant({ kind: 'device', id: withKey.id, source: withKey.source, name: withKey.name, hash: withKey.hash, destination: withKey.destination!, secrets: withKey.secrets, hostKeys: withKey.hostKeys!, summary: withKey.summary, grantedAt: new Date().toISOString() });
    assert.equal((await prepareNetworkInventory(host, store)).waiting.length, 0);
    writeFileSync(join(ws.dataDir, 'known_hosts'), '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINew\n');
    const changed = await prepareNetworkInventory(host, store);
    assert.equal(changed.waiting.length, 1);
    assert.ok(changed.waiting[0]!.summary.some((l) => /host key/.test(l)));
  });

  it("the user's own inventory in the data directory needs no proposal; a workspace device of the same name does not replace it", async () => {
    const ws = makeWorkspace();
    mkdirSync(ws.dataDir, { recursive: true });
    writeFileSync(join(ws.dataDir, 'inventory.yaml'), inventory(2200));
    writeInventory(ws, inventory(2999, { host: '10.6.6.6' }));
    const r = await prepareNetworkInventory({ env: {}, rootPaths: [ws.dir], stateDir: ws.dataDir });
    const fs = await import('node:fs');
    const effective = JSON.parse(fs.readFileSync(r.file!, 'utf8')) as { devices: Array<{ name: string; host: string; port: number }> };
    assert.deepEqual(effective.devices.map((d) => [d.name, d.host, d.port]), [['core1', '127.0.0.1', 2200]]);
    assert.equal(r.waiting.length, 0);
    assert.match(r.problems.join('\n'), /also in the trusted inventory/);
    assert.equal(fs.statSync(r.file!).mode & 0o777, 0o600);
  });
});
