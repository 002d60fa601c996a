// What a human sees headless when the workspace policy file goes away: `mcpcp status` says how many
// rules are kept and how to reload; the git server's denied tool stays denied through `mcpcp serve`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { firstText, waitFor } from '../../helpers/fixture-plane';
import { approverCredential, makeWorkspace, runCli, runCliOnTerminal, serve } from './harness';

describe('hostile workspace: kept policy rules in mcpcp status', () => {
  it('a deleted policy file: status shows "1 rule kept from a removed file" with the reload command; the rule holds until a human reloads', async () => {
    const ws = makeWorkspace();
    execFileSync('git', ['init', '-q', '-b', 'main', ws.dir]);
    const policy = join(ws.dir, '.mcpcp', 'policy.yaml');
    writeFileSync(policy, 'rules:\n  - { server: git, tool: branch_create, decision: deny, reason: "no branches here" }\n');
    const credential = approverCredential(ws);
    const s = serve(ws);
    try {
      const git = (await s.config).servers['git']!;
      rmSync(policy);
      await waitFor(() => /policy: 1 rule kept from a removed file .*policy\.yaml.*mcpcp policy reload/.test(runCli(ws, ['status']).stdout), 10_000, 'status to show the kept rule');
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(git.url), { requestInit: { headers: git.headers } }));
      const denied = await client.callTool({ name: 'branch_create', arguments: { repo: ws.dir, name: 'x' } });
      assert.equal(denied.isError, true);
      assert.match(firstText(denied), /no branches here/);
      assert.equal(runCliOnTerminal(ws, ['policy', 'reload'], 'reload\n', { MCPCP_APPROVER_CREDENTIAL: credential }).status, 0);
      await waitFor(() => !/rule kept/.test(runCli(ws, ['status']).stdout), 10_000, 'the reload');
      await client.close();
    } finally {
      await s.stop();
    }
  });
});
