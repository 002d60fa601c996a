/**
 * The Dockerfile, linted (these machines have no Docker engine, so the image is not built here):
 * dockerfilelint reports nothing, and the file is a thin copy of the runtime folder that runs as
 * a numeric non-root user. A bad Dockerfile makes the same lint fail, so the check can fail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../helpers/fixture-plane';

const LINT = join(REPO_ROOT, 'node_modules', '.bin', 'dockerfilelint');

interface LintReport {
  totalIssues: number;
  files: { issues: { line: string; title: string }[] }[];
}

function lint(file: string): Promise<LintReport> {
  return new Promise((resolve, reject) => {
    execFile(LINT, ['-o', 'json', file], { timeout: 60_000 }, (_err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout) as LintReport);
      } catch {
        reject(new Error(`dockerfilelint printed no report: ${stdout}${stderr}`));
      }
    });
  });
}

/** Instructions of a Dockerfile (continuation lines joined, comments dropped). */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

  it('passes dockerfilelint with no finding', async () => {
    const report = await lint(join(REPO_ROOT, 'Dockerfile'));
    assert.equal(report.totalIssues, 0, JSON.stringify(report.files[0]?.issues));
  });

  it('is a thin copy of the runtime folder onto Node 22, run by a numeric non-root user', () => {
    const ops = instructions(text);
    const from = ops.filter((i) => i.op === 'FROM');
    assert.equal(from.length, 1);
    assert.match(from[0]!.args, /^node:22-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    assert.deepEqual(ops.filter((i) => i.op === 'RUN' || i.op === 'ADD'), [], 'no build step in the image beyond COPY');
    const copies = ops.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.ok(copies.some((c) => /^--chown=0:0 dist-runtime\/ \/app\/$/.test(c)), copies.join(' | '));
    const user = ops.filter((i) => i.op === 'USER').pop()!.args;
    assert.match(user, /^\d+(:\d+)?$/, 'numeric, so that runAsNonRoot can be checked');
    assert.notEqual(Number(user.split(':')[0]), 0);
    const env = ops.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    assert.match(env, /HOME=\/var\/lib\/mcpcp/);
    assert.match(env, /TMPDIR=\/tmp/);
    assert.equal(ops.find((i) => i.op === 'ENTRYPOINT')?.args, '["node", "/app/cli.js"]');
    // The build context holds only what is copied.
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(ignore, ['*', '!dist-runtime/', '!deploy/image/data/']);
  });

  it('the lint catches a bad Dockerfile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dockerfile-'));
    const bad = join(dir, 'Dockerfile');
    writeFileSync(bad, text.replace('FROM node:22-bookworm-slim', 'FROM node:latest\nRUN apt-get install curl').replace('EXPOSE 8080', 'EXPOSE 80800'));
    const report = await lint(bad);
    const titles = report.files[0]!.issues.map((i) => i.title);
    assert.ok(titles.includes('Base Image Latest Tag'), titles.join(', '));
    assert.ok(titles.includes('Invalid Port Exposed'), titles.join(', '));
    assert.ok(report.totalIssues >= 3);
  });
});
