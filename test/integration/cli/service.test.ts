// `mcpcp service install|uninstall`: the systemd user unit is checked by systemd's own
// `systemd-analyze verify` (these machines run no systemd; .ci/run installs the `systemd` package),
// and its ExecStart, run as systemd would split it, serves.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { REPO_ROOT, fixtureScript } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');

function cli(args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
}

/** systemd's command-line splitting for the quoting the unit uses: "…" with \ escapes, %% and $$. */
function splitExec(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push((m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!).replace(/%%/g, '%').replace(/\$\$/g, '$'));
  return words;
}

function verify(unit: string, home: string): { status: number | null; output: string } {
  const runtime = join(home, 'run');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const run = spawnSync('systemd-analyze', ['--user', 'verify', unit], { encoding: 'utf8', env: { ...process.env, HOME: home, XDG_RUNTIME_DIR: runtime } });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('mcpcp service install|uninstall (systemd user unit)', () => {
  it('refuses without --config; writes a unit systemd-analyze verifies, whose ExecStart serves; uninstall removes only its own unit', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mcpcp-svc-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: '' };
    const unit = join(home, '.config', 'systemd', 'user', 'mcpcp.service');

    const bare = cli(['service', 'install'], env);
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /needs --config FILE: a service has no terminal to consent to a workspace configuration/);
    assert.equal(existsSync(unit), false);

    // A folder with a space, a percent sign and a dollar: systemd's quoting and specifiers.
    const configDir = join(home, 'my conf %h $HOME');
    mkdirSync(configDir);
    const config = join(configDir, 'config.yaml');
    writeFileSync(config, 'servers:\n  fx:\n    comand: node\n');
    const invalid = cli(['service', 'install', '--config', config], env);
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /unknown field "comand"/);
    assert.equal(existsSync(unit), false, 'an invalid configuration writes no unit');

    writeFileSync(config, `servers:\n  git: { enabled: false }\n  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }\n`);
    const dataDir = join(home, 'data');
    const install = cli(['service', 'install', '--config', config, '--data-dir', dataDir, '--port', '0'], env);
    assert.equal(install.status, 0, install.stderr);
    assert.equal(install.stdout.trim(), `wrote ${unit}`);
    assert.match(install.stderr, /systemctl --user enable --now mcpcp/);
    const text = readFileSync(unit, 'utf8');
    assert.match(text, /^ExecReload=\/(usr\/)?bin\/kill -HUP \$MAINPID$/m);
    assert.match(text, /^WantedBy=default\.target$/m);

    const checked = verify(unit, home);
    assert.equal(checked.status, 0, checked.output);
    // The check is real: the same unit with a missing program fails it.
    const broken = join(home, 'broken.service');
    writeFileSync(broken, text.replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/node'));
    const failed = verify(broken, home);
    assert.notEqual(failed.status, 0);
    assert.match(failed.output, /\/nonexistent\/node is not executable/);

    // Run ExecStart as systemd would (words split and unescaped): it serves the named config.
    const exec = splitExec(/^ExecStart=(.*)$/m.exec(text)![1]!);
    assert.deepEqual(exec.slice(2), ['serve', '--config', config, '--data-dir', dataDir, '--port', '0']);
    const child = spawn(exec[0]!, [...exec.slice(1), '--print-client-config'], { cwd: configDir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      assert.deepEqual(Object.keys((JSON.parse(line) as { servers: object }).servers), ['fx']);
      const status = cli(['status', '--data-dir', dataDir], env);
      assert.equal(status.status, 0, status.stdout);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }

    const again = cli(['service', 'install', '--config', config], env);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists; pass --force/);
    assert.equal(cli(['service', 'install', '--config', config, '--force'], env).status, 0);

    const uninstall = cli(['service', 'uninstall'], env);
    assert.equal(uninstall.status, 0, uninstall.stderr);
    assert.equal(existsSync(unit), false);
    writeFileSync(unit, '[Service]\nExecStart=/bin/true\n');
    const foreign = cli(['service', 'uninstall'], env);
    assert.equal(foreign.status, 1);
    assert.match(foreign.stderr, /was not written by mcpcp service install/);
    assert.equal(existsSync(unit), true);
  });
});
