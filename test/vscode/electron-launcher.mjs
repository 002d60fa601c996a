#!/usr/bin/env node
// Runs the same mocha suite (test/vscode/suite/) in VS Code desktop through @vscode/test-electron:
// it downloads a VS Code build (stable, or VSCODE_VERSION) into .vscode-test/ and starts it with the
// extension under development. For a developer's machine or public CI with a display (xvfb-run on
// Linux). It cannot run on the project's CI machines (no download beyond the npm registry), so it
// is unverified there; `npm run test:vscode` (code-server in Chromium) stays the path CI runs.
// See docs/testing-vscode.md.
//
// Usage: node test/vscode/electron-launcher.mjs [--grep <pattern>] [--fixtures kubernetes,network|none]
//        [--version <stable|insiders|1.101.0>]
// The last line is `N passed, N failed` (from the suite's own report), as with run.mjs.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runTests } from '@vscode/test-electron';
import { startFixtures } from './lib/fixture-processes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const log = (m) => console.log(`[test:vscode:electron] ${m}`);
const { values: opts } = parseArgs({ options: { grep: { type: 'string' }, fixtures: { type: 'string', default: 'none' }, version: { type: 'string' } } });

const cleanups = [];
const tmp = mkdtempSync(join(tmpdir(), 'mcpcp-electron-'));
const home = join(tmp, 'home');
const workspace = join(tmp, 'workspace');
const userData = join(tmp, 'user-data');
mkdirSync(join(userData, 'User'), { recursive: true });
mkdirSync(home, { recursive: true });
cpSync(join(here, 'workspace-fixture'), workspace, { recursive: true });

const names = opts.fixtures.split(',').map((n) => n.trim()).filter((n) => n && n !== 'none');
let fixturesFile;
if (names.length) {
  const info = await startFixtures({ names, repoRoot, home, workspace, logDir: join(tmp, 'fixtures'), cleanups, log });
  fixturesFile = join(tmp, 'fixtures.json');
  writeFileSync(fixturesFile, JSON.stringify(info, null, 2), { mode: 0o600 });
}
const git = (...args) => {
  const r = spawnSync('git', ['-c', 'user.name=mcpcp test', '-c', 'user.email=test@mcpcp.invalid', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], { cwd: workspace, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
};
git('init', '--quiet');
git('add', '-A');
git('commit', '--quiet', '-m', 'Initial commit of the test workspace');

// The same quiet, trusted workbench as run.mjs gives code-server.
writeFileSync(join(userData, 'User/settings.json'), JSON.stringify({
  'workbench.startupEditor': 'none',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'git.autofetch': false,
  'security.workspace.trust.enabled': false,
  'chat.mcp.discovery.enabled': false,
}, null, 2));

const resultsBase = join(repoRoot, 'test-results/vscode-electron/results');
rmSync(dirname(resultsBase), { recursive: true, force: true });
mkdirSync(dirname(resultsBase), { recursive: true });
let code = 1;
try {
  code = await runTests({
    ...(opts.version ?? process.env.VSCODE_VERSION ? { version: opts.version ?? process.env.VSCODE_VERSION } : {}),
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(here, 'suite/index.js'),
    launchArgs: [workspace, '--user-data-dir', userData, '--extensions-dir', join(tmp, 'extensions'), '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    extensionTestsEnv: {
      HOME: home,
      MCPCP_VSCODE_RESULTS: resultsBase,
      ...(fixturesFile ? { MCPCP_VSCODE_FIXTURES: fixturesFile } : {}),
      ...(opts.grep ? { MCPCP_VSCODE_GREP: opts.grep } : {}),
    },
  });
} catch (err) {
  log(`VS Code did not run the suite: ${err?.message ?? err}`);
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
const report = existsSync(`${resultsBase}.json`) ? JSON.parse(readFileSync(`${resultsBase}.json`, 'utf8')) : undefined;
// A non-zero exit with no failed test (run() threw after mocha) still counts as one failure.
console.log(report ? `${report.passed} passed, ${report.failed + (code !== 0 && report.failed === 0 ? 1 : 0)} failed` : '0 passed, 1 failed');
process.exit(code === 0 && report && report.failed === 0 ? 0 : 1);
