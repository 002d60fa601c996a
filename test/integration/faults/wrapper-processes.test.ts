// A server started through a wrapper (`sh -c`, like npx or uvx) whose grandchild ignores stdin
// EOF and SIGTERM: neither a stop nor crashes of the wrapper may leave that grandchild running.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { supervisorConfigSchema } from '../../../src/core/config/schema';
import { InstanceProcessRecord, newInstanceId } from '../../../src/core/supervisor/instance-record';
import type { ServerSpec, UpstreamHooks } from '../../../src/core/supervisor/managed-server';
import { Supervisor } from '../../../src/core/supervisor/supervisor';
import { fixtureScript, waitFor } from '../../helpers/fixture-plane';
import { sameProcessAlive, taggedProcesses } from './proc-witness';

const noHooks: UpstreamHooks = { onServerRequest: async () => ({}), onServerNotification: () => undefined };
const STOP = { sigtermAfterMs: 200, sigkillAfterMs: 800 };

/** `sh -c` that starts a stubborn grandchild in the background, then the MCP server, and stays as their parent. */
function wrapped(name: string, tag: string, how: 'background' | 'setsid'): ServerSpec {
  const launch = how === 'setsid' ? 'setsid "$0" "$1" &' : '"$0" "$1" &';
  return {
    name,
    builtin: false,
    resolveSpawn: async () => ({
      command: 'sh',
      args: ['-c', `${launch} "$0" "$2"; echo wrapper done >&2`, process.execPath, fixtureScript('ignores-stdin'), fixtureScript('well-behaved')],
      env: { PATH: process.env['PATH'] ?? '', FIXTURE_TAG: tag },
    }),
  };
}

function supervisor(stateDir: string): Supervisor {
  return new Supervisor({
    config: supervisorConfigSchema.parse({ healthIntervalMs: 60_000, backoffBaseMs: 20, backoffCapMs: 50, crashLoopThreshold: 20 }),
    hooks: noHooks,
    stopTiming: STOP,
    owner: new InstanceProcessRecord(join(stateDir, 'processes'), newInstanceId('test')),
  });
}

describe('processes started through a wrapper', () => {
  it('a stop ends the grandchild that ignores SIGTERM even though the wrapper itself exits first', async () => {
    const tag = randomUUID();
    const sup = supervisor(mkdtempSync(join(tmpdir(), 'mcpcp-faults-')));
    try {
      await sup.apply([wrapped('wrapped', tag, 'background')]);
      await sup.get('wrapped')!.waitUntilServing(15_000);
      await waitFor(() => taggedProcesses(tag).length === 3, 10_000, 'sh, the server and the stubborn grandchild');
      const before = taggedProcesses(tag);
      const t0 = Date.now();
      await sup.stopAll();
      const after = taggedProcesses(tag);
      assert.deepEqual(after, [], `left running after the stop: ${JSON.stringify(after)}`);
      assert.ok(before.every((p) => !sameProcessAlive(p)));
      // stdin EOF ends sh and the server at once; the grandchild needs the SIGKILL stage.
      assert.ok(Date.now() - t0 < STOP.sigkillAfterMs + 1_500, `stop took ${Date.now() - t0} ms`);
    } finally {
      await sup.stopAll();
      sup.dispose();
    }
  });

  it('three crashes of the wrapper leave no orphan: each crash has its leftovers stopped in stages', async () => {
    const tag = randomUUID();
    const sup = supervisor(mkdtempSync(join(tmpdir(), 'mcpcp-faults-')));
    try {
      await sup.apply([wrapped('wrapped', tag, 'background')]);
      const server = sup.get('wrapped')!;
      for (let crash = 1; crash <= 3; crash++) {
        await server.waitUntilServing(15_000);
        await waitFor(() => taggedProcesses(tag).length >= 3, 10_000, 'the wrapped server with its grandchild');
        const generation = taggedProcesses(tag);
        const wrapperPid = (server.status.state as { pid: number }).pid;
        process.kill(wrapperPid, 'SIGKILL');
        // Everything of that spawn goes (the grandchild only to SIGKILL), while the restart runs.
        await waitFor(() => generation.every((p) => !sameProcessAlive(p)), STOP.sigkillAfterMs + 3_000, `leftovers of crash ${crash} to end`);
      }
      await server.waitUntilServing(15_000);
      await waitFor(() => taggedProcesses(tag).length === 3, 5_000, 'only the current spawn');
      assert.equal(server.status.restarts, 3);
      await sup.stopAll();
      assert.deepEqual(taggedProcesses(tag), []);
      assert.ok(server.log.recent(500).some((l) => /left [1-9]\d* process(es)? behind/.test(l.text)), 'the cleanup after a crash is logged');
    } finally {
      await sup.stopAll();
      sup.dispose();
    }
  });

  it('a grandchild that left the process group (setsid) is still found through its marker and stopped', async () => {
    const tag = randomUUID();
    const sup = supervisor(mkdtempSync(join(tmpdir(), 'mcpcp-faults-')));
    try {
      await sup.apply([wrapped('escaper', tag, 'setsid')]);
      await sup.get('escaper')!.waitUntilServing(15_000);
      await waitFor(() => taggedProcesses(tag).length === 3, 10_000, 'three processes');
      await sup.stopAll();
      assert.deepEqual(taggedProcesses(tag), []);
    } finally {
      await sup.stopAll();
      sup.dispose();
    }
  });
});
