// What adoption and the assessment say about secrets left behind: in the git history of the
// workspace's repository (real repositories, real git), and in backups earlier versions wrote
// beside the files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { adoptServers, applyRemediation, assessLocations, backupRoot, locationForFile, parseMcpConfig, planAdoption, prepareRemediation, reportToText, yamlOwnServers } from '../../../src/core/adopt';
import { MemoryRecorder, ScriptedApprover } from './helpers';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { cleanup, git, makeRepo, tempDir } from '../git/fixture';

const TOKEN = 'ghp_LEFTbehindLEFTbehind0123456789abcdefg';
const dirs: string[] = [];
after(() => cleanup(...dirs));

const mcpJson = (token: string): string => `${JSON.stringify({ servers: { memory: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory@2025.4.25'], env: { MEMORY_API_TOKEN: token } } } }, null, 2)}\n`;

/** A workspace repository whose .vscode/mcp.json holds the token; committed when `committed`. */
function workspace(committed: boolean): { ws: string; file: string } {
  const base = tempDir('mcpcp-left-behind-');
  dirs.push(base);
  const ws = makeRepo(join(base, 'ws'));
  mkdirSync(join(ws, '.vscode'));
  const file = join(ws, '.vscode', 'mcp.json');
  writeFileSync(file, mcpJson(TOKEN));
  if (committed) {
    git(ws, 'add', '.vscode/mcp.json');
    git(ws, 'commit', '-qm', 'memory server');
  }
  return { ws, file };
}

