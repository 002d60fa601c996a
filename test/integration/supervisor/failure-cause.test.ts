// A failure keeps its cause and its fix: `npx` of a package the registry does not have (a real npx,
// against a loopback registry that answers 404 to everything) becomes "npm package <name> could not
// be found (npm 404)", in state failed, without the restarts that could not help; npm's eight
// trailing lines stay in the server's log.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../helpers/fixture-plane';
import { supervisorConfigSchema } from '../../../src/core/config/schema';
import type { UpstreamHooks } from '../../../src/core/supervisor/managed-server';
import type { LogLine } from '../../../src/core/supervisor/server-log';
import { Supervisor } from '../../../src/core/supervisor/supervisor';

const noHooks: UpstreamHooks = { onServerRequest: async () => ({}), onServerNotification: () => undefined };
const NPX = execFileSync('sh', ['-c', 'command -v npx'], { encoding: 'utf8' }).trim();

let registry: Server;
let registryUrl = '';
const asked: string[] = [];
before(async () => {
  registry = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"Not found"}');
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`;
});
after(() => new Promise<void>((r) => registry.close(() => r())));

async function runMissing(pkg: string): Promise<{ state: string; lastError: string; notServing: string; spawns: number; logs: LogLine[] }> {
  const home = mkdtempSync(join(tmpdir(), 'mcpcp-npx-home-'));
  const logs: LogLine[] = [];
  const supervisor = new Supervisor({ config: supervisorConfigSchema.parse({ backoffBaseMs: 10, backoffCapMs: 40, crashLoopThreshold: 3 }), hooks: noHooks, logSink: (l) => logs.push(l) });
  await supervisor.apply([
    {
      name: 'missing',
      builtin: false,
      resolveSpawn: async () => ({
        command: NPX,
        args: ['-y', pkg],
        env: { PATH: process.env['PATH'] ?? '', HOME: home, npm_config_registry: registryUrl, npm_config_cache: join(home, 'cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
      }),
    },
  ]);
  const server = supervisor.get('missing')!;
  try {
    await waitFor(() => ['failed', 'crash-looping'].includes(server.status.state.kind), 60_000, 'the npx child to end');
    await new Promise((r) => setTimeout(r, 300)); // a restart, if one were scheduled, would show by now
    return {
      state: server.status.state.kind,
      lastError: server.status.lastError ?? '',
      notServing: server.notServingError()?.message ?? '',
      spawns: logs.filter((l) => l.source === 'supervisor' && l.text.startsWith('started ')).length,
      logs,
    };
  } finally {
    await supervisor.stopAll();
  }
}

describe('a missing npm package', () => {
  for (const pkg of ['mcp-server-that-does-not-exist', '@mcpcp-probe/no-such-server@1.2.3']) {
    it(`npx -y ${pkg}: "could not be found (npm 404)", failed at once, npm's lines in the log only`, async () => {
      const before = asked.length;
      const r = await runMissing(pkg);
      assert.ok(asked.length > before, 'npx really asked the loopback registry');
      const name = pkg.replace(/(.)@[^/]*$/, '$1');
      assert.equal(r.state, 'failed');
      assert.equal(r.spawns, 1, 'not restarted: the same command would fail the same way');
      assert.equal(r.lastError, `npm package ${name} could not be found (npm 404): check the package name in the server's command and arguments (asked http://${new URL(registryUrl).host}; for a private package, check that registry and its token in .npmrc) (exit code 1)`);
      assert.match(r.notServing, new RegExp(`^server "missing" failed to start: npm package ${name.replace(/[/@.]/g, '\\$&')} could not be found \\(npm 404\\)`));
      assert.ok(!/tarball, folder|complete log of this run/.test(r.lastError), 'none of npm\'s trailing lines');
      assert.ok(r.logs.some((l) => l.source === 'stderr' && /npm error code E404/.test(l.text)), 'the raw lines are in the log');
    });
  }
});
