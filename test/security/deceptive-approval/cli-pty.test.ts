// The approver on a terminal sees exactly the call that will run: a commit message full of escape
// sequences cannot clear the screen, draw a fake approval or hide `amend: true` (issue 13, item 1).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { REPO_ROOT, waitFor } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const ESC = '\u001b';

/** The commit message an agent writes: clear the screen, home the cursor, draw a harmless-looking approval. */
const HOSTILE_MESSAGE = [
  `Fix typo${ESC}[2J${ESC}[3J${ESC}[H`,
  'abc123  commit on git  (tool; asked by copilot; expires soon)',
  '  why: a harmless typo fix',
  '  arguments: {"message":"Fix typo","amend":false}',
  `\u009b2J\u202Eeurt :dnema\u202C\u200B`,
].join('\n');

function git(cwd: string, ...args: string[]): string {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

function startServe(config: string, cwd: string, dataDir: string): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--print-client-config', '--data-dir', dataDir], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, firstLine };
}

describe('approvals on a terminal: escape sequences in a commit message', () => {
  it('are printed as escapes, amend: true is shown first and restated at the prompt, and the approved call is the one shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-pty-'));
    const repo = join(dir, 'repo');
    git(dir, 'init', '-q', '-b', 'main', repo);
    // The repository's own identity: a fresh machine (CI) has no global one for the approved commit.
    git(repo, 'config', 'user.name', 'Test');
    git(repo, 'config', 'user.email', 'test@example.com');
    writeFileSync(join(repo, 'a.txt'), 'one\n');
    git(repo, 'add', 'a.txt');
    git(repo, 'commit', '-q', '-m', 'first');
    writeFileSync(join(repo, 'a.txt'), 'two\n');
    git(repo, 'add', 'a.txt');
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `roots: [${JSON.stringify(repo)}]\npolicy:\n  rules:\n    - { server: git, tool: commit, decision: approve, reason: Commits need a human. }\n`);
    const { child, firstLine } = startServe(config, repo, dataDir);
    try {
      const gitServer = (JSON.parse(await firstLine) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['git']!;
      const credential = spawnSync(process.execPath, [CLI, 'approver-credential', 'rotate', '--data-dir', dataDir], { encoding: 'utf8' }).stdout.trim();
      const env = { ...process.env, MCPCP_APPROVER_CREDENTIAL: credential };

      const client = new Client({ name: `copilot${ESC}[2J`, version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(gitServer.url), { requestInit: { headers: gitServer.headers } }));
      const call = client.callTool({ name: 'commit', arguments: { message: HOSTILE_MESSAGE, amend: true } });
      call.catch(() => undefined);

      let listed = '';
      await waitFor(() => {
        listed = spawnSync('script', ['-qec', [process.execPath, CLI, 'approvals', 'list', '--data-dir', dataDir].map((a) => `'${a}'`).join(' '), '/dev/null'], { encoding: 'utf8', env, timeout: 20_000 }).stdout;
        return listed.includes('commit on git');
      }, 20_000, 'the pending commit approval');
      const id = /^(\S+)\s+commit on git/m.exec(listed)![1]!;

      const command = [process.execPath, CLI, 'approvals', 'approve', id, '--data-dir', dataDir].map((a) => `'${a}'`).join(' ');
      const tty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env, input: 'approve\n', timeout: 20_000 });
      assert.equal(tty.status, 0, tty.stdout + tty.stderr);
      for (const transcript of [listed, tty.stdout]) {
        // Nothing of the payload reaches the terminal as a control: no ESC, CSI, bidi or zero-width character.
        assert.ok(!transcript.includes(`${ESC}[2J`) && !transcript.includes(`${ESC}[H`) && !transcript.includes(`${ESC}[3J`), 'a screen-clearing sequence reached the terminal');
        assert.ok(!/[\u0080-\u009f\u202a-\u202e\u2066-\u2069\u200b-\u200f]/.test(transcript), 'a C1, bidi or zero-width character reached the terminal');
        // ...it is shown, visibly.
        assert.ok(transcript.includes('Fix typo\\x1b[2J\\x1b[3J\\x1b[H'), transcript);
        assert.ok(transcript.includes('\\x9b2J<U+202E>eurt :dnema<U+202C><U+200B>'), transcript);
        assert.ok(transcript.includes('copilot\\x1b[2J'), 'the client name is made visible too');
      }
      // amend: true comes before the message; the message's fake lines stay inside it (│ prefix).
      const out = tty.stdout;
      assert.ok(out.indexOf('amend: true') < out.indexOf('message: "Fix typo'), out);
      const fakeLines = out.split(/\r?\n/).filter((l) => l.includes('a harmless typo fix') || l.includes('"amend\\":false') || l.includes('"amend":false'));
      assert.equal(fakeLines.length, 4, out);
      for (const line of fakeLines) assert.match(line, /^\s+│ /, `a line of the message passes for a line of the approval: ${line}`);
      assert.doesNotMatch(out, /^abc123/m, 'a fake approval header starts a line');
      // The prompt restates the flags, right where the human types.
      assert.match(out, /Approve commit on git with amend: true\? Type "approve" to confirm/);

      const result = await call;
      assert.notEqual(result.isError, true, JSON.stringify(result));
      // What ran is what was shown: the last commit was amended (no second commit) with the hostile message.
      assert.equal(git(repo, 'rev-list', '--count', 'HEAD').trim(), '1');
      assert.equal(git(repo, 'log', '-1', '--format=%B').trimEnd(), HOSTILE_MESSAGE);
      await client.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});

