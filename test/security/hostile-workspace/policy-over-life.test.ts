// The workspace policy only tightens over the life of an instance. The attack on the old main: an
// untracked `.mcpcp/policy.yaml` denied a tool; the agent called `stash_push {includeUntracked:
// true}` (allowed without approval), which removed the file, and the denied tool then ran. Here the
// same calls go through the gateway to the real git server: the file is gone, the rule is not.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { rotateApproverCredential } from '../../../src/core/approvals';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, firstText, waitFor } from '../../helpers/fixture-plane';
import { runCli, runCliOnTerminal, type Workspace } from './harness';

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } });

function policy(rules: string[], readOnly = false): string {
  return `${readOnly ? 'readOnlyMode: true\n' : ''}rules:\n${rules.map((r) => `  - ${r}`).join('\n')}\n`;
}

describe('hostile workspace: the workspace policy only tightens over an instance\'s life', () => {
  it('stash_push {includeUntracked} removes the untracked policy file, but its deny stays; loosening keeps old rules; tightening and new files apply at once; a human reloads', async () => {
    const base = mkdtempSync(join(tmpdir(), 'mcpcp-policy-life-'));
    const repo = join(base, 'repo');
    const stateDir = join(base, 'data');
    mkdirSync(repo);
    mkdirSync(stateDir, { mode: 0o700 });
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), 'hello\n');
    git(repo, 'add', 'README.md');
    git(repo, 'commit', '-qm', 'init');
    mkdirSync(join(repo, '.mcpcp'));
    const policyFile = join(repo, '.mcpcp', 'policy.yaml');
    writeFileSync(policyFile, policy(['{ server: git, tool: branch_create, decision: deny, reason: "no new branches in this repository" }']));

    const plane = await ControlPlane.start({
      config: defaultConfig(),
      host: {
        serversDir: join(REPO_ROOT, 'dist/servers'),
        nodePath: process.execPath,
        runAsNode: false,
        env: { PATH: process.env['PATH'] ?? '', HOME: base, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' },
        secrets: new FileSecretStore(stateDir, {}),
        workspaceTrusted: true,
        defaultCwd: repo,
        rootPaths: [repo],
        stateDir,
      },
      roots: () => [{ uri: pathToFileURL(repo).href, name: 'repo' }],
      stateDir,
      instancePrefix: 'test',
      policyLayer: 'config',
    });
    const client = new Client({ name: 'agent', version: '1' });
    try {
      await plane.supervisor.get('git')!.waitUntilServing(20_000);
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('git')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      const call = async (name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> => {
        const r = await client.callTool({ name, arguments: { repo, ...args } });
        return { isError: r.isError === true, text: firstText(r) };
      };
      const branches = (): string => git(repo, 'branch', '--list');
      // Waiting for a file change to apply asks the policy in force (polling with a real call could run it).
      const denies = (tool: string): boolean => plane.policy.engine().evaluate({ kind: 'tool', server: 'git', name: tool, builtin: true, annotations: { readOnlyHint: false, destructiveHint: false }, args: {} }).decision === 'deny';

      const denied = await call('branch_create', { name: 'evil' });
      assert.equal(denied.isError, true);
      assert.match(denied.text, /no new branches/);

      // The attack: stash the untracked policy file away (no approval needed for stash_push).
      const stash = await call('stash_push', { includeUntracked: true });
      assert.equal(stash.isError, false, stash.text);
      assert.equal(existsSync(policyFile), false, 'the attack removed the policy file');
      await waitFor(() => plane.policy.keptSummary().length === 1, 5_000, 'the removal to be noticed');
      const after = await call('branch_create', { name: 'evil' });
      assert.equal(after.isError, true, `the removed file's rule still holds: ${after.text}`);
      assert.doesNotMatch(branches(), /evil/, 'no branch was created');
      assert.deepEqual(plane.policy.keptSummary(), [{ file: policyFile, rules: 1, readOnlyMode: false, removed: true }]);
      assert.match(plane.policy.problems().join('\n'), /1 rule kept from a removed file .*policy\.yaml.*until a human reloads/);

      // The file comes back loosened (the deny gone, an allow for everything): the old deny is kept beside it.
      mkdirSync(join(repo, '.mcpcp'));
      writeFileSync(policyFile, policy(['{ server: git, tool: tag_create, decision: deny }', '{ server: git, tool: "*", decision: allow }']));
      await waitFor(() => denies('tag_create'), 5_000, 'the new file to load');
      assert.equal((await call('tag_create', { name: 'v1' })).isError, true);
      assert.equal((await call('branch_create', { name: 'evil' })).isError, true, 'loosening keeps the old rule');
      assert.doesNotMatch(git(repo, 'tag', '--list'), /v1/);

      // A tightening edit (a deny added) applies at once.
      writeFileSync(policyFile, policy(['{ server: git, tool: tag_create, decision: deny }', '{ server: git, tool: add, decision: deny }', '{ server: git, tool: "*", decision: allow }']));
      writeFileSync(join(repo, 'new.txt'), 'x\n');
      await waitFor(() => denies('add'), 5_000, 'the tightening edit to apply');
      assert.equal((await call('add', { paths: ['new.txt'] })).isError, true);
      assert.equal(git(repo, 'diff', '--cached', '--name-only').trim(), '', 'nothing was staged');

      // Editing that deny away again (the file stays) is a loosening: the version with it is kept.
      writeFileSync(policyFile, policy(['{ server: git, tool: tag_create, decision: deny }', '{ server: git, tool: "*", decision: allow }']));
      // (Since the file came back, 1 rule, the removed file's deny, was kept: the loosening adds the
      // version with the add deny beside it; waiting for just any kept entry raced the watcher.)
      await waitFor(() => plane.policy.keptSummary().some((k) => !k.removed && k.rules > 1), 5_000, 'the loosening edit to be noticed');
      assert.equal((await call('add', { paths: ['new.txt'] })).isError, true, 'the removed deny still holds');
      assert.equal(git(repo, 'diff', '--cached', '--name-only').trim(), '');

      // A policy file in a folder that had no .mcpcp/ at start, created after start.
      const sub = join(repo, 'services', 'billing');
      mkdirSync(sub, { recursive: true });
      await new Promise((r) => setTimeout(r, 200));
      mkdirSync(join(sub, '.mcpcp'));
      writeFileSync(join(sub, '.mcpcp', 'policy.yaml'), policy(['{ server: git, tool: commit, decision: deny, reason: "billing forbids commits" }']));
      await waitFor(() => denies('commit'), 5_000, 'the new nested file to apply');
      assert.match((await call('commit', { message: 'x' })).text, /billing forbids commits/);
      assert.equal(git(repo, 'rev-list', '--count', 'HEAD').trim(), '1', 'no commit was made');

      // The agent's ways to reload: none through MCP (no such tool), none with the client token in
      // the CLI (agent-paths.test.ts tries /ui). A human with the approver credential on a terminal reloads.
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(!tools.some((t) => /policy|reload|consent/.test(t)), tools.join(','));
      const ws: Workspace = { dir: repo, dataDir: stateDir, marker: join(base, 'none') };
      const piped = runCli(ws, ['policy', 'reload'], 'reload\n', { MCPCP_APPROVER_CREDENTIAL: plane.gateway.token });
      assert.equal(piped.status, 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(plane.policy.keptSummary().length, 1, 'still kept');
      const { credential } = await rotateApproverCredential(stateDir);
      const human = runCliOnTerminal(ws, ['policy', 'reload'], 'reload\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.equal(human.status, 0, human.output);
      await waitFor(() => plane.policy.keptSummary().length === 0, 5_000, 'the reload');
      const now = await call('branch_create', { name: 'allowed-now' });
      assert.equal(now.isError, false, now.text);

      // Every change is in the audit log.
      const audit = readdirSync(join(stateDir, 'audit')).map((f) => readFileSync(join(stateDir, 'audit', f), 'utf8')).join('');
      for (const what of [/policy\.yaml removed/, /policy\.yaml loaded/, /policy\.yaml loosened/, /workspace policy found: .*billing/, /reloaded by a human/]) assert.match(audit, what);
    } finally {
      await client.close().catch(() => undefined);
      await plane.stop();
    }
  });
});
