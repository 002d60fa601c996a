// Adopting @modelcontextprotocol/server-everything from a workspace .vscode/mcp.json that VS Code
// itself would run: the plan shows the exact command; its ${input:} is asked once and kept in the
// secret store; the entry is written disabled until the move out of mcp.json is approved (never two
// copies running); then, supervised over stdio behind the gateway, its sampling and elicitation
// requests reach the calling client.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { adoptServers, backupRoot, locationForFile, planAdoption, readMcpConfig, renderPlan, type SourceInput } from '../../../src/core/adopt';
import { loadConfigFile } from '../../../src/core/config/load';
import { firstText, waitFor } from '../../helpers/fixture-plane';
import { serverBin, startAdoptPlane } from './harness';

const API_KEY = 'everything-input-value-0123456789';

describe('adopting server-everything from .vscode/mcp.json', () => {
  it('asks the input once, runs nothing twice, and passes sampling and elicitation to the client', async () => {
    const t = await startAdoptPlane({ rules: [{ server: 'everything', decision: 'allow' }] });
    try {
      const source = join(t.project, '.vscode', 'mcp.json');
      mkdirSync(join(t.project, '.vscode'));
      writeFileSync(source, `{
  // Inputs are asked by VS Code when the server starts.
  "inputs": [{ "type": "promptString", "id": "api-key", "description": "Everything API key", "password": true }],
  "servers": {
    "everything": {
      "type": "stdio",
      "command": "node",
      "args": ["${serverBin('server-everything')}", "stdio"],
      "env": { "EVERYTHING_API_KEY": "\${input:api-key}", "PROJECT_DIR": "\${workspaceFolder}" },
    },
  },
}
`);
      const parsed = (await readMcpConfig(locationForFile(source, readFileSync(source, 'utf8'))))!;
      const plan = planAdoption(parsed, { existing: await t.own.read(), secretNames: await t.secrets.list() });
      assert.equal(plan.editorRunsFile, true);
      const text = renderPlan(plan);
      assert.match(text, new RegExp(`runs: node ${serverBin('server-everything').replace(/[.]/g, '\\.')} stdio`));
      assert.match(text, /env EVERYTHING_API_KEY=\$\{secret:everything-api-key\}/);
      assert.match(text, new RegExp(`env PROJECT_DIR=${t.project}`));

      const asked: SourceInput[] = [];
      const adopting = adoptServers(plan, parsed, {
        secrets: t.secrets,
        servers: t.own,
        backupDir: backupRoot(t.dataDir),
        approver: t.plane.oversight,
        recorder: t.plane.oversight,
        promptInput: async (input) => {
          asked.push(input);
          return API_KEY;
        },
      });
      adopting.catch(() => undefined);
      await waitFor(() => t.plane.oversight.store.list().length === 1, 10_000, 'the move approval');
      const move = t.plane.oversight.store.list()[0]!;
      assert.equal(move.tool, 'adopt_move_servers');
      assert.match(JSON.stringify(move.preview), /-\s+\\"everything\\": \{/);
      assert.equal((await loadConfigFile(t.configFile)).servers['everything']?.enabled, false, 'adopted disabled while VS Code still runs it');
      assert.equal(t.plane.supervisor.get('everything'), undefined, 'so it does not run twice');
      await t.plane.oversight.decide({ approvalId: move.id, digest: move.digest, approve: true }, { kind: 'vscode-ui' });
      const result = await adopting;
      assert.deepEqual(asked.map((i) => i.id), ['api-key'], 'asked once');
      assert.equal(await t.secrets.get('everything-api-key'), API_KEY);
      assert.equal(result.moveError, undefined);
      assert.deepEqual(result.disabled, []);
      assert.ok(result.moved);
      assert.doesNotMatch(readFileSync(source, 'utf8'), /"everything"/, 'moved out of mcp.json');
      assert.match(readFileSync(source, 'utf8'), /\/\/ Inputs are asked by VS Code/, 'the rest of the file and its comments stay');
      assert.equal((await loadConfigFile(t.configFile)).servers['everything']?.enabled, undefined);

      await t.plane.supervisor.get('everything')!.waitUntilServing(20_000);
      const client = await t.connect('everything', { sampling: {}, elicitation: {} });
      await waitFor(async () => (await client.listTools()).tools.some((x) => x.name === 'trigger-sampling-request'), 10_000, 'the tools it registers once it knows the capabilities');

      const echo = await client.callTool({ name: 'echo', arguments: { message: 'through the gateway' } });
      assert.match(firstText(echo), /through the gateway/);
      const env = JSON.parse(firstText(await client.callTool({ name: 'get-env', arguments: {} }))) as Record<string, string>;
      // The child has exactly the secret (only that value is masked so), and its echo of it never
      // reaches the agent (see test/security/secret-echo).
      assert.equal(env['EVERYTHING_API_KEY'], '[SECRET]', 'the secret reaches the child as its env names it, and is masked on the way back');
      assert.ok(!JSON.stringify(env).includes(API_KEY));
      assert.equal(env['PROJECT_DIR'], t.project);

      client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({ role: 'assistant', model: 'test-model', content: { type: 'text', text: `sampled: ${JSON.stringify(req.params.messages[0]?.content)}` } }));
      const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello from the test' } });
      assert.match(firstText(sampled), /sampled: .*hello from the test/);
      assert.match(firstText(sampled), /test-model/);

      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        assert.match(req.params.message, /Please provide inputs/);
        return { action: 'accept', content: { name: 'Ada Lovelace', check: true } };
      });
      const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      const all = (elicited.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
      assert.match(all, /User provided the requested information/);
      assert.match(all, /Name: Ada Lovelace/);

      const audit = t.auditText();
      assert.ok(audit.includes('"sampling.requested"') && audit.includes('"elicitation.requested"'));
      assert.ok(!audit.includes(API_KEY));
    } finally {
      await t.stop();
    }
  });
});