describe('secrets left behind', () => {
  it('adoption reports a moved secret that is in the git history, with where, and one that is not, as clean', async () => {
    for (const committed of [true, false]) {
      const { ws, file } = workspace(committed);
      const parsed = parseMcpConfig(mcpJson(TOKEN), locationForFile(file, mcpJson(TOKEN)));
      const data = join(ws, '..', 'data');
      const secrets = new FileSecretStore(data, {});
      const own = yamlOwnServers(join(ws, '..', 'own', 'config.yaml'));
      const plan = planAdoption(parsed, { existing: {}, secretNames: [], editorRunsFile: false });
      const result = await adoptServers(plan, parsed, { secrets, servers: own, backupDir: backupRoot(data), gitHistory: {}, promptInput: async () => undefined });
      assert.ok(result.moved, 'the entry moved out of the file');
      assert.equal(result.history?.status, 'complete');
      if (committed) {
        assert.deepEqual(result.history!.found.map((h) => [h.name, h.locations.map((l) => l.path)]), [['memory-api-token', ['.vscode/mcp.json']]]);
      } else {
        assert.deepEqual(result.history!.found, [], 'never committed: nothing to rotate');
      }
    }
  });

  it('the assessment flags a plaintext secret already in history as critical (rotate), and not one only in the working file', async () => {
    const committed = workspace(true);
    const report = await assessLocations([locationForFile(committed.file, mcpJson(TOKEN))], { gitHistory: {} });
    const history = report.findings.filter((f) => f.rule === 'secret-in-git-history');
    assert.equal(history.length, 1);
    assert.equal(history[0]!.severity, 'critical');
    assert.equal(history[0]!.location.pointer, '/servers/memory/env/MEMORY_API_TOKEN');
    assert.match(history[0]!.message, /^The plaintext secret in env\.MEMORY_API_TOKEN of "memory" in mcp\.json is in the git history of .*\(\.vscode\/mcp\.json in commit [0-9a-f]{12}\): .*Rotate it where it was issued/);
    assert.ok(!reportToText(report).includes(TOKEN), 'the report never holds the value');

    const fresh = workspace(false);
    const clean = await assessLocations([locationForFile(fresh.file, mcpJson(TOKEN))], { gitHistory: {} });
    assert.deepEqual(clean.findings.filter((f) => f.rule === 'secret-in-git-history'), []);
    assert.equal(clean.findings.filter((f) => f.rule === 'plaintext-secret').length, 1, 'the plaintext secret itself is still reported');
  });

  it('flags old *.mcpcp-backup-* files beside a file: what they hold and what to do (delete; rotate)', async () => {
    const { ws, file } = workspace(false);
    writeFileSync(file, mcpJson('${input:memory-api-token}'));
    const backup = `${file}.mcpcp-backup-20250101T120000123Z`;
    writeFileSync(backup, mcpJson(TOKEN));
    // A YAML one (the control plane's own config) is read as YAML.
    mkdirSync(join(ws, '.mcpcp'));
    const ownFile = join(ws, '.mcpcp', 'config.yaml');
    writeFileSync(ownFile, 'servers: {}\n');
    writeFileSync(`${ownFile}.mcpcp-backup-20250101T120000123Z`, `servers:\n  tickets:\n    command: node\n    env:\n      TICKETS_TOKEN: "${TOKEN}"\n`);
    const yamlReport = await assessLocations([locationForFile(ownFile, 'servers: {}\n')], {});
    assert.deepEqual(yamlReport.findings.filter((f) => f.rule === 'stale-backup').map((f) => [f.severity, /holds a plaintext secret \(github-token/.test(f.message)]), [['critical', true]]);
    rmSync(join(ws, '.mcpcp'), { recursive: true });

    const plain = join(ws, '.mcp.json.mcpcp-backup-20250101T120000123Z');
    writeFileSync(join(ws, '.mcp.json'), '{"mcpServers":{}}');
    writeFileSync(plain, '{"mcpServers":{}}');
    const locations = [locationForFile(file, mcpJson('x')), locationForFile(join(ws, '.mcp.json'), '{"mcpServers":{}}')];
    const report = await assessLocations(locations, {});
    const stale = report.findings.filter((f) => f.rule === 'stale-backup');
    assert.deepEqual(stale.map((f) => [f.location.file, f.severity]), [[backup, 'critical'], [plain, 'low']]);
    assert.match(stale[0]!.message, /^mcp\.json\.mcpcp-backup-20250101T120000123Z is a backup an earlier MCP Control Plane left beside mcp\.json: it holds a plaintext secret \(github-token, 41 characters\), is one `git add -A` away from being committed, and nothing needs it .* Delete it; if it was ever committed, pushed or shared, rotate the secret where it was issued$/);
    assert.ok(!JSON.stringify(report).includes(TOKEN));

    // Its fix deletes it after an approval that shows what goes, the secret masked.
    const report2 = await assessLocations(locations, {});
    const finding = report2.findings.find((f) => f.rule === 'stale-backup' && f.location.file === backup)!;
    assert.equal(finding.remediation?.kind, 'delete-backup');
    const prepared = await prepareRemediation(report2, finding.id, { secrets: new FileSecretStore(join(ws, '..', 'data'), {}) });
    assert.match(prepared.diff, /^--- a\/.*mcp\.json\.mcpcp-backup-20250101T120000123Z\n\+\+\+ b\/.*\n@@ -1,\d+ \+0,0 @@/);
    assert.match(prepared.diff, /"MEMORY_API_TOKEN": "\[secret plaintext-1\]"/);
    assert.ok(!prepared.diff.includes(TOKEN), 'the preview masks the secret');
    const refuse = new ScriptedApprover(false);
    await assert.rejects(applyRemediation(prepared, { secrets: new FileSecretStore(join(ws, '..', 'data'), {}), backupDir: backupRoot(join(ws, '..', 'data')), approver: refuse }), /was not approved/);
    assert.ok(existsSync(backup), 'rejected: still there');
    const approver = new ScriptedApprover(true);
    const recorder = new MemoryRecorder();
    const result = await applyRemediation(prepared, { secrets: new FileSecretStore(join(ws, '..', 'data'), {}), backupDir: backupRoot(join(ws, '..', 'data')), approver, recorder });
    assert.equal(result.action, 'remediation_delete_backup');
    assert.equal(approver.requests[0]?.previewText, prepared.diff, 'the approval showed the masked content');
    assert.equal(existsSync(backup), false, 'deleted');
    assert.deepEqual(recorder.records.map((r) => [r.action, r.outcome]), [['remediation_delete_backup', 'ok']]);
    writeFileSync(backup, mcpJson(TOKEN));

    // Committed by a `git add -A`: the backup's secret is in history too.
    git(ws, 'add', '-A');
    git(ws, 'commit', '-qm', 'oops');
    const again = await assessLocations(locations, { gitHistory: {} });
    const inHistory = again.findings.filter((f) => f.rule === 'secret-in-git-history');
    assert.deepEqual(inHistory.map((f) => f.location.file), [backup]);
    assert.match(inHistory[0]!.message, /\.vscode\/mcp\.json\.mcpcp-backup-20250101T120000123Z in commit/);
  });
});
