// The git-history scan on real repositories made with real git: a token committed and removed
// again (history only) is found with the commits and path that added and removed it; one never
// committed is not; bounds make the scan partial and say so.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ObjectScanner, describeHistoryScan, scanGitHistory } from '../../../src/core/adopt/git-history';
import { cleanup, git, makeRepo, tempDir } from '../git/fixture';

const TOKEN = 'ghp_HISTORYhistoryHISTORY0123456789abcdef';
const OTHER = 'ghp_NEVERneverNEVERnever0123456789abcdefg';
const dirs: string[] = [];
after(() => cleanup(...dirs));

function repoWithTokenInHistory(): { repo: string; added: string; removed: string } {
  const base = tempDir('mcpcp-history-');
  dirs.push(base);
  const repo = makeRepo(join(base, 'ws'), [{ 'README.md': '# demo\n' }]);
  mkdirSync(join(repo, '.vscode'));
  writeFileSync(join(repo, '.vscode/mcp.json'), JSON.stringify({ servers: { memory: { command: 'npx', env: { MEMORY_API_TOKEN: TOKEN } } } }, null, 2));
  git(repo, 'add', '.');
  git(repo, 'commit', '-qm', 'add memory server');
  const added = git(repo, 'rev-parse', 'HEAD').trim();
  writeFileSync(join(repo, '.vscode/mcp.json'), JSON.stringify({ servers: {} }, null, 2));
  git(repo, 'commit', '-qam', 'adopted by the control plane');
  const removed = git(repo, 'rev-parse', 'HEAD').trim();
  writeFileSync(join(repo, 'later.txt'), 'later\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-qm', 'later work');
  return { repo, added, removed };
}

describe('git history scan', () => {
  it('finds a token that is only in history (loose objects), with the commits and path that added and removed it', async () => {
    const { repo, added, removed } = repoWithTokenInHistory();
    const scan = await scanGitHistory(repo, [{ name: 'memory-api-token', value: TOKEN }, { name: 'other', value: OTHER }]);
    assert.equal(scan.status, 'complete');
    assert.equal(scan.repository, repo);
    assert.deepEqual(scan.found.map((h) => h.name), ['memory-api-token'], 'only the one that was committed');
    assert.deepEqual(scan.found[0]!.locations.map((l) => [l.commit, l.path]).sort(), [[added, '.vscode/mcp.json'], [removed, '.vscode/mcp.json']].sort());
    assert.ok(scan.objects >= 9 && scan.bytes > 0, `${scan.objects} objects, ${scan.bytes} bytes`);
    const [line, ...more] = describeHistoryScan(scan, { setSecret: (n) => `Set Secret ${n}` });
    assert.deepEqual(more, []);
    assert.match(line!, /^The secret "memory-api-token" is in the git history of .* \(\.vscode\/mcp\.json in commit [0-9a-f]{12}, \.vscode\/mcp\.json in commit [0-9a-f]{12}\): .*Rotate it where it was issued, then store the new value \(Set Secret memory-api-token\)\.$/);
    assert.ok(!line!.includes(TOKEN), 'the message names the secret, never its value');
  });

  it('finds it in packed objects too (delta-compressed after gc), and across stream chunk boundaries in a large blob', async () => {
    const { repo } = repoWithTokenInHistory();
    // A 300 KB file with the token straddling the 64 KiB pipe-read boundaries several times over.
    const filler = 'x'.repeat(65_536 - 20);
    writeFileSync(join(repo, 'big.txt'), `${filler}${TOKEN}${filler}${filler}${filler}`);
    git(repo, 'add', 'big.txt');
    git(repo, 'commit', '-qm', 'big');
    git(repo, 'rm', '-q', 'big.txt');
    git(repo, 'commit', '-qm', 'no big');
    git(repo, 'gc', '-q', '--aggressive');
    const scan = await scanGitHistory(repo, [{ name: 't', value: TOKEN }]);
    assert.equal(scan.status, 'complete');
    assert.equal(scan.found[0]?.objects, 2, 'the small mcp.json and big.txt');
    assert.ok(scan.found[0]!.locations.some((l) => l.path === 'big.txt'));
  });

  it('parses cat-file --batch output fed in any chunking, a value split across chunks included', () => {
    const body = (content: string, oid: string, type = 'blob'): string => `${oid} ${type} ${Buffer.byteLength(content)}\n${content}\n`;
    const stream = Buffer.from([body('', 'e69de2'), body(`head ${TOKEN} tail`, 'aaaa01'), '0bad missing\n', body(`x${OTHER}`, 'bbbb02', 'commit'), body('no secret here', 'cccc03')].join(''));
    for (const size of [1, 2, 7, 40, stream.length]) {
      const scanner = new ObjectScanner([{ name: 't', bytes: Buffer.from(TOKEN) }, { name: 'o', bytes: Buffer.from(OTHER) }], 1e9);
      for (let at = 0; at < stream.length; at += size) scanner.push(stream.subarray(at, at + size));
      assert.deepEqual(scanner.matches, [{ name: 't', oid: 'aaaa01', type: 'blob' }, { name: 'o', oid: 'bbbb02', type: 'commit' }], `chunks of ${size}`);
      assert.equal(scanner.objects, 4);
    }
  });

  it('does not flag a repository where the token never was, nor a folder outside any repository', async () => {
    const base = tempDir('mcpcp-history-clean-');
    dirs.push(base);
    const repo = makeRepo(join(base, 'ws'), [{ 'README.md': '# demo\n', '.vscode/mcp.json': '{"servers":{}}\n' }]);
    const scan = await scanGitHistory(repo, [{ name: 't', value: TOKEN }]);
    assert.equal(scan.status, 'complete');
    assert.deepEqual(scan.found, []);
    assert.deepEqual(describeHistoryScan(scan, { setSecret: () => 'x' }), []);

    const plain = join(base, 'plain');
    mkdirSync(plain);
    writeFileSync(join(base, 'plain', 'x'), TOKEN);
    // A folder that is not in a repository (tmp has none above it): nothing to say.
    const none = await scanGitHistory(plain, [{ name: 't', value: TOKEN }]);
    assert.equal(none.status, 'not-a-repository');
  });

  it('stops at its bounds and says the history was not fully scanned', async () => {
    const { repo } = repoWithTokenInHistory();
    const scan = await scanGitHistory(repo, [{ name: 't', value: TOKEN }], { maxBytes: 64 });
    assert.equal(scan.status, 'partial');
    assert.match(scan.reason!, /stopped after 1 KiB of objects/);
    assert.match(describeHistoryScan(scan, { setSecret: () => 'x' }).join('\n'), /was not fully scanned for the moved secrets \(stopped after 1 KiB of objects\); if the file was ever committed, rotate them/);
    const timed = await scanGitHistory(repo, [{ name: 't', value: TOKEN }], { timeoutMs: 0 });
    assert.notEqual(timed.status, 'complete');
    const noGit = await scanGitHistory(repo, [{ name: 't', value: TOKEN }], { env: { PATH: join(repo, 'no-such-bin') } });
    assert.deepEqual([noGit.status, noGit.reason], ['failed', 'git was not found on PATH']);
    assert.match(describeHistoryScan(noGit, { setSecret: () => 'x' }).join('\n'), /could not be scanned for the moved secrets \(git was not found on PATH\); if the file was ever committed, rotate them/);
  });
});
