// scripts/ci-cold.sh runs .ci/run as on a new machine. It runs here on a small git repository
// holding a copy of the script and a .ci/run that records what it was given (environment, the
// clone's files) and exits with a chosen code. The caller's side is made as warm as it gets:
// .tools/ and node_modules/ in the checkout and on PATH, npm run's variables, an uncommitted file.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../../helpers/fixture-plane';

interface Seen { env: Record<string, string>; cwd: string; files: string[]; uncommitted: boolean; cacheEntries: string[]; homeEntries: string[] }

function run(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['scripts/ci-cold.sh', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('scripts/ci-cold.sh: a clean clone, fresh HOME, empty caches, a clean environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-ci-cold-'));
  const repo = join(dir, 'checkout');
  const seenPath = join(dir, 'seen.json');
  const runTmp = join(dir, 'tmp');
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  before(() => {
    mkdirSync(join(repo, 'scripts'), { recursive: true });
    mkdirSync(join(repo, '.ci'));
    mkdirSync(runTmp);
    copyFileSync(join(REPO_ROOT, 'scripts/ci-cold.sh'), join(repo, 'scripts/ci-cold.sh'));
    // The stand-in for .ci/run: records what it sees, prints step times, exits with $FAKE_CI_EXIT
    // (which ci-cold.sh does not pass on: the exit code comes from the committed file instead).
    writeFileSync(
      join(repo, '.ci/run'),
      `#!/usr/bin/env bash
node -e '
  const fs = require("fs");
  const ls = (d) => { try { return fs.readdirSync(d); } catch { return []; } };
  fs.writeFileSync(${JSON.stringify(seenPath)}, JSON.stringify({ env: process.env, cwd: process.cwd(), files: ls("."),
    uncommitted: fs.existsSync("uncommitted.txt"), cacheEntries: ls(process.env.MCPCP_CACHE_DIR), homeEntries: ls(process.env.HOME) }));'
echo "[ci] time npm test 3s 0m03s"
exit "$(cat exit-code)"
`,
    );
    chmodSync(join(repo, '.ci/run'), 0o755);
    writeFileSync(join(repo, 'exit-code'), '0\n');
    writeFileSync(join(repo, '.gitignore'), 'node_modules/\n.tools/\n');
    spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
    git('add', '-A');
    git('commit', '-qm', 'fixture');
    // A warm checkout: ignored .tools/ and node_modules/, and a change not committed.
    mkdirSync(join(repo, '.tools/node-22/bin'), { recursive: true });
    mkdirSync(join(repo, 'node_modules/.bin'), { recursive: true });
    writeFileSync(join(repo, 'uncommitted.txt'), 'not committed');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const warmEnv = () => ({
    PATH: `${join(repo, 'node_modules/.bin')}:${join(repo, '.tools/node-22/bin')}:/somewhere/npm/node-gyp-bin:${process.env.PATH}`,
    HOME: process.env.HOME,
    TMPDIR: runTmp,
    LANG: 'C.UTF-8',
    https_proxy: 'http://proxy.invalid:3128',
    MCPCP_CACHE_DIR: join(dir, 'warm-cache'),
    npm_config_user_agent: 'npm/11 node/v22.23.3 linux x64',
    npm_config_nodedir: join(repo, '.tools/node-22'),
    npm_lifecycle_event: 'test:all',
    NODE: '/outer/node',
  });

  it('runs .ci/run in a fresh clone of HEAD with a fresh HOME and an empty cache, and removes them after a pass', async () => {
    const r = await run(repo, [], warmEnv());
    assert.equal(r.code, 0, r.out);
    const seen = JSON.parse(readFileSync(seenPath, 'utf8')) as Seen;
    const cold = seen.cwd.slice(0, -'/repo'.length);
    assert.ok(seen.cwd.startsWith(join(runTmp, 'mcpcp-cold.')) && seen.cwd.endsWith('/repo'), seen.cwd);
    // The clone: committed files only, none of the checkout's ignored folders or uncommitted work.
    assert.ok(!seen.files.includes('.tools') && !seen.files.includes('node_modules'), seen.files.join(' '));
    assert.equal(seen.uncommitted, false);
    assert.match(r.out, /uncommitted changes .* are not part of this run/);
    // Fresh HOME and empty cache.
    assert.equal(seen.env.HOME, join(cold, 'home'));
    assert.deepEqual(seen.homeEntries, []);
    assert.equal(seen.env.MCPCP_CACHE_DIR, join(cold, 'mcpcp-cache'));
    assert.deepEqual(seen.cacheEntries, []);
    // The environment: none of npm run's variables, no PATH entry of the checkout, proxy kept.
    for (const key of ['npm_config_user_agent', 'npm_config_nodedir', 'npm_lifecycle_event', 'NODE', 'TMPDIR']) assert.equal(seen.env[key], undefined, key);
    const path = seen.env.PATH!.split(':');
    assert.ok(!path.some((p) => p.startsWith(repo) || p.includes('node_modules/.bin') || p.includes('node-gyp-bin')), seen.env.PATH);
    assert.equal(seen.env.https_proxy, 'http://proxy.invalid:3128');
    // The step times again at the end, then the clone, HOME and cache are gone; the log stays.
    assert.match(r.out, /\[ci-cold\] ---- .*\n\[ci\] time npm test 3s 0m03s\n\[ci-cold\] \.ci\/run exit 0/);
    assert.deepEqual(readdirSync(cold), ['ci.log']);
  });

  it('exits with .ci/run\'s code and keeps the folder when it fails', async () => {
    writeFileSync(join(repo, 'exit-code'), '3\n');
    git('commit', '-qam', 'fail');
    const r = await run(repo, [], warmEnv());
    assert.equal(r.code, 3, r.out);
    const seen = JSON.parse(readFileSync(seenPath, 'utf8')) as Seen;
    assert.ok(existsSync(seen.cwd), 'the failing clone is kept');
    assert.match(r.out, /\[ci-cold\] \.ci\/run exit 3 after \d+s\n\[ci-cold\] kept /);
  });
});
