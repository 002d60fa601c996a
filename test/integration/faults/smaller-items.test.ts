// The smaller faults of issue 14: a mistyped built-in name is a visible failed server, and a
// server reading the roots is not audited as a configuration change.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { queryAudit } from '../../../src/core/audit';
import { REPO_ROOT, connectClient, firstText, startPlane, waitFor } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');

describe('smaller faults', () => {
  it('a mistyped built-in server name is a failed entry in `mcpcp status` with a did-you-mean error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-typo-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'servers:\n  git: { enabled: false }\n  kubernets: {}\n');
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', dataDir, '--print-client-config'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited (${code})`)));
      });
      const json = spawnSync(process.execPath, [CLI, 'status', '--json', '--data-dir', dataDir], { encoding: 'utf8' });
      const servers = (JSON.parse(json.stdout) as { instances: Array<{ servers: Array<{ name: string; state: { kind: string; code?: string }; lastError?: string }> }> }).instances[0]!.servers;
      const typo = servers.find((s) => s.name === 'kubernets');
      assert.ok(typo, `the mistyped server is listed: ${json.stdout}`);
      assert.equal(typo.state.kind, 'failed');
      assert.equal(typo.state.code, 'CONFIG_INVALID');
      assert.match(typo.lastError!, /server "kubernets" is not built in \(did you mean "kubernetes"\?\): give it a `command`/);
      const table = spawnSync(process.execPath, [CLI, 'status', '--data-dir', dataDir], { encoding: 'utf8' });
      assert.match(table.stdout, /kubernets\s+failed/);
      assert.match(table.stdout, /kubernets: last error: server "kubernets" is not built in \(did you mean "kubernetes"\?\)/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('roots/list answers are not audited as config.changed', async () => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: {} });
    try {
      await plane.supervisor.get('fx')!.waitUntilServing(10_000);
      const client = await connectClient(plane, 'fx');
      assert.match(firstText(await client.callTool({ name: 'roots', arguments: {} })), /file:\/\/\/workspace\/project/);
      await client.close();
      // Witness that the call itself was audited, so an empty result is not a broken audit.
      await new Promise((r) => setTimeout(r, 100));
      const auditDir = join(plane.stateDir!, 'audit');
      const records = (await queryAudit(auditDir, {}, { limit: 1000 })).records;
      assert.ok(records.some((r) => r.type === 'call.completed' && r.tool === 'roots'));
      assert.deepEqual(records.filter((r) => r.type === 'config.changed'), []);
    } finally {
      await plane.stop();
    }
  });

  it('a crash-looping server answers a new session without Retry-After and says a manual start is needed', async () => {
    const plane = await startPlane([{ name: 'loop', fixture: 'exit-at-start' }], { supervisor: { crashLoopThreshold: 2, backoffBaseMs: 10, backoffCapMs: 20 } });
    try {
      const managed = plane.supervisor.get('loop')!;
      await waitFor(() => managed.status.state.kind === 'crash-looping', 15_000, 'crash-looping');
      const res = await fetch(plane.url('loop'), {
        method: 'POST',
        headers: { authorization: `Bearer ${plane.gateway.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), null, 'it never recovers by itself: no Retry-After');
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /server "loop" is crash-looping \(2 quick crashes\).*it will not restart by itself: fix it, then start it by hand/);
    } finally {
      await plane.stop();
    }
  });
});
