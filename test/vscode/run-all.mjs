#!/usr/bin/env node
// `npm run test:vscode`: the real-VS-Code suite in two sessions of run.mjs, each with its own
// fresh profile: a trusted workspace (every spec; results in test-results/vscode/), then the same
// workspace untrusted for the Restricted Mode spec (test-results/vscode-restricted/). The last line
// is the sum, `N passed, N failed`, as run.mjs prints it. Options other than these sessions' own
// (--grep, --workspace, --self-test, --untrusted…) run one session of run.mjs with them, as given.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runner = join(dirname(fileURLToPath(import.meta.url)), 'run.mjs');
const passthrough = process.argv.slice(2);

function session(args) {
  return new Promise((resolve) => {
    let last = '';
    const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = String(chunk).trim().split('\n');
      last = lines[lines.length - 1] || last;
    });
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => child.kill(signal));
    child.on('exit', (code) => {
      const m = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/.exec(last.trim());
      resolve({ code: code ?? 1, passed: m ? Number(m[1]) : 0, failed: m ? Number(m[2]) : 1, skipped: m?.[3] ? Number(m[3]) : 0 });
    });
  });
}

if (passthrough.length > 0) {
  const r = await session(passthrough);
  process.exit(r.code);
}
const trusted = await session([]);
const restricted = await session(['--untrusted', '--grep', 'Restricted Mode', '--fixtures', 'none', '--results', 'test-results/vscode-restricted']);
const passed = trusted.passed + restricted.passed;
const failed = trusted.failed + restricted.failed + (trusted.code !== 0 && trusted.failed === 0 ? 1 : 0) + (restricted.code !== 0 && restricted.failed === 0 ? 1 : 0);
const skipped = trusted.skipped + restricted.skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && trusted.code === 0 && restricted.code === 0 ? 0 : 1);
