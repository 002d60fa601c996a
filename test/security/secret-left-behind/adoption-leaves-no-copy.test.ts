// Threat: a secret moved out of a workspace file survives in a copy someone else can read: a
// backup beside the file (untracked, one `git add -A` away from a commit), a backup elsewhere that
// holds the plaintext. Witness: a byte search of every file under the workspace and the data
// directory, shown first to find the token where it starts; after an adoption (entries moved out)
// and a remediation (secret moved in place), the token is in the secret store's file and nowhere
// else, and nothing new is in the workspace but the edited files.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { adoptServers, applyRemediation, assessLocations, backupRoot, locationForFile, parseMcpConfig, planAdoption, prepareRemediation, yamlOwnServers } from '../../../src/core/adopt';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { cleanup, makeRepo, tempDir } from '../../unit/git/fixture';
import { MemoryRecorder, ScriptedApprover } from '../../unit/adopt/helpers';

const TOKEN = 'ghp_NOcopyNOcopyNOcopy0123456789abcdefghi';
const YAML_TOKEN = 'ghp_YAMLcopyYAMLcopy0123456789abcdefghijk';
const dirs: string[] = [];
after(() => cleanup(...dirs));

/** Every file under `dir` (the .git folder included) whose bytes contain `needle`. */
function holding(dir: string, needle: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (readFileSync(path).includes(Buffer.from(needle))) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => !p.startsWith('.git/') && p !== '.git').sort();
}

describe('adoption and fixes leave no copy of a moved secret', () => {
  it('only the secret store holds the token afterwards; the workspace gains nothing but the edits', async () => {
    const base = tempDir('mcpcp-no-copy-');
    dirs.push(base);
    const ws = makeRepo(join(base, 'ws'));
    const data = join(base, 'data');
    mkdirSync(join(ws, '.vscode'));
    mkdirSync(join(ws, '.mcpcp'));
    const mcpJson = join(ws, '.vscode', 'mcp.json');
    writeFileSync(mcpJson, JSON.stringify({ servers: { memory: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory@2025.4.25'], env: { MEMORY_API_TOKEN: TOKEN } } } }, null, 2));
    const yaml = join(ws, '.mcpcp', 'config.yaml');
    writeFileSync(yaml, `servers:\n  tickets:\n    command: node\n    args: ["t.js"]\n    env:\n      TICKETS_TOKEN: "${YAML_TOKEN}"\n`);
    const before = listing(ws);

    // The witness finds the tokens where they start.
    assert.deepEqual(holding(ws, TOKEN), ['.vscode/mcp.json']);
    assert.deepEqual(holding(ws, YAML_TOKEN), ['.mcpcp/config.yaml']);

    const secrets = new FileSecretStore(data, {});
    const recorder = new MemoryRecorder();
    const own = yamlOwnServers(join(base, 'own', 'config.yaml'));
    const parsed = parseMcpConfig(readFileSync(mcpJson, 'utf8'), locationForFile(mcpJson, readFileSync(mcpJson, 'utf8')));
    const plan = planAdoption(parsed, { existing: {}, secretNames: [] });
    const adopted = await adoptServers(plan, parsed, { secrets, servers: own, backupDir: backupRoot(data), approver: new ScriptedApprover(true), recorder, promptInput: async () => undefined });
    assert.ok(adopted.moved, 'moved out of .vscode/mcp.json');

    const report = await assessLocations([locationForFile(yaml, readFileSync(yaml, 'utf8'))], {});
    const finding = report.findings.find((f) => f.rule === 'plaintext-secret')!;
    const fixed = await applyRemediation(await prepareRemediation(report, finding.id, { secrets }), { secrets, backupDir: backupRoot(data), approver: new ScriptedApprover(true), recorder });
    assert.ok(fixed.backup);

    assert.deepEqual(holding(ws, TOKEN), [], 'no copy of the adopted token anywhere in the workspace');
    assert.deepEqual(holding(ws, YAML_TOKEN), [], 'nor of the remediated one');
    assert.deepEqual(listing(ws), before, 'no new file in the workspace: the backups are elsewhere');
    assert.deepEqual(holding(data, TOKEN), ['secrets.json'], 'the store holds it, the backups only its reference');
    assert.deepEqual(holding(data, YAML_TOKEN), ['secrets.json']);
    assert.ok(holding(data, '${secret:memory-api-token}').some((p) => p.startsWith('adopt-backups/')));
    assert.deepEqual(holding(join(base, 'own'), TOKEN), []);
    assert.ok(!JSON.stringify(recorder.records).includes(TOKEN) && !JSON.stringify(recorder.records).includes(YAML_TOKEN), 'nor in the audit records');
  });
});
