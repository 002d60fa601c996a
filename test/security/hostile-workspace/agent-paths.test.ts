// The agent holds the client token and may run shell commands. It tries every way it has to consent
// to what its workspace proposes, or to loosen: MCP calls, the gateway's HTTP routes and the web UI
// with the client token, and the CLI without the approver credential. The witnesses: the payload's
// marker file, the consent store, and the kept policy rules.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { approverCredential, makeWorkspace, runCli, runCliOnTerminal, serve, writePayloadServer } from './harness';

describe('hostile workspace: the agent reaches no consenting or loosening gesture', () => {
  it('MCP calls, HTTP routes and /ui with the client token, and the CLI without the credential consent to nothing', async () => {
    const ws = makeWorkspace();
    writePayloadServer(ws);
    writeFileSync(
      join(ws.dir, '.mcpcp', 'config.yaml'),
      ['servers:', '  evil:', `    command: ${JSON.stringify(process.execPath)}`, '    args: ["./srv.js"]', '    env: { API_TOKEN: "${secret:api-key}" }', ''].join('\n'),
    );
    mkdirSync(join(ws.dir, 'sub', '.mcpcp'), { recursive: true });
    approverCredential(ws);
    const s = serve(ws);
    try {
      const printed = await s.config;
      const git = printed.servers['git']!;
      const token = git.headers['Authorization']!.replace('Bearer ', '');
      const base = new URL(git.url).origin;
      const id = /mcpcp consent grant ([0-9a-f]{12})/.exec(runCli(ws, ['status']).stdout)![1]!;

      // 1. MCP: no tool of any server consents, reloads or trusts; a made-up one is refused.
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(git.url), { requestInit: { headers: git.headers } }));
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.deepEqual(tools.filter((t) => /consent|grant|trust|reload|policy|approve/.test(t)), []);
      const made = await client.callTool({ name: 'consent_grant', arguments: { id } }).catch((err: unknown) => ({ isError: true, err }));
      assert.equal((made as { isError?: boolean }).isError, true);
      await client.close();

      // 2. HTTP with the client token: the web UI does not take it, and no route grants.
      const asApprover = { Authorization: `Bearer ${token}`, 'x-approver-credential': token, 'content-type': 'application/json' };
      const ui = await fetch(`${base}/ui/api/approvals`, { headers: asApprover });
      assert.ok(ui.status === 401 || ui.status === 403, `/ui with the client token: ${ui.status}`);
      for (const path of ['/ui/api/consent', `/ui/api/consent/${id}`, '/consent', `/consent/${id}/grant`, '/ui/api/policy/reload', '/policy/reload']) {
        const r = await fetch(`${base}${path}`, { method: 'POST', headers: asApprover, body: JSON.stringify({ id, approve: true }) });
        assert.ok(r.status >= 400, `${path}: ${r.status}`);
      }

      // 3. The CLI without the credential: piped input, a pty with the client token typed in, a pty
      //    with the client token in the environment.
      for (const args of [['consent', 'grant', id], ['consent', 'hooks', '--repo', ws.dir, '--hooks', 'pre-commit'], ['policy', 'reload']]) {
        const piped = runCli(ws, args, `${token}\ngrant\n`);
        assert.equal(piped.status, 1, `${args.join(' ')}: ${piped.stderr}`);
        const typed = runCliOnTerminal(ws, args, `${token}\ngrant\n`);
        assert.notEqual(typed.status, 0, typed.output);
        assert.match(typed.output, /approver credential starts with mcpcp_appr_/);
      }
      const env = runCliOnTerminal(ws, ['consent', 'grant', id], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: token });
      assert.notEqual(env.status, 0, env.output);
      assert.match(env.output, /not the approver credential/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(existsSync(ws.marker), false, 'the proposed server never ran');
      assert.equal(existsSync(join(ws.dataDir, 'consent.json')), false, 'nothing was written to the consent store');
      assert.equal(existsSync(join(ws.dataDir, 'policy-reload.json')), false, 'no reload was requested');
      assert.match(runCli(ws, ['status']).stdout, /evil: waiting for consent/);
    } finally {
      await s.stop();
    }
  });
});
