// .ci/run times its steps and still runs the README's command (`npm run test:all`). It runs here,
// copied with .ci/node.sh and scripts/apt.sh into a small project whose `test` and `test:vscode`
// scripts take a second each and fail on demand: the step times, the budget warnings and the exit
// code are checked on the real script's output.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../../helpers/fixture-plane';

function run(cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['.ci/run'], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** `[ci] time <step> <seconds>s ...` lines as step -> seconds. */
function times(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const match of out.matchAll(/^\[ci\] time (.+?) +(\d+)s +\d+m\d\ds$/gm)) m.set(match[1]!, Number(match[2]));
  return m;
}

describe('.ci/run: step times, budgets, exit code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-ci-run-'));
  const step = (name: string, exitVar: string) =>
    `node -e "console.log('${name} ran'); setTimeout(() => process.exit(Number(process.env.${exitVar} || 0)), 1100)"`;
  before(() => {
    for (const f of ['.ci/run', '.ci/node.sh', 'scripts/apt.sh']) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      copyFileSync(join(REPO_ROOT, f), join(dir, f));
    }
    const pkg = { name: 'ci-run-probe', version: '1.0.0', private: true, scripts: {
      test: step('npm-test', 'FAKE_TEST_EXIT'),
      'test:vscode': step('vscode-suite', 'FAKE_VSCODE_EXIT'),
      'test:all': 'npm test && npm run test:vscode',
    } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages: { '': { name: pkg.name, version: pkg.version } } }, null, 2));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Node >= 22 first on PATH, so .ci/node.sh fetches nothing; no apt step (nothing to install here).
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, MCPCP_CI_APT: '0' };

  it('a passing run prints every step\'s time and exits 0', async () => {
    const r = await run(dir, env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /npm-test ran/);
    assert.match(r.out, /vscode-suite ran/);
    const t = times(r.out);
    assert.deepEqual([...t.keys()], ['node setup', 'apt', 'npm ci', 'npm test', 'VS Code suite', 'total']);
    assert.ok(t.get('npm test')! >= 1 && t.get('VS Code suite')! >= 1, r.out);
    assert.ok(t.get('total')! >= t.get('npm test')! + t.get('VS Code suite')!, r.out);
    assert.doesNotMatch(r.out, /WARNING/);
    assert.match(r.out, /^\[ci\] exit 0$/m);
  });

  it('warns when npm test or the whole run is over its budget', async () => {
    const r = await run(dir, { ...env, MCPCP_CI_NPM_TEST_BUDGET: '0', MCPCP_CI_RUN_BUDGET: '0' });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^\[ci\] WARNING: npm test took 0m0\ds, more than 0 minutes/m);
    assert.match(r.out, /^\[ci\] WARNING: the run took \dm\d\ds, more than 0 minutes \(CI's hard limit is 90\)/m);
  });

  it('a failing npm test stops the run with its exit code; the VS Code suite does not start', async () => {
    const r = await run(dir, { ...env, FAKE_TEST_EXIT: '3' });
    assert.notEqual(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /vscode-suite ran/);
    const t = times(r.out);
    assert.ok(t.has('npm test') && !t.has('VS Code suite'), r.out);
    assert.match(r.out, new RegExp(`^\\[ci\\] exit ${r.code}$`, 'm'));
  });

  it('a failing VS Code suite fails the run, both parts timed', async () => {
    const r = await run(dir, { ...env, FAKE_VSCODE_EXIT: '4' });
    assert.notEqual(r.code, 0, r.out);
    const t = times(r.out);
    assert.ok(t.has('npm test') && t.has('VS Code suite'), r.out);
  });
});
