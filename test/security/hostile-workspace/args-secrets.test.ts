// `${secret:}` in a server's arguments ends up in the process list, readable by every local user.
// Adoption moves it into the environment where the server reads it there; otherwise a server with
// one starts only with a per-server opt-in (`allowSecretInArgs`, or the consent's own opt-in for a
// workspace proposal); the assessment flags it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { moveArgSecretsToEnv } from '../../../src/core/adopt/arg-secrets';
import { buildReport } from '../../../src/core/adopt/assess';
import { parseMcpConfig } from '../../../src/core/adopt/mcp-config';
import { waitFor } from '../../helpers/fixture-plane';
import { approverCredential, makeWorkspace, runCli, runCliOnTerminal, serve, SECRET, writePayloadServer } from './harness';

/** Command lines of every process whose arguments mention `needle` (what `ps` shows any local user). */
function processesShowing(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) out.push(`${pid}: ${cmd}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

describe('hostile workspace: secrets in arguments', () => {
  it('adoption moves a secret from the arguments into the environment where the server reads it; otherwise it stays and is reported', () => {
    const ctx7 = moveArgSecretsToEnv({ command: 'npx', args: ['-y', '@upstash/context7-mcp@1.0.0', '--api-key', '${secret:ctx7-api-key}'] });
    assert.deepEqual(ctx7.config.args, ['-y', '@upstash/context7-mcp@1.0.0']);
    assert.deepEqual(ctx7.config.env, { CONTEXT7_API_KEY: '${secret:ctx7-api-key}' });
    assert.deepEqual(ctx7.left, []);
    const eq = moveArgSecretsToEnv({ command: 'npx', args: ['-y', '@sentry/mcp-server@0.1.0', '--access-token=${secret:sentry}'] });
    assert.deepEqual(eq.config.args, ['-y', '@sentry/mcp-server@0.1.0']);
    assert.deepEqual(eq.config.env, { SENTRY_ACCESS_TOKEN: '${secret:sentry}' });
    const remote = moveArgSecretsToEnv({ command: 'npx', args: ['mcp-remote@0.1.0', 'https://mcp.example.com/sse', '--header', 'Authorization: Bearer ${secret:remote-token}'] });
    assert.deepEqual(remote.config.args, ['mcp-remote@0.1.0', 'https://mcp.example.com/sse', '--header', 'Authorization: Bearer ${MCPCP_ARG_SECRET_1}']);
    assert.deepEqual(remote.config.env, { MCPCP_ARG_SECRET_1: '${secret:remote-token}' });
    const unknown = moveArgSecretsToEnv({ command: 'my-tool', args: ['--token', '${secret:t}'] });
    assert.deepEqual(unknown.config.args, ['--token', '${secret:t}']);
    assert.deepEqual(unknown.left, [1]);
  });

  it('the assessment flags a secret in the arguments, by reference or in plain text', () => {
    const text = JSON.stringify({ servers: { a: { command: 'tool', args: ['--token', '${input:tok}'] }, b: { command: 'tool', args: ['--key', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'] }, c: { command: 'tool', args: ['--verbose'] } } });
    const parsed = parseMcpConfig(text, { path: '/w/.vscode/mcp.json', kind: 'vscode-workspace', scope: 'workspace' });
    const report = buildReport([parsed], []);
    const flagged = report.findings.filter((f) => f.rule === 'secret-in-args').map((f) => f.server).sort();
    assert.deepEqual(flagged, ['a', 'b']);
    assert.match(report.findings.find((f) => f.rule === 'secret-in-args')!.message, /process list|ps/);
  });

  it("an operator's server with ${secret:} in args does not start without allowSecretInArgs; with it, it does", async () => {
    const ws = makeWorkspace();
    writePayloadServer(ws);
    const configFile = join(ws.dir, '..', 'operator.yaml');
    const write = (optIn: boolean): void =>
      writeFileSync(configFile, ['servers:', '  git: { enabled: false }', '  tool:', `    command: ${JSON.stringify(process.execPath)}`, `    args: ["./srv.js", "--token", "\${secret:api-key}"]`, `    cwd: ${JSON.stringify(ws.dir)}`, ...(optIn ? ['    allowSecretInArgs: true'] : []), ''].join('\n'));
    write(false);
    let s = serve(ws, ['--config', configFile]);
    try {
      await s.config;
      const status = runCli(ws, ['status']);
      assert.match(status.stdout, /servers\.tool\.args: args\[2\] holds a \$\{secret:…\}.*allowSecretInArgs: true/);
      assert.equal(existsSync(ws.marker), false, 'the server did not run');
      assert.deepEqual(processesShowing(SECRET), [], 'the secret is in no process list');
    } finally {
      await s.stop();
    }
    write(true);
    s = serve(ws, ['--config', configFile]);
    try {
      await s.config;
      await waitFor(() => existsSync(ws.marker), 15_000, 'the opted-in server to start');
      assert.equal(readFileSync(ws.marker, 'utf8'), `ran::--token ${SECRET}\n`);
    } finally {
      await s.stop();
    }
  });

  it('a workspace proposal with a secret in args needs the opt-in at consent, which the dialog names', async () => {
    const ws = makeWorkspace();
    writePayloadServer(ws);
    writeFileSync(join(ws.dir, '.mcpcp', 'config.yaml'), ['servers:', '  git: { enabled: false }', '  tool:', `    command: ${JSON.stringify(process.execPath)}`, '    args: ["./srv.js", "${secret:api-key}"]', ''].join('\n'));
    const credential = approverCredential(ws);
    const s = serve(ws);
    try {
      await s.config;
      const id = /mcpcp consent grant ([0-9a-f]{12})/.exec(runCli(ws, ['status']).stdout)![1]!;
      const list = runCli(ws, ['consent', 'list']).stdout;
      assert.match(list, /secret in the arguments, visible to every local user in the process list: api-key/);
      assert.match(list, new RegExp(`mcpcp consent grant ${id} --allow-secret-in-args`));
      const without = runCliOnTerminal(ws, ['consent', 'grant', id], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.notEqual(without.status, 0);
      assert.match(without.output, /grant with --allow-secret-in-args/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(existsSync(ws.marker), false);
      const human = runCliOnTerminal(ws, ['consent', 'grant', id, '--allow-secret-in-args'], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.equal(human.status, 0, human.output);
      await waitFor(() => existsSync(ws.marker), 15_000, 'the consented server to start');
      assert.equal(readFileSync(ws.marker, 'utf8'), `ran::${SECRET}\n`);
    } finally {
      await s.stop();
    }
  });
});
