// git push: a rule on where a push lands (issue 13, item 2). Reproduced first with the `args` rule
// the README used to show (the remote repository's refs are the witness), then closed with an
// `effect` rule. Through the real gateway, a real MCP client and the built git server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { defaultConfig } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import type { PolicyRule } from '../../../src/core/policy';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, firstText } from '../../helpers/fixture-plane';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
function git(cwd: string, ...args: string[]): string {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8', env: ENV });
  assert.equal(run.status, 0, `git ${args.join(' ')}: ${run.stderr}`);
  return run.stdout.trim();
}

let dir: string;
let work: string;
let remote: string;
let plane: ControlPlane;
let client: Client;

const remoteRef = (ref: string): string => spawnSync('git', ['rev-parse', '--verify', '-q', ref], { cwd: remote, encoding: 'utf8' }).stdout.trim();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcpcp-push-'));
  remote = join(dir, 'remote.git');
  git(dir, 'init', '-q', '--bare', '-b', 'main', remote);
  work = join(dir, 'work');
  git(dir, 'init', '-q', '-b', 'main', work);
  writeFileSync(join(work, 'a.txt'), 'one\n');
  git(work, 'add', 'a.txt');
  git(work, 'commit', '-q', '-m', 'first');
  git(work, 'remote', 'add', 'origin', remote);
  git(work, 'push', '-q', 'origin', 'main');
  git(work, 'fetch', '-q', 'origin');
  git(work, 'branch', '--set-upstream-to=origin/main', 'main');
  // An unreviewed commit on a feature branch.
  git(work, 'switch', '-q', '-c', 'feature');
  writeFileSync(join(work, 'a.txt'), 'unreviewed\n');
  git(work, 'commit', '-q', '-am', 'unreviewed change');
  git(work, 'switch', '-q', 'main');
  writeFileSync(join(work, 'a.txt'), 'also unreviewed\n');
  git(work, 'commit', '-q', '-am', 'unreviewed on main');
  const stateDir = join(dir, 'state');
  plane = await ControlPlane.start({
    config: { ...defaultConfig(), servers: {} },
    host: {
      serversDir: join(REPO_ROOT, 'dist/servers'),
      nodePath: process.execPath,
      runAsNode: false,
      env: { PATH: process.env['PATH'] ?? '', HOME: dir },
      secrets: new FileSecretStore(stateDir, {}),
      workspaceTrusted: true,
      defaultCwd: work,
      rootPaths: [work],
      stateDir,
    },
    roots: () => [{ uri: `file://${work}`, name: 'work' }],
    stateDir,
    instancePrefix: 'push',
    policyLayer: 'user',
  });
  await plane.supervisor.get('git')!.waitUntilServing(20_000);
  client = new Client({ name: 'agent', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('git')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
});

after(async () => {
  await client?.close().catch(() => undefined);
  await plane?.stop();
});

const setRules = (user: PolicyRule[]): void => plane.policy.setBase({ user, readOnlyMode: false });
const allowFeature: PolicyRule = { server: 'git', tool: 'push', args: { branch: { matches: 'feature*' } }, decision: 'allow' };

describe('git push: a rule on main', () => {
  it('an args rule is dodged by remoteBranch (reproduced), an effect rule is not', async () => {
    const mainBefore = remoteRef('refs/heads/main');
    setRules([{ server: 'git', tool: 'push', args: { branch: { equals: 'main' } }, decision: 'deny' }, allowFeature]);
    const dodged = await client.callTool({ name: 'push', arguments: { branch: 'feature', remoteBranch: 'main' } });
    assert.notEqual(dodged.isError, true, firstText(dodged));
    assert.equal(remoteRef('refs/heads/main'), git(work, 'rev-parse', 'feature'), 'the bypass is real: the unreviewed commit is on the remote main');
    // Put the remote back.
    spawnSync('git', ['update-ref', 'refs/heads/main', mainBefore], { cwd: remote });

    setRules([{ server: 'git', tool: 'push', effect: { destinationRef: { equals: 'refs/heads/main' } }, decision: 'deny', reason: 'main is updated by review only' }, allowFeature]);
    for (const args of [{ branch: 'feature', remoteBranch: 'main' }, {}, { branch: 'main' }, { remote: 'origin' }]) {
      const r = await client.callTool({ name: 'push', arguments: args });
      assert.equal(r.isError, true, JSON.stringify(args));
      assert.match(firstText(r), /main is updated by review only/, JSON.stringify(args));
    }
    assert.equal(remoteRef('refs/heads/main'), mainBefore, 'the remote main did not move');
    // The feature branch itself may still be pushed.
    const feature = await client.callTool({ name: 'push', arguments: { branch: 'feature' } });
    assert.notEqual(feature.isError, true, firstText(feature));
    assert.equal(remoteRef('refs/heads/feature'), git(work, 'rev-parse', 'feature'));
  });

  it('the approval names the remote URL, the commit and the destination; a commit made in between is refused', async () => {
    setRules([]);
    const mainBefore = remoteRef('refs/heads/main');
    const pushing = client.callTool({ name: 'push', arguments: {} });
    let approval;
    for (let i = 0; i < 200 && !(approval = plane.oversight.store.list()[0]); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(approval, 'the push waits for a human');
    assert.equal(approval.effect?.['destinationRef'], 'refs/heads/main');
    assert.equal(approval.effect?.['sourceSha'], git(work, 'rev-parse', 'main'));
    assert.match(String(approval.effect?.['remoteUrl']), /remote\.git/);
    writeFileSync(join(work, 'a.txt'), 'sneaked in after the approval was asked\n');
    git(work, 'commit', '-q', '-am', 'sneaked in');
    await plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
    const result = await pushing;
    assert.equal(result.isError, true);
    assert.match(firstText(result), /no longer what was checked and approved|changed/);
    assert.equal(remoteRef('refs/heads/main'), mainBefore, 'nothing was pushed');
  });
});
