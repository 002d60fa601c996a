// The new user's path: a project's .mcp.json runs @modelcontextprotocol/server-memory with an API
// token in plain text. The assessment finds it; its remediation (adopt the server) is approved
// by a human in the approvals UI, which shows the diff; afterwards the server runs under the
// control plane's supervision, its tools answer through the gateway (writes need an approval, as
// for any third-party server), the token is in the secret store and no longer in the file, every
// step is in the audit log, and the backup brings the old file back.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyRemediation, assessLocations, backupRoot, listBackups, locationForFile, prepareRemediation, restoreBackup } from '../../../src/core/adopt';
import { loadConfigFile } from '../../../src/core/config/load';
import { firstText, waitFor } from '../../helpers/fixture-plane';
import { serverBin, startAdoptPlane } from './harness';

const TOKEN = 'ghp_FAKEfakeFAKEfake0123456789memoryABCD';

describe('adopting server-memory from .mcp.json', () => {
  it('ends with the server supervised, its tools behind the gateway, and no token left in the file', async () => {
    const t = await startAdoptPlane();
    try {
      const source = join(t.project, '.mcp.json');
      const memoryFile = join(t.project, 'memory.jsonl');
      writeFileSync(source, `${JSON.stringify({ mcpServers: { memory: { command: 'node', args: [serverBin('server-memory')], env: { MEMORY_FILE_PATH: memoryFile, MEMORY_API_TOKEN: TOKEN } } } }, null, 2)}\n`);
      const original = readFileSync(source, 'utf8');

      const report = await assessLocations([locationForFile(source, original)], { secretNames: await t.secrets.list() });
      const finding = report.findings.find((f) => f.rule === 'plaintext-secret' && f.server === 'memory')!;
      assert.equal(finding.severity, 'critical');
      assert.equal(finding.location.pointer, '/mcpServers/memory/env/MEMORY_API_TOKEN');
      assert.equal(finding.remediation?.kind, 'adopt-server');
      assert.ok(report.findings.some((f) => f.rule === 'missing-timeout' && f.server === 'memory'));

      const prepared = await prepareRemediation(report, finding.id, { secrets: t.secrets, ownServers: t.own });
      const applying = applyRemediation(prepared, { secrets: t.secrets, ownServers: t.own, backupDir: backupRoot(t.dataDir), approver: t.plane.oversight, recorder: t.plane.oversight });
      applying.catch(() => undefined); // awaited below; a failed assertion before that must not mask itself

      // The human sees the change in the approvals UI, as a diff without the token, and approves it.
      await waitFor(() => t.plane.oversight.store.list().length === 1, 10_000, 'the remediation approval');
      const approval = t.plane.oversight.store.list()[0]!;
      assert.equal(approval.server, 'mcpcp');
      assert.equal(approval.tool, 'remediation_adopt_server');
      const preview = JSON.stringify(approval.preview);
      assert.match(preview, /--- a\/.*\.mcp\.json/);
      assert.match(preview, /MEMORY_API_TOKEN.*\[secret memory-api-token\]/);
      assert.match(preview, /\+ +\\"MEMORY_API_TOKEN\\": /, 'the new entry in the control plane\'s config');
      assert.match(preview, /moves env.MEMORY_API_TOKEN \(plain text, github-token\) into the secret store as memory-api-token/);
      assert.ok(!preview.includes(TOKEN), 'the preview never shows the token');
      assert.equal(t.plane.supervisor.get('memory'), undefined, 'nothing runs before the approval');
      await t.plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      const result = await applying;
      assert.deepEqual(result.adopted, ['memory']);

      // The file no longer holds the token (nor the entry); the store does; the config references it.
      const after = readFileSync(source, 'utf8');
      assert.ok(!after.includes(TOKEN));
      assert.deepEqual(JSON.parse(after), { mcpServers: {} });
      assert.equal(await t.secrets.get('memory-api-token'), TOKEN);
      assert.ok(!readFileSync(t.configFile, 'utf8').includes(TOKEN));
      const adopted = (await loadConfigFile(t.configFile)).servers['memory']!;
      assert.deepEqual(adopted.env, { MEMORY_FILE_PATH: memoryFile, MEMORY_API_TOKEN: '${secret:memory-api-token}' });
      assert.deepEqual(adopted.adoptedFrom, { file: source, name: 'memory' });

      // Under supervision, behind the gateway.
      const server = t.plane.supervisor.get('memory')!;
      await server.waitUntilServing(20_000);
      const pid = server.status.state.kind === 'running' ? server.status.state.pid : undefined;
      assert.ok(pid, 'a supervised child');
      const client = await t.connect('memory');
      const tools = (await client.listTools()).tools.map((x) => x.name);
      assert.ok(tools.includes('create_entities') && tools.includes('read_graph'), tools.join(','));

      // A third-party write waits for a human; a read passes.
      const creating = client.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'gateway', entityType: 'component', observations: ['adopted by the control plane'] }] } });
      await waitFor(() => t.plane.oversight.store.list().length === 1, 10_000, 'the create_entities approval');
      const write = t.plane.oversight.store.list()[0]!;
      assert.equal(write.server, 'memory');
      assert.equal(write.tool, 'create_entities');
      await t.plane.oversight.decide({ approvalId: write.id, digest: write.digest, approve: true }, { kind: 'vscode-ui' });
      const created = await creating;
      assert.equal(created.isError, undefined, firstText(created));
      const graph = await client.callTool({ name: 'read_graph', arguments: {} });
      assert.match(firstText(graph), /adopted by the control plane/);
      assert.ok(existsSync(memoryFile), 'the server wrote where its env said');

      // Audited: the adoption, the move, the remediation; never the token.
      const audit = t.auditText();
      for (const action of ['"adopt_servers"', '"adopt_move_servers"', '"remediation_adopt_server"', '"create_entities"']) assert.ok(audit.includes(action), action);
      assert.ok(!audit.includes(TOKEN), 'no token in the audit log');

      // The backup is in the data directory, with the token replaced by its reference; it restores
      // the old file that way.
      assert.deepEqual(await listBackups(backupRoot(t.dataDir), source), [result.backup]);
      assert.ok(result.backup!.startsWith(backupRoot(t.dataDir)));
      assert.ok(!readFileSync(result.backup!, 'utf8').includes(TOKEN), 'no copy of the token left behind');
      await restoreBackup(result.backup!);
      assert.equal(readFileSync(source, 'utf8'), original.replace(TOKEN, '${secret:memory-api-token}'));
    } finally {
      await t.stop();
    }
  });
});
