// Git hooks are programs from the repository: the git server runs only those a human allowed for
// that repository. The grant lives in the consent store (kind "git-hooks"), is given on a terminal
// with the approver credential, and reaches the git server as MCPCP_GIT_HOOKS_ALLOW, read here
// from the real child's environment (/proc/<pid>/environ).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { describe, it } from 'node:test';
import { waitFor } from '../../helpers/fixture-plane';
import { approverCredential, makeWorkspace, runCli, runCliOnTerminal, serve, type Workspace } from './harness';

function gitServerEnv(ws: Workspace): { pid: number; allow: string | undefined } | undefined {
  const status = JSON.parse(runCli(ws, ['status', '--json']).stdout) as { instances: Array<{ servers: Array<{ name: string; state: { kind: string; pid?: number } }> }> };
  const git = status.instances[0]?.servers.find((s) => s.name === 'git');
  if (git?.state.kind !== 'running' || git.state.pid === undefined) return undefined;
  const env = readFileSync(`/proc/${git.state.pid}/environ`, 'utf8').split('\0');
  const line = env.find((l) => l.startsWith('MCPCP_GIT_HOOKS_ALLOW='));
  return { pid: git.state.pid, allow: line?.slice('MCPCP_GIT_HOOKS_ALLOW='.length) };
}

describe('hostile workspace: git hooks need a human grant per repository', () => {
  it('the git server gets MCPCP_GIT_HOOKS_ALLOW from the consent store; only a human on a terminal grants or revokes', async () => {
    const ws = makeWorkspace();
    execFileSync('git', ['init', '-q', ws.dir]);
    const credential = approverCredential(ws);
    const s = serve(ws);
    try {
      await s.config;
      await waitFor(() => gitServerEnv(ws) !== undefined, 20_000, 'git running');
      const first = gitServerEnv(ws)!;
      assert.equal(first.allow, '[]', 'no hook is allowed by default');

      const piped = runCli(ws, ['consent', 'hooks', '--repo', ws.dir, '--hooks', 'pre-commit'], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.equal(piped.status, 1);
      assert.match(piped.stderr, /terminal/);
      const bogus = runCliOnTerminal(ws, ['consent', 'hooks', '--repo', ws.dir, '--hooks', 'pre-commit,evil'], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.match(bogus.output, /not a git hook: evil/);

      const human = runCliOnTerminal(ws, ['consent', 'hooks', '--repo', ws.dir, '--hooks', 'pre-commit,pre-push'], 'grant\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.equal(human.status, 0, human.output);
      await waitFor(() => gitServerEnv(ws)?.pid !== first.pid && gitServerEnv(ws) !== undefined, 20_000, 'git restarted with the grant');
      assert.deepEqual(JSON.parse(gitServerEnv(ws)!.allow!), [{ repo: realpathSync(ws.dir), hooks: ['pre-commit', 'pre-push'] }]);

      const id = (JSON.parse(runCli(ws, ['consent', 'list', '--json']).stdout) as { granted: Array<{ id: string; kind: string }> }).granted.find((g) => g.kind === 'git-hooks')!.id;
      const granted = gitServerEnv(ws)!;
      const revoke = runCliOnTerminal(ws, ['consent', 'revoke', id], 'revoke\n', { MCPCP_APPROVER_CREDENTIAL: credential });
      assert.equal(revoke.status, 0, revoke.output);
      await waitFor(() => gitServerEnv(ws)?.pid !== granted.pid && gitServerEnv(ws)?.allow === '[]', 20_000, 'git restarted without the grant');
    } finally {
      await s.stop();
    }
  });
});