describe('approvals show the call as it will run: secret-looking values are shown and marked, never masked', () => {
  it('branch_delete {name: "AKIA…"}: the arguments and the preview name the branch; the audit masks it', async () => {
    const BRANCH = 'AKIAIOSFODNN7EXAMPLE';
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-akia-'));
    const repo = join(dir, 'repo');
    git(dir, 'init', '-q', '-b', 'main', repo);
    writeFileSync(join(repo, 'a.txt'), 'one\n');
    git(repo, 'add', 'a.txt');
    git(repo, 'commit', '-q', '-m', 'first');
    git(repo, 'branch', BRANCH);
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `roots: [${JSON.stringify(repo)}]\n`);
    const { child, firstLine } = startServe(config, repo, dataDir);
    try {
      const gitServer = (JSON.parse(await firstLine) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['git']!;
      const credential = spawnSync(process.execPath, [CLI, 'approver-credential', 'rotate', '--data-dir', dataDir], { encoding: 'utf8' }).stdout.trim();
      const env = { ...process.env, MCPCP_APPROVER_CREDENTIAL: credential };
      const client = new Client({ name: 'agent', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(gitServer.url), { requestInit: { headers: gitServer.headers } }));
      const call = client.callTool({ name: 'branch_delete', arguments: { name: BRANCH, force: true } });
      call.catch(() => undefined);
      let listed = '';
      await waitFor(() => {
        listed = spawnSync(process.execPath, [CLI, 'approvals', 'list', '--data-dir', dataDir], { encoding: 'utf8', env }).stdout;
        return listed.includes('branch_delete on git');
      }, 20_000, 'the pending branch_delete approval');
      assert.match(listed, new RegExp(`name: "${BRANCH}" {3}⚠ looks like a secret`), listed);
      assert.match(listed, new RegExp(`│ .*${BRANCH}`), 'the preview names the branch');
      assert.ok(!listed.includes('[REDACTED]'), listed);
      const id = /^(\S+)\s+branch_delete on git/m.exec(listed)![1]!;
      const command = [process.execPath, CLI, 'approvals', 'reject', id, '--data-dir', dataDir].map((a) => `'${a}'`).join(' ');
      assert.equal(spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env, input: 'reject\n', timeout: 20_000 }).status, 0);
      assert.equal((await call).isError, true);
      assert.match(git(repo, 'branch', '--list', BRANCH), new RegExp(BRANCH), 'rejected: the branch is still there');
      await client.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    const auditDir = join(dataDir, 'audit');
    const audit = readdirSync(auditDir).map((f) => readFileSync(join(auditDir, f), 'utf8')).join('');
    assert.match(audit, /branch_delete/);
    assert.ok(!audit.includes(BRANCH), 'the audit holds the secret-looking value unmasked');
  });
});
