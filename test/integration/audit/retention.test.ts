// Audit retention through a real control plane: configured in operator settings, the shipping URL
// from the secret store, run at open; a workspace configuration cannot delete audit files.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AuditLog, defaultAuditKeyFile, fileAuditKeyStorage, loadOrCreateAuditKeyring, verifyAudit } from '../../../src/core/audit';
import { configSchema, type ConfigInput } from '../../../src/core/config/schema';
import { ControlPlane } from '../../../src/core/control-plane';
import { Redactor } from '../../../src/core/redact';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, waitFor } from '../../helpers/fixture-plane';

const PREFIX = 'ret';

function auditFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
}

/** A previous run of instance ret-1 that left 4 files, the 3 rotated ones last written 10 days ago. */
async function previousRun(stateDir: string): Promise<string[]> {
  const dir = join(stateDir, 'audit');
  const keys = await loadOrCreateAuditKeyring(fileAuditKeyStorage(defaultAuditKeyFile(stateDir)));
  const log = await AuditLog.open({ dir, instanceId: `${PREFIX}-1`, redactor: new Redactor(), keys, maxFileBytes: 1500, fsync: false });
  for (let i = 0; auditFiles(dir).length < 4; i++) await log.append({ type: 'config.changed', reason: `change ${i}` });
  await log.close();
  const names = auditFiles(dir);
  const then = (Date.now() - 10 * 86_400_000) / 1000;
  for (const n of names.slice(0, -1)) utimesSync(join(dir, n), then, then);
  return names;
}

async function start(t: TestContext, stateDir: string, config: ConfigInput, policyLayer: 'user' | 'workspace', logs: string[]): Promise<ControlPlane> {
  const secrets = new FileSecretStore(stateDir, {});
  const plane = await ControlPlane.start({
    config: configSchema.parse({ servers: { git: { enabled: false } }, ...config }),
    host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env: { PATH: process.env['PATH'] ?? '' }, secrets, workspaceTrusted: true, defaultCwd: stateDir, rootPaths: [stateDir], stateDir },
    roots: () => [],
    stateDir,
    instancePrefix: PREFIX,
    policyLayer,
    log: (m) => logs.push(m),
  });
  t.after(() => plane.stop());
  return plane;
}

describe('audit retention in the control plane', () => {
  it('removes old files at open after shipping them to the configured sink; verify holds', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-retention-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const names = await previousRun(stateDir);
    const received: string[] = [];
    const sink = createServer((req, res) => {
      received.push(String(req.headers['x-mcpcp-audit-file']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    t.after(() => sink.close());
    await new FileSecretStore(stateDir, {}).set('audit-sink', `http://127.0.0.1:${(sink.address() as AddressInfo).port}/ingest`);
    const logs: string[] = [];
    const plane = await start(t, stateDir, { audit: { retention: { maxAgeDays: 7, ship: { url: '${secret:audit-sink}' } } } }, 'user', logs);
    const dir = join(stateDir, 'audit');
    await waitFor(() => names.slice(0, 3).every((n) => !auditFiles(dir).includes(n)), 10_000, 'the 3 old files removed');
    assert.deepEqual(received, names.slice(0, 3), 'each was shipped, oldest first');
    assert.ok(auditFiles(dir).includes(names[3]!));
    // Logged just after the files go.
    await waitFor(() => logs.some((m) => /audit retention: removed 3 files/.test(m)), 10_000, `the removal logged: ${logs.join(' | ')}`);
    await plane.stop();
    const keys = await loadOrCreateAuditKeyring(fileAuditKeyStorage(defaultAuditKeyFile(stateDir)));
    const result = await verifyAudit(dir, { keys });
    assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
    assert.equal(result.instances.find((i) => i.instance === `${PREFIX}-1`)?.removed?.files, 3);
  });

  it('ignores retention in a workspace configuration file: no audit file is deleted', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-retention-ws-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const names = await previousRun(stateDir);
    const logs: string[] = [];
    const plane = await start(t, stateDir, { audit: { retention: { maxAgeDays: 1 } } }, 'workspace', logs);
    // The same configuration from the operator removes the files at once (previous test); give it time anyway.
    await new Promise((r) => setTimeout(r, 1000));
    await plane.stop();
    assert.deepEqual(auditFiles(join(stateDir, 'audit')).slice(0, 4), names, 'every file of the previous run is still there');
    assert.ok(logs.some((m) => m.includes('audit retention: ignored in a workspace configuration file')), logs.join('\n'));
  });
});
