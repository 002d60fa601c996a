// Catalogue-wide undo coverage: every tool of the built-in git, Kubernetes and network servers
// that is not read-only is called for real (a git repository with a remote, the Kubernetes API
// emulator, the device simulator), through the real control plane and gateway, and its audit
// record must carry an undo: a handle the control plane kept (its preview runs, its inverse is a
// tool of the same server) or `{undoable: false, reason}`. A state-changing tool that ships
// without a scenario here fails the test, and so does one whose call leaves neither.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { queryAudit } from '../../../src/core/audit';
import type { UndoAuditDetail } from '../../../src/core/undo/service';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { startSimulator, type Simulator } from '../../fixtures/network-sim/simulator';
import { firstText } from '../../helpers/fixture-plane';
import { ENABLE, PASSWORD, inventoryYaml } from '../network/harness';
import { git, makeRemote, makeRepo, tempDir, write } from '../../unit/git/fixture';
import { startUndoPlane, type UndoPlane } from './harness';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;
type Args = Record<string, unknown>;

/** A call that changes something, with what it needs set up first (which may call other tools). */
interface Scenario {
  setup?: () => Promise<void> | void;
  args: () => Args | Promise<Args>;
}

const SERVERS = ['git', 'kubernetes', 'network'] as const;

describe('undo coverage: every state-changing built-in tool leaves a handle or says why not', () => {
  let up: UndoPlane;
  let emulator: Emulator;
  let sim: Simulator;
  let repo: string;
  let other: string;
  const clients = new Map<string, Client>();
  const seen = new Set<string>();
  let approver: NodeJS.Timeout | undefined;
  let lastForward = '';

  /** Calls a tool as the agent (a human approves whatever asks); the call's id from the audit. */
  async function call(server: string, name: string, args: Args): Promise<{ callId: string; isError: boolean; text: string; meta: unknown }> {
    const result = await clients.get(server)!.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
    const page = await queryAudit(join(up.stateDir, 'audit'), { type: ['call.completed', 'call.failed'], server, tool: name }, { order: 'desc', limit: 20 });
    const record = page.records.find((r) => r.callId !== undefined && !seen.has(r.callId));
    assert.ok(record?.callId, `${server}/${name}: no audit record of the call`);
    seen.add(record.callId);
    return { callId: record.callId, isError: result.isError === true, text: firstText(result), meta: (result as { _meta?: Record<string, unknown> })._meta?.['mcpcp/undo'] };
  }

  async function must(server: string, name: string, args: Args): Promise<string> {
    const r = await call(server, name, args);
    assert.equal(r.isError, false, `${server}/${name} (setup): ${r.text}`);
    return r.text;
  }

  const commitFile = (file: string, content: string, message: string): void => {
    write(repo, file, content);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', message);
  };

  const SCENARIOS: Record<string, Scenario> = {
    // git: each starts from a clean main unless it sets something up.
    'git/add': { setup: () => write(repo, 'staged.txt', 'to stage\n'), args: () => ({ repo, paths: ['staged.txt'] }) },
    'git/unstage': { args: () => ({ repo, paths: ['staged.txt'] }) },
    'git/restore': {
      setup: () => {
        write(repo, 'README.md', '# changed locally\n');
      },
      args: () => ({ repo, paths: ['README.md'] }) },
    'git/commit': {
      setup: () => {
        git(repo, 'add', 'staged.txt');
      },
      args: () => ({ repo, message: 'add staged.txt' }) },
    'git/branch_create': { args: () => ({ repo, name: 'cov-created' }) },
    'git/branch_delete': {
      setup: () => {
        git(repo, 'branch', 'cov-doomed');
      },
      args: () => ({ repo, name: 'cov-doomed' }) },
    'git/switch': { args: () => ({ repo, branch: 'cov-created' }) },
    'git/reset': {
      setup: () => {
        git(repo, 'switch', '-q', 'main');
        commitFile('reset.txt', 'one\n', 'reset me');
        write(repo, 'README.md', '# uncommitted\n');
      },
      args: () => ({ repo, mode: 'hard', target: 'HEAD~1' }),
    },
    'git/stash_push': { setup: () => write(repo, 'README.md', '# to stash\n'), args: () => ({ repo, message: 'cov stash' }) },
    'git/stash_pop': { args: () => ({ repo }) },
    'git/push': {
      setup: () => {
        git(repo, 'restore', '.');
        commitFile('pushed.txt', 'out\n', 'to push');
      },
      args: () => ({ repo }),
    },
    'git/fetch': {
      setup: () => {
        git(other, 'pull', '-q');
        write(other, 'upstream.txt', 'from elsewhere\n');
        git(other, 'add', '.');
        git(other, 'commit', '-q', '-m', 'upstream work');
        git(other, 'push', '-q', 'origin', 'main');
      },
      args: () => ({ repo }),
    },
    'git/pull': { args: () => ({ repo }) },
    'git/merge': {
      setup: () => {
        git(repo, 'switch', '-q', '-c', 'cov-topic');
        commitFile('topic.txt', 'topic\n', 'topic work');
        git(repo, 'switch', '-q', 'main');
      },
      args: () => ({ repo, branch: 'cov-topic', mode: 'no-ff' }),
    },
    'git/tag_create': { args: () => ({ repo, name: 'cov-v1' }) },
    'git/clean': { setup: () => write(repo, 'junk/tmp.txt', 'junk\n'), args: () => ({ repo }) },
    'git/backup_restore': {
      args: () => {
        const ref = git(repo, 'for-each-ref', '--sort=-creatordate', '--format=%(refname)', 'refs/mcp-control-plane/backup/').split('\n').find((r) => r.includes('-clean-'))!;
        return { repo, id: ref.split('/').pop()! };
      },
    },
    'git/backup_rewind': {
      setup: () => commitFile('rewind.txt', 'rewound\n', 'to rewind'),
      args: () => ({ repo, branch: 'main', to: git(repo, 'rev-parse', 'HEAD~1').trim(), mode: 'keep' }),
    },

    // Kubernetes (the emulator's demo cluster: namespace shop, deployment web, nodes emulator-*).
    'kubernetes/resource_apply': { args: () => ({ context: 'emu', manifest: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cov-cm', namespace: 'shop' }, data: { a: '1' } }) }) },
    'kubernetes/resource_patch': { args: () => ({ context: 'emu', resource: 'configmaps', namespace: 'shop', name: 'web-config', patch: '{"data":{"LOG_LEVEL":"debug","NEW":"x"}}' }) },
    'kubernetes/resource_delete': { args: () => ({ context: 'emu', resource: 'configmaps', namespace: 'shop', name: 'cov-cm' }) },
    'kubernetes/scale': { args: () => ({ context: 'emu', name: 'web', namespace: 'shop', replicas: 2 }) },
    'kubernetes/rollout_restart': { args: () => ({ context: 'emu', name: 'web', namespace: 'shop' }) },
    'kubernetes/rollout_undo': { args: () => ({ context: 'emu', name: 'web', namespace: 'shop' }) },
    'kubernetes/node_cordon': { args: () => ({ context: 'emu', name: 'emulator-worker2' }) },
    'kubernetes/node_uncordon': { args: () => ({ context: 'emu', name: 'emulator-worker2' }) },
    'kubernetes/node_drain': {
      setup: async () => {
        await must('kubernetes', 'resource_patch', { context: 'emu', resource: 'pdb', namespace: 'shop', name: 'web-pdb', patch: '{"spec":{"minAvailable":0}}' });
      },
      args: () => ({ context: 'emu', name: 'emulator-worker2', force: true, deleteEmptyDirData: true, timeoutSeconds: 20 }),
    },
    'kubernetes/pods_exec': { args: () => ({ context: 'emu', namespace: 'shop', pod: 'deployment/web', command: ['sh', '-c', 'true'] }) },
    'kubernetes/port_forward_start': { args: () => ({ context: 'emu', namespace: 'shop', service: 'web', port: 'http' }) },
    'kubernetes/port_forward_stop': { args: () => ({ id: /port_forward_stop id (\S+?)\./.exec(lastForward)?.[1] ?? 'none' }) },

    // Network (the simulator: IOS r1, Junos j1).
    'network/config_apply': { args: () => ({ devices: ['r1'], lines: 'snmp-server location coverage-lab' }) },
    'network/config_rollback': {
      setup: async () => {
        await must('network', 'config_apply', { devices: ['j1'], lines: 'set system location building cov' });
      },
      args: () => ({ device: 'j1', rollback: 1 }),
    },
    'network/config_save': { args: () => ({ devices: ['r1'] }) },
  };
  before(async () => {
    const ws = tempDir();
    repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n' }]);
    const bare = makeRemote(ws, repo);
    other = join(ws, 'other');
    git(ws, 'clone', '-q', bare, other);
    git(other, 'config', 'user.email', 'other@example.com');
    git(other, 'config', 'user.name', 'Other');
    emulator = await startEmulator();
    const kubeconfig = writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]);
    sim = await startSimulator([
      { name: 'r1', platform: 'cisco_ios', enableSecret: ENABLE },
      { name: 'j1', platform: 'juniper_junos' },
    ]);
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-undo-cov-'));
    writeFileSync(join(stateDir, 'inventory.yaml'), inventoryYaml(sim, {}));
    up = await startUndoPlane({ roots: [ws], stateDir, env: { KUBECONFIG: kubeconfig }, secrets: { 'lab-pass': PASSWORD, 'lab-enable': ENABLE } });
    for (const s of SERVERS) clients.set(s, await up.client(s));
    // A human who approves whatever waits (the calls here are the agent's own, one at a time).
    let deciding = false;
    approver = setInterval(() => {
      if (deciding) return;
      const pending = up.plane.oversight.store.list();
      if (pending.length === 0) return;
      deciding = true;
      void Promise.all(pending.map((a) => up.plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: true }, { kind: 'vscode-ui' }).catch(() => undefined))).finally(() => {
        deciding = false;
      });
    }, 50);
  });

  after(async () => {
    if (approver) clearInterval(approver);
    await up?.stop();
    await sim?.close();
    await emulator?.close();
  });

  it('every tool that is not read-only has a scenario, and each call leaves a kept handle or {undoable: false, reason}', async () => {
    const catalogue = new Map<string, Set<string>>();
    const stateChanging: string[] = [];
    for (const s of SERVERS) {
      const { tools } = await clients.get(s)!.listTools();
      catalogue.set(s, new Set(tools.map((t) => t.name)));
      for (const t of tools) if (t.annotations?.readOnlyHint !== true) stateChanging.push(`${s}/${t.name}`);
    }
    assert.deepEqual(
      stateChanging.filter((k) => SCENARIOS[k] === undefined),
      [],
      'state-changing tools without a coverage scenario: give each an undo handle (or {undoable: false, reason}) and a scenario here',
    );
    assert.deepEqual(Object.keys(SCENARIOS).filter((k) => !stateChanging.includes(k)), [], 'scenarios for tools that are gone or read-only');

    const problems: string[] = [];
    const outcomes: string[] = [];
    for (const [key, scenario] of Object.entries(SCENARIOS)) {
      const [server, tool] = key.split('/') as [string, string];
      let r: Awaited<ReturnType<typeof call>>;
      try {
        await scenario.setup?.();
        r = await call(server, tool, await scenario.args());
      } catch (err) {
        problems.push(`${key}: ${(err as Error).message.slice(0, 300)}`);
        continue;
      }
      if (tool === 'port_forward_start') lastForward = r.text;
      if (r.isError) {
        problems.push(`${key}: the call failed: ${r.text.slice(0, 300)}`);
        continue;
      }
      assert.equal(r.meta, undefined, `${key}: the client never sees the undo handle`);
      const completed = (await queryAudit(join(up.stateDir, 'audit'), { callId: r.callId, type: ['call.completed'] })).records[0];
      const undo = (completed?.detail as { undo?: UndoAuditDetail } | undefined)?.undo;
      if (undo === undefined) {
        problems.push(`${key}: no undo handle and no {undoable: false, reason}`);
        continue;
      }
      if (!undo.undoable) {
        if (typeof undo.reason !== 'string' || undo.reason.length < 10) problems.push(`${key}: not undoable without a reason`);
        else if (/invalid undo handle|could not be/.test(undo.reason)) problems.push(`${key}: ${undo.reason}`);
        outcomes.push(`${key}: not undoable: ${undo.reason}`);
        continue;
      }
      try {
        const preview = await up.plane.undo.preview(r.callId);
        if (!catalogue.get(server)!.has(preview.inverse.tool)) problems.push(`${key}: the inverse ${preview.inverse.tool} is no tool of ${server}`);
        outcomes.push(`${key}: undo by ${preview.inverse.tool} (${preview.summary})${preview.irreversible.length > 0 ? `; cannot be undone: ${preview.irreversible.join('; ')}` : ''}`);
      } catch (err) {
        problems.push(`${key}: the kept handle has no working preview: ${(err as Error).message}`);
      }
    }
    console.log(`--- undo coverage (${outcomes.length} tools) ---\n${outcomes.join('\n')}`);
    assert.deepEqual(problems, []);
  });
});
