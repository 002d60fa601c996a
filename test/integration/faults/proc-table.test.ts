// Reading the process table: /proc/<pid>/stat with a hostile command name, and the markers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { carriesMarkers, procStat, signalIfSame, spawnMembers } from '../../../src/core/supervisor/processes';
import { waitFor } from '../../helpers/fixture-plane';

describe('process table', () => {
  it('parses stat fields after a command name holding ") " and spaces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-proc-'));
    const odd = join(dir, 'a) 1 2 3 (b');
    copyFileSync('/bin/sleep', odd);
    const child = spawn(odd, ['30'], { stdio: 'ignore', detached: true, env: { MCPCP_INSTANCE: 'x', MCPCP_SPAWN: 'odd#1' } });
    try {
      await waitFor(() => procStat(child.pid!)?.ppid === process.pid, 5_000, 'the child in /proc');
      const stat = procStat(child.pid!)!;
      assert.equal(stat.pid, child.pid);
      assert.equal(stat.ppid, process.pid);
      assert.equal(stat.pgid, child.pid, 'detached: its own group');
      assert.ok(stat.startTime >= procStat('self')!.startTime);
      assert.equal(carriesMarkers(child.pid!, ['MCPCP_INSTANCE=x', 'MCPCP_SPAWN=odd#1']), true);
      assert.equal(carriesMarkers(child.pid!, ['MCPCP_INSTANCE=y']), false);
      assert.deepEqual(spawnMembers({ pid: child.pid!, startTime: stat.startTime, alive: true }, []).map((p) => p.pid), [child.pid]);
      // A signal is only sent to the same process: a different start time means a reused pid.
      assert.equal(signalIfSame({ pid: child.pid!, startTime: stat.startTime + 1 }, 'SIGKILL'), false);
      assert.equal(procStat(child.pid!)?.state !== undefined, true);
      assert.equal(signalIfSame(stat, 'SIGKILL'), true);
      await new Promise((resolve) => child.once('exit', resolve));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
