// Threat: a secret moved out of a workspace file is left behind where others can read it. The
// history scan that tells the user to rotate it must not leak it itself, and runs git against a
// repository whose author is untrusted:
// - the secret never reaches a child's command line or environment (a wrapper `git` first on PATH
//   records /proc/<its pid>/cmdline and environ for every git the scan starts);
// - no program the repository's configuration names runs (every payload of the hostile-repository
//   suite, first shown live with plain git, then the scan; markers must stay absent);
// - a `git` shipped inside the workspace and put on PATH is not the git that runs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanGitHistory } from '../../../src/core/adopt/git-history';
import { cleanup, git, tempDir } from '../../unit/git/fixture';
import { PAYLOADS, buildLab, clearMarkers, markersSet, type Lab } from '../hostile-repository/payloads';

const TOKEN = 'ghp_WITNESSwitnessWITNESS0123456789abcdef';
const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
const dirs: string[] = [];
let server: Server;
let requests = 0;
let httpUrl = '';

before(async () => {
  // The payloads' remote that always asks for credentials (plain git shows the credential payload live against it).
  server = createServer((_req, res) => {
    requests++;
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="trap"' });
    res.end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  cleanup(...dirs);
});

function newLab(): Lab {
  const base = tempDir('mcpcp-history-hostile-');
  dirs.push(base);
  return buildLab(base, { url: httpUrl, requests: () => requests });
}

/** Commits the token in .vscode/mcp.json, then removes it: it is in history only. */
function plantInHistory(repo: string): void {
  mkdirSync(join(repo, '.vscode'), { recursive: true });
  writeFileSync(join(repo, '.vscode/mcp.json'), JSON.stringify({ servers: { memory: { command: 'npx', env: { MEMORY_API_TOKEN: TOKEN } } } }));
  git(repo, 'add', '.vscode/mcp.json');
  git(repo, 'commit', '-qm', 'memory server');
  writeFileSync(join(repo, '.vscode/mcp.json'), JSON.stringify({ servers: {} }));
  git(repo, 'commit', '-qam', 'adopted');
}

/** A `git` that appends its own /proc cmdline and environ to `log`, then runs the real git. */
function witnessGit(dir: string, log: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'git'), `#!/bin/sh\n{ printf 'PID %s\\n' "$$"; tr '\\0' ' ' < /proc/$$/cmdline; printf '\\n'; tr '\\0' '\\n' < /proc/$$/environ; printf '\\n--\\n'; } >> '${log}'\nexec '${REAL_GIT}' "$@"\n`);
  chmodSync(join(dir, 'git'), 0o755);
}

