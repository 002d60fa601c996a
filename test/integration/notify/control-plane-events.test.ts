// The control plane's own event sources reach a channel: a policy file turning invalid (one alert
// per distinct problem set) and the audit log failing for real (a full filesystem: a small tmpfs,
// so this part needs root and mount, as the CI machine has; it is skipped, saying so, elsewhere).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { configSchema } from '../../../src/core/config/schema';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, fixtureScript, waitFor } from '../../helpers/fixture-plane';
import { startReceiver, type Receiver } from './receiver';

async function start(receiver: Receiver, stateDir: string, root: string): Promise<ControlPlane> {
  const secrets = new FileSecretStore(stateDir, {});
  await secrets.set('hook-url', receiver.url('/hook'));
  await secrets.set('hook-key', 'signing-key-0123456789');
  return ControlPlane.start({
    config: configSchema.parse({
      servers: { git: { enabled: false }, fx: { command: process.execPath, args: [fixtureScript('well-behaved')] } },
      notifications: { retryBaseMs: 50, channels: { hook: { type: 'webhook', url: '${secret:hook-url}', signingSecret: '${secret:hook-key}', events: ['policy.invalid', 'audit.write-failed'] } } },
    }),
    host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env: { PATH: process.env['PATH'] ?? '' }, secrets, workspaceTrusted: true, defaultCwd: root, rootPaths: [root], stateDir },
    roots: () => [{ uri: pathToFileURL(root).href, name: 'ws' }],
    stateDir,
    instancePrefix: 'events',
    policyLayer: 'config',
  });
}

const types = (r: Receiver): string[] => r.received.map((x) => (x.json as { type: string }).type);

describe('control plane events to a channel', () => {
  it('a workspace policy file that turns invalid alerts once per distinct problem', async () => {
    const receiver = await startReceiver();
    const root = mkdtempSync(join(tmpdir(), 'mcpcp-events-ws-'));
    mkdirSync(join(root, '.mcpcp'));
    const policyFile = join(root, '.mcpcp', 'policy.yaml');
    writeFileSync(policyFile, 'rules:\n  - tool: echo\n    decision: deny\n');
    const plane = await start(receiver, mkdtempSync(join(tmpdir(), 'mcpcp-events-state-')), root);
    try {
      writeFileSync(policyFile, 'rules:\n  - tool: echo\n    decision: maybe\n');
      await waitFor(() => types(receiver).includes('policy.invalid'), 10_000, 'policy.invalid delivered');
      const body = receiver.received[0]!.json as { text: string; event: { problems: string[] } };
      assert.match(body.event.problems.join('\n'), /policy\.yaml/);
      // The same broken content saved again is no new alert.
      writeFileSync(policyFile, 'rules:\n  - tool: echo\n    decision: maybe\n');
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(types(receiver), ['policy.invalid']);
    } finally {
      await plane.stop();
      await receiver.close();
    }
  });

  it('the audit log failing on a full disk alerts once; the call is refused, not held', async (t) => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'mcpcp-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    } catch {
      t.skip('needs root and mount(8) to make a real full filesystem');
      return;
    }
    const receiver = await startReceiver();
    const root = mkdtempSync(join(tmpdir(), 'mcpcp-events-ws-'));
    let plane: ControlPlane | undefined;
    try {
      plane = await start(receiver, mountPoint, root);
      await plane.supervisor.get('fx')!.waitUntilServing(20_000);
      // Fill the filesystem: the next audit write gets ENOSPC.
      const fd = openSync(join(mountPoint, 'filler'), 'w');
      try {
        const chunk = Buffer.alloc(16 * 1024);
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        closeSync(fd);
      }
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('fx')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      // The audit file's last page may still hold a few records; calls are refused from the first failed write on.
      let refusedAt = -1;
      for (let i = 0; i < 200 && refusedAt < 0; i++) {
        const result = await client.callTool({ name: 'echo', arguments: { text: `x${i}` } });
        if (result.isError === true) refusedAt = i;
      }
      assert.ok(refusedAt >= 0, 'a call was refused once the disk was full');
      for (let i = 0; i < 3; i++) {
        const result = await client.callTool({ name: 'echo', arguments: { text: `after${i}` } });
        assert.equal(result.isError, true);
        assert.match(JSON.stringify(result.content), /audit log cannot be written/);
      }
      await client.close();
      await waitFor(() => types(receiver).includes('audit.write-failed'), 10_000, 'audit.write-failed delivered');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(types(receiver), ['audit.write-failed'], 'one alert for the failure, not one per call');
      assert.match((receiver.received[0]!.json as { text: string }).text, /ENOSPC|no space/i);
    } finally {
      await plane?.stop();
      await receiver.close();
      rmSync(join(mountPoint, 'filler'), { force: true });
      // A child that has not quite let go of the audit folder makes a plain umount EBUSY: detach it.
      try {
        execFileSync('umount', [mountPoint], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
      }
    }
  });
});
