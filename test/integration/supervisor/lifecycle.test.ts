import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, firstText, pidAlive, startPlane, waitFor } from '../../helpers/fixture-plane';
import { Supervisor } from '../../../src/core/supervisor/supervisor';
import { supervisorConfigSchema } from '../../../src/core/config/schema';
import type { UpstreamHooks } from '../../../src/core/supervisor/managed-server';

const noHooks: UpstreamHooks = {
  onServerRequest: async () => ({}),
  onServerNotification: () => undefined,
};

describe('supervisor and gateway under failure', () => {
  it('kill -9 mid-call: the call fails clearly within 2 s, the server comes back, the same session works', async () => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { supervisor: { backoffBaseMs: 50 } });
    try {
      const managed = plane.supervisor.get('fx')!;
      await managed.waitUntilServing(10_000);
      const client = await connectClient(plane, 'fx');
      const pid = (managed.status.state as { pid: number }).pid;
      const pending = client.callTool({ name: 'slow', arguments: { ms: 60_000, steps: 1 } });
      await new Promise((r) => setTimeout(r, 150));
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      const result = await pending;
      const elapsed = Date.now() - killedAt;
      assert.equal(result.isError, true);
      assert.match(firstText(result), /Server "fx" stopped while handling this call \(SIGKILL\)/);
      assert.ok(elapsed < 2_000, `failed after ${elapsed} ms`);
      await waitFor(() => managed.status.state.kind === 'running', 10_000, 'fx running again');
      assert.equal(managed.status.restarts, 1);
      assert.notEqual((managed.status.state as { pid: number }).pid, pid);
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'back' } })), 'back');
      await client.close();
    } finally {
      await plane.stop();
    }
  });

  it('a crash from a tool call restarts the server; a changed tool list sends tools/list_changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-variant-'));
    const variantFile = join(dir, 'variant');
    writeFileSync(variantFile, 'a');
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved', env: { FIXTURE_VARIANT_FILE: variantFile } }], { supervisor: { backoffBaseMs: 50 } });
    try {
      const managed = plane.supervisor.get('fx')!;
      await managed.waitUntilServing(10_000);
      const client = await connectClient(plane, 'fx');
      let listChanged = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++);
      assert.ok(!(await client.listTools()).tools.some((t) => t.name === 'extra'));
      writeFileSync(variantFile, 'b');
      const result = await client.callTool({ name: 'crash', arguments: { afterMs: 10 } });
      assert.equal(result.isError, true);
      await waitFor(() => listChanged > 0, 10_000, 'tools/list_changed');
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'extra'));
      assert.equal(managed.status.toolCount, 13);
      await client.close();
    } finally {
      await plane.stop();
    }
  });

  it('a server that exits at start ends crash-looping, with no further spawns and its stderr in the error', async () => {
    const plane = await startPlane([{ name: 'bad', fixture: 'exit-at-start' }], {
      supervisor: { backoffBaseMs: 10, backoffCapMs: 40, crashLoopThreshold: 4 },
    });
    try {
      const managed = plane.supervisor.get('bad')!;
      await waitFor(() => managed.status.state.kind === 'crash-looping', 15_000, 'crash-looping');
      const spawns = () => plane.logs.filter((l) => l.server === 'bad' && l.source === 'supervisor' && l.text.startsWith('started pid')).length;
      assert.equal(spawns(), 4);
      assert.match(managed.status.lastError ?? '', /exit code 3.*missing configuration/);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(spawns(), 4, 'no spawn after crash-looping');
      await assert.rejects(managed.waitUntilServing(1_000), /crash-looping \(4 quick crashes\)/);
      // A manual start is allowed again (and loops again).
      managed.start();
      await waitFor(() => spawns() > 4, 5_000, 'manual start');
    } finally {
      await plane.stop();
    }
  });

  it('a server that stops answering pings is killed and restarted', async () => {
    const plane = await startPlane([{ name: 'hang', fixture: 'hang-on-ping' }], {
      supervisor: { healthIntervalMs: 150, pingTimeoutMs: 100, missedPingsBeforeRestart: 2, backoffBaseMs: 10 },
    });
    try {
      const managed = plane.supervisor.get('hang')!;
      await managed.waitUntilServing(10_000);
      const firstPid = (managed.status.state as { pid: number }).pid;
      const states: string[] = [];
      managed.onDidChangeStatus((s) => states.push(s.state.kind));
      await waitFor(() => managed.status.restarts >= 1 && managed.status.state.kind === 'running', 10_000, 'restart after missed pings');
      assert.ok(states.includes('unhealthy'));
      assert.match(managed.status.lastError ?? '', /unresponsive: 2 pings missed/);
      assert.equal(pidAlive(firstPid), false);
    } finally {
      await plane.stop();
    }
  });

  it('waits for a slow server; requests arriving meanwhile are served once it runs', async () => {
    const plane = await startPlane([{ name: 'slow', fixture: 'slow-start', env: { FIXTURE_START_DELAY_MS: '800' } }]);
    try {
      assert.equal(plane.supervisor.get('slow')!.status.state.kind, 'starting');
      const client = await connectClient(plane, 'slow');
      assert.equal(firstText(await client.callTool({ name: 'hello', arguments: {} })), 'hello');
      await client.close();
    } finally {
      await plane.stop();
    }
  });

  it('a missing program becomes failed with a clear message; the supervisor does not throw', async () => {
    const notExecutable = join(mkdtempSync(join(tmpdir(), 'mcpcp-noexec-')), 'server');
    writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    const supervisor = new Supervisor({ config: supervisorConfigSchema.parse({}), hooks: noHooks });
    await supervisor.apply([
      { name: 'ghost', builtin: false, resolveSpawn: async () => ({ command: '/nonexistent/mcp-server', args: [], env: {} }) },
      { name: 'noexec', builtin: false, resolveSpawn: async () => ({ command: notExecutable, args: [], env: {} }) },
    ]);
    const ghost = supervisor.get('ghost')!;
    const noexec = supervisor.get('noexec')!;
    await waitFor(() => ghost.status.state.kind === 'failed' && noexec.status.state.kind === 'failed', 5_000, 'failed');
    assert.match(ghost.status.lastError ?? '', /program not found \(ENOENT\)/);
    assert.match(noexec.status.lastError ?? '', /permission denied \(EACCES\)/);
    await supervisor.stopAll();
  });

  it('stops in stages: stdin, SIGTERM at 1 s, SIGKILL at 3 s; no process is left', async () => {
    const plane = await startPlane([
      { name: 'good', fixture: 'well-behaved' },
      { name: 'stubborn', fixture: 'ignores-stdin' },
    ]);
    const good = plane.supervisor.get('good')!;
    const stubborn = plane.supervisor.get('stubborn')!;
    await good.waitUntilServing(10_000);
    await stubborn.waitUntilServing(10_000);
    const pids = [good, stubborn].map((s) => (s.status.state as { pid: number }).pid);
    const t0 = Date.now();
    await good.stop();
    const goodMs = Date.now() - t0;
    // It left on stdin close, before the SIGTERM stage (judged by how it exited, not by the clock).
    assert.deepEqual([good.status.lastExit?.code, good.status.lastExit?.signal], [0, null], `a server that exits on stdin close stops at once (${goodMs} ms)`);
    const t1 = Date.now();
    await stubborn.stop();
    const stubbornMs = Date.now() - t1;
    assert.ok(stubbornMs >= 2_900 && stubbornMs < 6_000, `SIGKILL at 3 s (${stubbornMs} ms)`);
    assert.equal(stubborn.status.lastExit?.signal, 'SIGKILL');
    assert.ok(plane.logs.some((l) => l.server === 'stubborn' && l.text === 'ignoring SIGTERM'), 'SIGTERM was sent first');
    for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} is gone`);
    await plane.stop();
  });

  it('children get a minimal environment', async () => {
    process.env['MCPCP_TEST_LEAK'] = 'should-not-pass';
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved', env: { ONLY_THIS: '1' } }]);
    try {
      const client = await connectClient(plane, 'fx');
      const names = firstText(await client.callTool({ name: 'env', arguments: {} })).split(',');
      assert.ok(names.includes('ONLY_THIS'));
      assert.ok(!names.includes('MCPCP_TEST_LEAK'));
      await client.close();
    } finally {
      delete process.env['MCPCP_TEST_LEAK'];
      await plane.stop();
    }
  });
});
