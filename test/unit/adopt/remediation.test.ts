import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  applyRemediation,
  assessLocations,
  backupFolder,
  backupRoot,
  listBackups,
  locationForFile,
  mapResolver,
  nodeModulesResolver,
  parseJsonc,
  prepareRemediation,
  restoreBackup,
  unifiedDiff,
  yamlOwnServers,
  type AssessmentReport,
  type Finding,
} from '../../../src/core/adopt';
import { loadConfigFile } from '../../../src/core/config/load';
import { ControlPlaneError } from '../../../src/core/errors';
import { FileSecretStore, secretEnvName } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT } from '../../helpers/fixture-plane';
import { MemoryRecorder, ScriptedApprover, TOKENS, placeFixture, read, tempDir } from './helpers';

async function assessFile(path: string, report?: Partial<AssessmentReport>): Promise<AssessmentReport> {
  return { ...(await assessLocations([locationForFile(path, read(path))], { now: () => new Date('2025-05-01T10:00:00Z') })), ...report };
}

function only(report: AssessmentReport, rule: Finding['rule'], server: string): Finding {
  const list = report.findings.filter((f) => f.rule === rule && f.server === server);
  assert.equal(list.length, 1, `${rule} for ${server}`);
  return list[0]!;
}

describe('remediations', () => {
  it('moves a secret out of config.yaml into the store after approval, with a backup that restores it', async () => {
    const dir = tempDir();
    const file = placeFixture(dir, 'config.yaml', '.mcpcp/config.yaml');
    const original = read(file);
    const secrets = new FileSecretStore(`${dir}/data`, {});
    const report = await assessFile(file);
    const finding = only(report, 'plaintext-secret', 'tickets');
    const prepared = await prepareRemediation(report, finding.id, { secrets });
    assert.equal(prepared.action, 'remediation_move_secret');
    assert.match(prepared.diff, /^--- a\/.*config\.yaml\n\+\+\+ b\/.*config\.yaml\n@@ -7,7 \+7,7 @@/);
    assert.match(prepared.diff, /\n-      TICKETS_TOKEN: "\[secret tickets-token\]"/, 'the preview masks the secret it moves');
    assert.match(prepared.diff, /\n\+      TICKETS_TOKEN: "\$\{secret:tickets-token\}"/);

    const approver = new ScriptedApprover(true);
    const recorder = new MemoryRecorder();
    const result = await applyRemediation(prepared, { secrets, backupDir: backupRoot(`${dir}/data`), approver, recorder, now: () => new Date('2025-05-01T10:00:01.234Z') });
    assert.deepEqual(approver.requests.map((r) => [r.action, r.args['findingId'], r.previewText === prepared.diff]), [['remediation_move_secret', finding.id, true]]);
    assert.equal(result.backup, join(backupFolder(backupRoot(`${dir}/data`), file), 'config.yaml.mcpcp-backup-20250501T100001234Z'));
    assert.deepEqual(readdirSync(dirname(file)).filter((f) => f !== 'config.yaml'), [], 'nothing new beside the file: the backup is in the data directory');

    const after = read(file);
    assert.ok(!after.includes(TOKENS.githubYaml), 'the secret is gone from the file');
    assert.match(after, /# Pasted while trying things out\.\n {6}TICKETS_TOKEN: "\$\{secret:tickets-token\}"/, 'comments and layout stay');
    assert.equal(await secrets.get('tickets-token'), TOKENS.githubYaml, 'and is in the store');
    assert.equal((await loadConfigFile(file)).servers['tickets']?.env?.['TICKETS_TOKEN'], '${secret:tickets-token}', 'the file is still a valid configuration');
    assert.equal(statSync(result.backup!).mode & 0o777, 0o600, 'the backup is owner-only');
    assert.equal(statSync(dirname(result.backup!)).mode & 0o777, 0o700);
    assert.ok(!read(result.backup!).includes(TOKENS.githubYaml), 'the backup holds no copy of the secret it moved');
    assert.equal(read(result.backup!), original.replace(TOKENS.githubYaml, '${secret:tickets-token}'), 'only its reference');
    assert.deepEqual(recorder.records.map((r) => [r.action, r.outcome, r.approvalId]), [['remediation_move_secret', 'ok', 'appr-1']]);
    assert.ok(!JSON.stringify(recorder.records).includes(TOKENS.githubYaml), 'audit holds names, not values');

    writeFileSync(file, `${after}# edited later\n`);
    assert.deepEqual(await listBackups(backupRoot(`${dir}/data`), file), [result.backup]);
    const undo = await restoreBackup(result.backup!, { now: () => new Date('2025-05-01T10:00:02Z') });
    assert.equal(read(file), original.replace(TOKENS.githubYaml, '${secret:tickets-token}'), 'the backup restores the file (the secret as its reference)');
    assert.equal(read(undo), `${after}# edited later\n`, 'and the restore is itself undoable');
    assert.equal(dirname(undo), dirname(result.backup!));
  });

  it('in VS Code mcp.json, moves the secret into an input (VS Code keeps it in its secret storage) and keeps a copy in the store', async () => {
    const dir = tempDir();
    const file = placeFixture(dir, 'vscode-mcp.json', '.vscode/mcp.json');
    const secrets = new FileSecretStore(`${dir}/data`, {});
    const report = await assessFile(file);
    const prepared = await prepareRemediation(report, only(report, 'plaintext-secret', 'docs').id, { secrets });
    await applyRemediation(prepared, { secrets, backupDir: backupRoot(`${dir}/data`), approver: new ScriptedApprover(true) });
    const after = read(file);
    assert.ok(!after.includes(TOKENS.docs));
    const doc = parseJsonc(after);
    assert.deepEqual(doc.errors, []);
    const value = doc.value as { servers: { docs: { headers: Record<string, string> } }; inputs: Array<Record<string, unknown>> };
    assert.equal(value.servers.docs.headers['Authorization'], 'Bearer ${input:docs-authorization}');
    assert.deepEqual(value.inputs.map((i) => [i['id'], i['password']]), [['graph-token', true], ['docs-authorization', true]]);
    assert.match(after, /\/\/ A GitHub token pasted in plain text/, 'comments stay');
    assert.equal(await secrets.get('docs-authorization'), TOKENS.docs);
  });

  it('pins an unpinned package to the version resolved now, and adds a timeout to our own entries', async () => {
    const dir = tempDir();
    const file = placeFixture(dir, 'vscode-mcp.json', '.vscode/mcp.json');
    const secrets = new FileSecretStore(`${dir}/data`, {});
    const report = await assessFile(file);
    const pin = only(report, 'unpinned-package', 'github');
    await assert.rejects(prepareRemediation(report, pin.id, { secrets, resolveVersion: mapResolver({}) }), /cannot tell which version of @modelcontextprotocol\/server-github/);
    const prepared = await prepareRemediation(report, pin.id, { secrets, resolveVersion: mapResolver({ 'npm:@modelcontextprotocol/server-github': '2025.4.8' }) });
    assert.match(prepared.diff, /\n-      "args": \["-y", "@modelcontextprotocol\/server-github"\],\n\+      "args": \["-y", "@modelcontextprotocol\/server-github@2025\.4\.8"\],/);
    await applyRemediation(prepared, { secrets, backupDir: backupRoot(`${dir}/data`), approver: new ScriptedApprover(true) });
    assert.match(read(file), /server-github@2025\.4\.8"/);

    // The version currently installed, from node_modules (as the tests' own devDependencies are).
    const claude = placeFixture(dir, 'claude_desktop_config.json', 'claude/claude_desktop_config.json');
    writeFileSync(claude, read(claude).replace('@modelcontextprotocol/server-filesystem@2026.8.31', '@modelcontextprotocol/server-memory'));
    const r2 = await assessFile(claude);
    const memory = await prepareRemediation(r2, only(r2, 'unpinned-package', 'filesystem').id, { secrets, resolveVersion: nodeModulesResolver([REPO_ROOT]) });
    const installed = (JSON.parse(readFileSync(`${REPO_ROOT}/node_modules/@modelcontextprotocol/server-memory/package.json`, 'utf8')) as { version: string }).version;
    assert.match(memory.diff, new RegExp(`\\+.*"@modelcontextprotocol/server-memory@${installed.replace(/\./g, '\\.')}"`));

    const settings = placeFixture(dir, 'settings.json', 'User/settings.json');
    const r3 = await assessFile(settings);
    const timeout = await prepareRemediation(r3, only(r3, 'missing-timeout', 'graph').id, { secrets });
    await applyRemediation(timeout, { secrets, backupDir: backupRoot(`${dir}/data`), approver: new ScriptedApprover(true) });
    const value = parseJsonc(read(settings)).value as Record<string, Record<string, { timeoutMs?: number }>>;
    assert.equal(value['mcpControlPlane.servers']!['graph']!.timeoutMs, 60_000);
    assert.match(read(settings), /\/\/ VS Code user settings\./);
  });

  it('changes nothing when the approver rejects, and refuses a finding whose value changed since', async () => {
    const dir = tempDir();
    const file = placeFixture(dir, 'config.yaml', '.mcpcp/config.yaml');
    const before = read(file);
    const secrets = new FileSecretStore(`${dir}/data`, {});
    const report = await assessFile(file);
    const finding = only(report, 'plaintext-secret', 'tickets');
    const prepared = await prepareRemediation(report, finding.id, { secrets });
    await assert.rejects(applyRemediation(prepared, { secrets, backupDir: backupRoot(`${dir}/data`), approver: new ScriptedApprover(false) }), (err: unknown) => err instanceof ControlPlaneError && err.code === 'CHANGE_REJECTED' && /not now/.test(err.message));
    assert.equal(read(file), before);
    assert.deepEqual(await secrets.list(), []);
    assert.deepEqual(await listBackups(backupRoot(`${dir}/data`), file), []);

    writeFileSync(file, before.replace(TOKENS.githubYaml, 'ghp_OTHERotherOTHERother0123456789abcdefXY'));
    await assert.rejects(prepareRemediation(report, finding.id, { secrets }), (err: unknown) => err instanceof ControlPlaneError && err.code === 'REMEDIATION_STALE');
    // Prepared before the edit, applied after: refused too, before anything is asked or written.
    writeFileSync(file, before);
    const again = await prepareRemediation(report, finding.id, { secrets });
    writeFileSync(file, `${before}\n# edited meanwhile\n`);
    const approver = new ScriptedApprover(true);
    await assert.rejects(applyRemediation(again, { secrets, backupDir: backupRoot(`${dir}/data`), approver }), (err: unknown) => err instanceof ControlPlaneError && err.code === 'CHANGE_STALE');
    assert.equal(approver.requests.length, 0);
  });

  it('rolls back file and store when the secret does not read back (an environment variable shadows it)', async () => {
    const dir = tempDir();
    const file = placeFixture(dir, 'config.yaml', '.mcpcp/config.yaml');
    const before = read(file);
    // MCPCP_SECRET_<NAME> overrides the file store: the stored value would never be used.
    const secrets = new FileSecretStore(`${dir}/data`, { [secretEnvName('tickets-token')]: 'something-else' });
    const report = await assessFile(file);
    const prepared = await prepareRemediation(report, only(report, 'plaintext-secret', 'tickets').id, { secrets: new FileSecretStore(`${dir}/data`, {}) });
    const recorder = new MemoryRecorder();
    await assert.rejects(applyRemediation(prepared, { secrets, backupDir: backupRoot(`${dir}/data`), approver: new ScriptedApprover(true), recorder }), (err: unknown) => err instanceof ControlPlaneError && err.code === 'CHANGE_FAILED' && /rolled back/.test(err.message) && /environment variable/.test(err.message));
    assert.equal(read(file), before, 'the file is as it was');
    assert.equal(existsSync(`${dir}/data/secrets.json`) ? JSON.parse(read(`${dir}/data/secrets.json`))['tickets-token'] : undefined, undefined, 'the store is as it was');
    assert.deepEqual(recorder.records.map((r) => [r.action, r.outcome, r.detail?.['rolledBack']]), [['remediation_move_secret', 'error', true]]);
    assert.equal((await listBackups(backupRoot(`${dir}/data`), file)).length, 1, 'the backup stays for reference');
  });

  it('adopts a server out of a Claude-style file: entry with a reference in our config, secret in the store, entry gone from the file', async () => {
    const dir = tempDir();
    const file = placeFixture(dir, 'claude-code.mcp.json', '.mcp.json');
    const own = yamlOwnServers(`${dir}/.mcpcp/config.yaml`);
    const secrets = new FileSecretStore(`${dir}/data`, {});
    const report = await assessFile(file);
    const prepared = await prepareRemediation(report, only(report, 'plaintext-secret', 'slack').id, { secrets, ownServers: own });
    assert.equal(prepared.action, 'remediation_adopt_server');
    assert.match(prepared.diff, /^--- a\/.*\.mcp\.json/);
    assert.match(prepared.diff, /\n-    "slack": \{/);
    assert.match(prepared.diff, /\n\+--- a\/|\n--- a\/.*config\.yaml/);
    assert.match(prepared.diff, /"SLACK_BOT_TOKEN": "\$\{secret:slack-bot-token\}"/);
    assert.ok(!prepared.diff.includes(TOKENS.slack));
    const recorder = new MemoryRecorder();
    const result = await applyRemediation(prepared, { secrets, backupDir: backupRoot(`${dir}/data`), ownServers: own, approver: new ScriptedApprover(true), recorder });
    assert.deepEqual(result.adopted, ['slack']);
    assert.ok(!read(file).includes(TOKENS.slack));
    assert.ok(!read(file).includes('"slack"'));
    assert.match(read(file), /"billing-bridge"/, 'the other entries stay');
    assert.equal(await secrets.get('slack-bot-token'), TOKENS.slack);
    const config = await loadConfigFile(`${dir}/.mcpcp/config.yaml`);
    assert.deepEqual(config.servers['slack'], { command: 'npx', args: ['-y', '@modelcontextprotocol/server-slack@latest'], env: { SLACK_BOT_TOKEN: '${secret:slack-bot-token}', SLACK_TEAM_ID: 'T00000000' }, adoptedFrom: { file, name: 'slack' } });
    assert.deepEqual(recorder.records.map((r) => [r.action, r.outcome]), [['adopt_servers', 'ok'], ['adopt_move_servers', 'ok'], ['remediation_adopt_server', 'ok']]);
    assert.ok(result.backup && existsSync(result.backup));
    assert.ok(result.backup.startsWith(backupRoot(`${dir}/data`)), 'the backup is in the data directory');
    assert.ok(!read(result.backup).includes(TOKENS.slack), 'with the moved secret as its reference');
    assert.match(read(result.backup), /"SLACK_BOT_TOKEN": "\$\{secret:slack-bot-token\}"/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('mcpcp-backup')), [], 'nothing beside the file');
  });

  it('writes unified diffs with context and correct hunk headers', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'].join('\n') + '\n';
    const after = before.replace('c\n', 'C\n').replace('l\n', '');
    assert.equal(unifiedDiff('f.txt', before, after, 2), ['--- a/f.txt', '+++ b/f.txt', '@@ -1,5 +1,5 @@', ' a', ' b', '-c', '+C', ' d', ' e', '@@ -10,4 +10,3 @@', ' j', ' k', '-l', ' m', ''].join('\n'));
    assert.equal(unifiedDiff('f', 'x\n', 'x\n'), '');
    assert.equal(unifiedDiff('f', '', 'new\n'), '--- a/f\n+++ b/f\n@@ -0,0 +1,1 @@\n+new\n');
  });
});