describe('the git-history scan leaks no secret and runs nothing the repository names', () => {
  it('the secret is in no command line or environment of any git the scan starts', async () => {
    const base = tempDir('mcpcp-history-witness-');
    dirs.push(base);
    const repo = join(base, 'ws');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'init');
    plantInHistory(repo);
    const log = join(base, 'witness.log');
    const bin = join(base, 'witness-bin');
    witnessGit(bin, log);

    // The witness works: a secret given to git on its command line or in its environment shows.
    spawnSync(join(bin, 'git'), ['--version', `--x=${TOKEN.slice(0, 10)}`], { env: { PATH: process.env['PATH'] ?? '', PROBE: TOKEN.slice(10) } });
    const probe = readFileSync(log, 'utf8');
    assert.ok(probe.includes(TOKEN.slice(0, 10)) && probe.includes(TOKEN.slice(10)), 'the witness records argv and environment');
    rmSync(log);

    const scan = await scanGitHistory(repo, [{ name: 'memory-api-token', value: TOKEN }], { env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, HOME: base } });
    assert.equal(scan.status, 'complete');
    assert.deepEqual(scan.found.map((h) => h.name), ['memory-api-token'], 'found through git');
    const seen = readFileSync(log, 'utf8');
    const runs = seen.split('\n--\n').filter((r) => r.trim() !== '');
    assert.ok(runs.length >= 4, `every git the scan ran went through the witness (${runs.length}):\n${seen}`);
    assert.match(seen, /cat-file --batch-all-objects --batch/);
    assert.match(seen, /GIT_CONFIG_NOSYSTEM=1/);
    for (const fragment of [TOKEN, TOKEN.slice(4, 20), TOKEN.slice(-16)]) assert.ok(!seen.includes(fragment), `no part of the secret in any child's argv or environment (${fragment.length} chars)`);
  });

  it('a git shipped inside the workspace and put on PATH does not run', async () => {
    const lab = newLab();
    plantInHistory(lab.repo);
    const marker = join(lab.markers, 'workspace-git');
    const bin = join(lab.ws, 'tools');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$@" >> '${marker}'\nexec '${REAL_GIT}' "$@"\n`);
    chmodSync(join(bin, 'git'), 0o755);
    execFileSync(join(bin, 'git'), ['--version']);
    assert.ok(existsSync(marker), 'the planted git is live');
    rmSync(marker);
    const scan = await scanGitHistory(lab.repo, [{ name: 't', value: TOKEN }], { env: { PATH: `${bin}:${lab.repo}:.:bin:${process.env['PATH'] ?? ''}`, HOME: lab.base }, untrustedRoots: [lab.ws] });
    assert.equal(scan.status, 'complete');
    assert.equal(scan.found.length, 1);
    assert.equal(existsSync(marker), false, 'the workspace\'s git never ran');
  });

  it('log.showSignature with the repository\'s gpg.program, on the very commit that holds the secret, runs nothing', async () => {
    const lab = newLab();
    plantInHistory(lab.repo);
    // A signed-looking commit that brings the token back: the commit `log --find-object` shows.
    const tree = git(lab.repo, 'rev-parse', 'HEAD~1^{tree}').trim();
    const parent = git(lab.repo, 'rev-parse', 'HEAD').trim();
    const sig = ['-----BEGIN PGP SIGNATURE-----', '', 'iQEzBAABCAAdFiEEfake', '=abcd', '-----END PGP SIGNATURE-----'];
    const body = [`tree ${tree}`, `parent ${parent}`, 'author Ada Tester <ada@example.com> 1700000000 +0000', 'committer Ada Tester <ada@example.com> 1700000000 +0000', `gpgsig ${sig.join('\n ')}`, '', 'signed, token back', ''].join('\n');
    writeFileSync(join(lab.outside, 'signed'), body);
    const signed = git(lab.repo, 'hash-object', '-t', 'commit', '-w', join(lab.outside, 'signed')).trim();
    git(lab.repo, 'update-ref', 'refs/heads/main', signed);
    const gpg = join(lab.outside, 'gpg.sh');
    writeFileSync(gpg, `#!/bin/sh\necho "$@" >> '${join(lab.markers, 'gpg')}'\nexit 0\n`);
    chmodSync(gpg, 0o755);
    git(lab.repo, 'config', 'log.showSignature', 'true');
    git(lab.repo, 'config', 'gpg.program', gpg);
    clearMarkers(lab);
    spawnSync('git', ['log', '--all', '--format=%H', `--find-object=${git(lab.repo, 'rev-parse', `${tree}:.vscode/mcp.json`).trim()}`], { cwd: lab.repo, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
    assert.deepEqual(markersSet(lab), ['gpg'], 'live: the log the scan needs runs gpg.program when left to the repository');
    clearMarkers(lab);
    const scan = await scanGitHistory(lab.repo, [{ name: 't', value: TOKEN }], { env: { PATH: process.env['PATH'] ?? '', HOME: lab.base }, untrustedRoots: [lab.ws] });
    assert.equal(scan.status, 'complete');
    assert.ok(scan.found[0]!.locations.some((l) => l.commit === signed), 'the signed commit is reported');
    assert.deepEqual(markersSet(lab), [], 'the repository\'s gpg.program did not run');
  });

  for (const payload of PAYLOADS) {
    it(`${payload.id}: ${payload.what}`, async () => {
      // 1. The payload is live: plain git runs it.
      const proof = newLab();
      payload.build(proof);
      clearMarkers(proof);
      await payload.live(proof);
      const ran = markersSet(proof);
      for (const m of payload.liveMarkers) assert.ok(ran.includes(m), `payload ${payload.id} is not live: plain git did not run ${m} (ran: ${ran.join(', ') || 'nothing'})`);

      // 2. The scan, on a fresh copy of the same attack with the secret in its history.
      const lab = newLab();
      plantInHistory(lab.repo);
      payload.build(lab);
      clearMarkers(lab);
      const path = payload.serverPath?.(lab) ?? process.env['PATH'] ?? '';
      const knocked = requests;
      const scan = await scanGitHistory(lab.repo, [{ name: 't', value: TOKEN }], { env: { PATH: path, HOME: lab.base }, untrustedRoots: [lab.ws] });
      assert.deepEqual(markersSet(lab), [], `the scan ran a program the repository names (${payload.id})`);
      assert.equal(requests, knocked, 'and contacted no remote');
      assert.equal(scan.status, 'complete', scan.reason);
      assert.deepEqual(scan.found.map((h) => h.name), ['t'], 'and still found the secret');
    });
  }
});
