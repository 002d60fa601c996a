// `mcpcp undo` as an operator runs it: `mcpcp serve` (real child) with git, Kubernetes (API
// emulator) and network (device simulator) servers; an agent changes something in each domain,
// someone else changes it again, and `mcpcp undo CALL_ID --preview` shows the inverse with the
// drift; `mcpcp undo CALL_ID --yes` submits it, it waits for an approval, and it restores.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { startSimulator } from '../../fixtures/network-sim/simulator';
import { REPO_ROOT, firstText } from '../../helpers/fixture-plane';
import { git, makeRepo } from '../../unit/git/fixture';
import { ENABLE, PASSWORD, inventoryYaml } from '../network/harness';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end();
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

describe('mcpcp undo (headless)', () => {
  it('previews with drift in each domain, then undoes after an approval', async () => {
    const emulator = await startEmulator();
    const sim = await startSimulator([{ name: 'j1', platform: 'juniper_junos' }]);
    const ws = mkdtempSync(join(tmpdir(), 'mcpcp-undo-cli-'));
    const dataDir = join(ws, 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'inventory.yaml'), inventoryYaml(sim, {}));
    const repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n' }]);
    git(repo, 'switch', '-q', '-c', 'feature', 'main');
    writeFileSync(join(repo, 'f.txt'), 'f\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'feature work');
    git(repo, 'switch', '-q', 'main');
    const config = join(ws, 'config.yaml');
    writeFileSync(config, `roots: [${JSON.stringify(ws)}]\n`);
    const env = { PATH: process.env['PATH'] ?? '', HOME: ws, KUBECONFIG: writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]), MCPCP_SECRET_LAB_PASS: PASSWORD, MCPCP_SECRET_LAB_ENABLE: ENABLE };
    const serve = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', dataDir, '--print-client-config'], { cwd: ws, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(serve);
    let stderr = '';
    serve.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const clients: Client[] = [];
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: serve.stdout }).once('line', resolve);
        serve.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const servers = (JSON.parse(line) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers;
      const credential = (await runCli(['approver-credential', 'rotate', '--data-dir', dataDir], env)).stdout.trim();
      const cliEnv = { ...env, MCPCP_APPROVER_CREDENTIAL: credential };
      const port = new URL(servers['git']!.url).port;
      const api = `http://127.0.0.1:${port}/ui/api/approvals`;
      const headers = { 'x-approver-credential': credential, 'content-type': 'application/json' };
      /** A human approves the next pending approval (as `mcpcp approvals approve` does, without its terminal prompt). */
      const approveNext = async (): Promise<{ tool: string }> => {
        for (let i = 0; i < 400; i++) {
          const { approvals } = (await (await fetch(api, { headers })).json()) as { approvals: Array<{ id: string; digest: string; tool: string }> };
          const a = approvals[0];
          if (a) {
            const res = await fetch(`${api}/${a.id}`, { method: 'POST', headers, body: JSON.stringify({ approve: true, digest: a.digest }) });
            assert.equal(res.status, 200);
            return a;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error('no approval came');
      };
      const connect = async (name: string): Promise<Client> => {
        const c = new Client({ name: 'agent', version: '1' });
        await c.connect(new StreamableHTTPClientTransport(new URL(servers[name]!.url), { requestInit: { headers: servers[name]!.headers } }));
        clients.push(c);
        return c;
      };
      /** A destructive call of the agent, approved; its call id (from the approval). */
      const agentCall = async (c: Client, name: string, args: Record<string, unknown>): Promise<string> => {
        const pending = c.callTool({ name, arguments: args });
        const { approvals } = await (async () => {
          for (;;) {
            const body = (await (await fetch(api, { headers })).json()) as { approvals: Array<{ id: string }> };
            if (body.approvals.length > 0) return body;
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        assert.equal(approvals.length, 1);
        await approveNext();
        const result = await pending;
        assert.equal(result.isError, undefined, firstText(result));
        // Newest first: this call's completion, with its undo handle's id.
        const audit = await runCli(['audit', 'query', '--data-dir', dataDir, '--tool', name, '--type', 'call.completed'], cliEnv);
        const records = audit.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { callId: string; detail?: { undo?: unknown } });
        return records.find((r) => r.detail?.undo !== undefined)!.callId;
      };

      const k8s = await connect('kubernetes');
      const gitClient = await connect('git');
      const net = await connect('network');
      const scaleCall = await agentCall(k8s, 'scale', { resource: 'deployment', name: 'web', replicas: 1 });
      emulator.cluster.patch(emulator.cluster.findType('apps', 'v1', 'deployments')!, 'shop', 'web', 'merge', { spec: { replicas: 2 } }, { manager: 'kubectl', dryRun: false, force: false });
      const branchCall = await agentCall(gitClient, 'branch_delete', { repo, name: 'feature', force: true });
      git(repo, 'branch', 'feature', 'main');
      const applyCall = await agentCall(net, 'config_apply', { devices: ['j1'], lines: 'set system host-name agent-name' });
      await agentCall(net, 'config_apply', { devices: ['j1'], lines: 'set system host-name someone-else' });

      for (const [domain, callId] of [['Kubernetes', scaleCall], ['git', branchCall], ['network', applyCall]] as const) {
        const preview = await runCli(['undo', callId, '--preview', '--data-dir', dataDir], cliEnv);
        assert.equal(preview.status, 0, preview.stderr);
        assert.match(preview.stdout, /Drift: CHANGED SINCE THE CALL/);
        console.log(`--- mcpcp undo ${callId} --preview (${domain}) ---\n${preview.stdout}`);
      }
      assert.match((await runCli(['undo', scaleCall, '--preview', '--data-dir', dataDir], cliEnv)).stdout, /spec\.replicas: 3 \| 1 \| 2/);

      // The agent's client token opens no undo (the approver credential only); witness: nothing pending.
      const token = servers['kubernetes']!.headers['Authorization']!.replace(/^Bearer /, '');
      const attempts: Array<Record<string, string>> = [{ authorization: `Bearer ${token}` }, { 'x-approver-credential': token }];
      for (const h of attempts) {
        const res = await fetch(`http://127.0.0.1:${port}/control/undo/calls/${scaleCall}/run`, { method: 'POST', headers: h });
        assert.equal(res.status, 401);
      }
      assert.equal(((await (await fetch(api, { headers })).json()) as { approvals: unknown[] }).approvals.length, 0);

      // Submitted from the CLI, the undo waits for a human like any destructive call.
      const undoing = runCli(['undo', scaleCall, '--yes', '--data-dir', dataDir], cliEnv);
      const approved = await approveNext();
      assert.equal(approved.tool, 'scale');
      const done = await undoing;
      assert.equal(done.status, 0, done.stderr + done.stdout);
      assert.match(done.stdout, /Undone: Scaled deployment.apps\/web \(namespace shop\) from 2 to 3/);
      const web = emulator.cluster.get(emulator.cluster.findType('apps', 'v1', 'deployments')!, 'shop', 'web') as { spec: { replicas: number } };
      assert.equal(web.spec.replicas, 3);
      // The agent's git session as one plan (its one undoable call), previewed from the CLI.
      const requested = (await runCli(['audit', 'query', '--data-dir', dataDir, '--tool', 'branch_delete', '--type', 'call.requested'], cliEnv)).stdout.trim().split('\n').map((l) => JSON.parse(l) as { callId: string; principal: { session: string } });
      const session = requested.find((r) => r.callId === branchCall)!.principal.session;
      const plan = await runCli(['undo', '--session', session, '--preview', '--data-dir', dataDir], cliEnv);
      assert.equal(plan.status, 0, plan.stderr);
      assert.match(plan.stdout, new RegExp(`Undo session ${session}: 1 call\\(s\\), newest first, stopping at the first failure`));
      assert.match(plan.stdout, new RegExp(`1\\. Undo of call ${branchCall}: branch_delete on git`));
      const unknown = await runCli(['undo', '00000000-0000-0000-0000-000000000000', '--preview', '--data-dir', dataDir], cliEnv);
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /no completed call .* with an undo handle/);
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
      serve.kill('SIGTERM');
      await new Promise((resolve) => serve.once('exit', resolve));
      await sim.close();
      await emulator.close();
    }
  });
});
