// Runs the mocha tests of one folder inside the VS Code extension host and reports them in files,
// because the extension host's stdout reaches nobody when VS Code runs as code-server.
//
// Output, written while the tests run so a timed-out run still shows how far it got:
//   <MCPCP_VSCODE_RESULTS>.log   one line per test, then the failures with their stacks, then
//                                `N passed, N failed`
//   <MCPCP_VSCODE_RESULTS>.json  { passed, failed, pending, failures: [{ title, message, stack }] }
//                                written once, when mocha ends
// MCPCP_VSCODE_RESULTS is set by test/vscode/run.mjs; MCPCP_VSCODE_GREP filters tests by title.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** mocha 12 is an ES module; Node >= 22.12 (VS Code's extension host) can require() it. */
function loadMocha() {
  const m = require('mocha');
  return m.default || m.Mocha || m;
}

function resultsBase() {
  const base = process.env.MCPCP_VSCODE_RESULTS;
  if (base) return base;
  // Fallback when the environment does not reach the extension host: next to the workspace.
  const vscode = require('vscode');
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) throw new Error('MCPCP_VSCODE_RESULTS is not set and no workspace folder is open');
  return path.join(path.dirname(folder), 'results');
}

let activeLog;

/** Adds a line to the report (the extension host's console reaches nobody). */
function note(message) {
  if (activeLog) fs.appendFileSync(activeLog, `    note: ${message}\n`);
}

function fullTitle(test) {
  return typeof test.fullTitle === 'function' ? test.fullTitle() : String(test.title);
}

/**
 * The @vscode/test-electron `run()` contract: resolves when every test passed, rejects otherwise.
 * @param {string} testsDir folder whose `*.test.js` files are the suite
 * @param {{ timeout?: number }} [options]
 */
async function runFolder(testsDir, options = {}) {
  const base = resultsBase();
  const logFile = `${base}.log`;
  const jsonFile = `${base}.json`;
  fs.mkdirSync(path.dirname(base), { recursive: true });
  fs.writeFileSync(logFile, '');
  activeLog = logFile;
  const write = (line) => fs.appendFileSync(logFile, `${line}\n`);

  const Mocha = loadMocha();
  const mocha = new Mocha({
    ui: 'bdd',
    timeout: options.timeout ?? 60_000,
    color: false,
    // Our own reporter below writes to the file; mocha's would write to an invisible stdout.
    reporter: function SilentReporter() {},
  });
  if (process.env.MCPCP_VSCODE_GREP) mocha.grep(process.env.MCPCP_VSCODE_GREP);
  for (const f of fs.readdirSync(testsDir).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(testsDir, f));
  }
  await mocha.loadFilesAsync();

  const failures = [];
  let passed = 0;
  let pending = 0;
  const started = Date.now();
  const failedCount = await new Promise((resolve) => {
    const runner = mocha.run((failed) => resolve(failed));
    let depth = 0;
    runner.on('suite', (suite) => {
      if (suite.title) write(`${'  '.repeat(depth)}${suite.title}`);
      if (suite.title) depth++;
    });
    runner.on('suite end', (suite) => {
      if (suite.title) depth--;
    });
    runner.on('pass', (test) => {
      passed++;
      write(`${'  '.repeat(depth)}✓ ${test.title} (${test.duration ?? 0}ms)`);
    });
    runner.on('pending', (test) => {
      pending++;
      write(`${'  '.repeat(depth)}- ${test.title} (skipped)`);
    });
    runner.on('fail', (test, err) => {
      failures.push({ title: fullTitle(test), message: String(err?.message ?? err), stack: String(err?.stack ?? '') });
      write(`${'  '.repeat(depth)}✗ ${test.title}: ${String(err?.message ?? err).split('\n')[0]}`);
    });
  });

  write('');
  failures.forEach((f, i) => {
    write(`${i + 1}) ${f.title}`);
    write(f.stack.includes(f.message) ? f.stack : `${f.message}\n${f.stack}`);
    write('');
  });
  write(`${passed} passed, ${failures.length} failed${pending ? `, ${pending} skipped` : ''} (${Date.now() - started}ms)`);
  fs.writeFileSync(jsonFile, JSON.stringify({ passed, failed: failures.length, pending, failures }, null, 2));
  if (failedCount > 0 || failures.length > 0) {
    throw new Error(`${failures.length} test(s) failed`);
  }
}

module.exports = { runFolder, note };
