// /readyz (readiness) against /healthz (liveness) on a real control plane: a server that cannot
// start makes it not ready; a server stopped on purpose does not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSchema } from '../../../src/core/config/schema';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, fixtureScript, waitFor } from '../../helpers/fixture-plane';

describe('/readyz', () => {
  it('is 503 naming a server that is not serving, 200 once it is stopped on purpose; /healthz stays 200', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-readyz-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const servers = {
      git: { enabled: false },
      fx: { command: process.execPath, args: [fixtureScript('well-behaved')] },
      broken: { command: process.execPath, args: [fixtureScript('exit-at-start')] },
    };
    const plane = await ControlPlane.start({
      config: configSchema.parse({ servers }),
      host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env: { PATH: process.env['PATH'] ?? '' }, secrets: new FileSecretStore(stateDir, {}), workspaceTrusted: true, defaultCwd: stateDir, rootPaths: [stateDir], stateDir },
      roots: () => [],
      stateDir,
      instancePrefix: 'readyz',
      policyLayer: 'user',
    });
    t.after(() => plane.stop());
    const base = `http://127.0.0.1:${plane.port}`;
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    const readyz = async (): Promise<{ status: number; body: string }> => fetch(`${base}/readyz`).then(async (r) => ({ status: r.status, body: await r.text() }));
    const notReady = await readyz();
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /^not ready: server broken (is still starting|is restarting|is crash-looping|has failed)\n$/);
    assert.doesNotMatch(notReady.body, /fx/, 'a serving server is not a reason');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    // No token needed, like /healthz (a container platform's probe has none).
    assert.equal((await fetch(`${base}/metrics`)).status, 401);

    await plane.applyConfig(configSchema.parse({ servers: { ...servers, broken: { ...servers.broken, enabled: false } } }));
    await waitFor(async () => (await readyz()).status === 200, 10_000, 'ready once the broken server is disabled');
    assert.equal((await readyz()).body, 'ready\n');
  });
});
