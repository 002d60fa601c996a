import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, connect, git, makeRemote, makeRepo, tempDir, write, type Harness } from './fixture';

let base: string;
let ws: string;
let repo: string;
let h: Harness;

before(async () => {
  base = tempDir();
  ws = join(base, 'ws');
  repo = makeRepo(join(ws, 'app'), [
    { 'a.txt': 'alpha\n', 'src/b.ts': 'export const b = 1;\n', 'img.bin': 'PNG\0\0\0binary' },
    { 'a.txt': 'alpha\nbeta\n' },
    { 'src/b.ts': 'export const b = 2;\n', 'src/c.ts': 'c\n' },
  ]);
  makeRemote(base, repo);
  git(repo, 'tag', 'v0.1', 'HEAD~2');
  git(repo, 'tag', '-a', '-m', 'release one', 'v1.0');
  git(repo, 'branch', 'feature/x', 'HEAD~1');
  write(repo, 'a.txt', 'alpha\nbeta\ngamma\n');
  write(repo, 'stashed.txt', 'tmp\n');
  git(repo, 'stash', 'push', '-u', '-m', 'wip stash');
  // Local state: one staged, one unstaged, one untracked, one commit ahead of origin.
  write(repo, 'src/c.ts', 'c changed\n');
  git(repo, 'commit', '-qam', 'ahead by one');
  write(repo, 'src/b.ts', 'export const b = 3;\n');
  git(repo, 'add', 'src/b.ts');
  write(repo, 'a.txt', 'alpha\nBETA\n');
  write(repo, 'notes.md', 'n\n');
  makeRepo(join(ws, 'nested', 'lib'));
  h = await connect([ws]);
});
after(async () => {
  await h.close();
  cleanup(base);
});

describe('repo_list', () => {
  it('lists repositories in the roots with their branch', async () => {
    const r = await h.call('repo_list');
    assert.equal(r.isError, false, r.text);
    assert.deepEqual(r.structured?.['repositories'], [
      { path: repo, head: 'main' },
      { path: join(ws, 'nested', 'lib'), head: 'main' },
    ]);
    assert.match(r.text, new RegExp(`${repo}\\s+main`));
  });

  it('needs "repo" when there are several repositories', async () => {
    const r = await h.call('repo_status');
    assert.equal(r.isError, true);
    assert.match(r.text, /holds 2 repositories, so "repo" is required/);
  });

  it('accepts a repository path relative to a root, and a folder inside it', async () => {
    assert.equal((await h.call('repo_status', { repo: 'app' })).structured?.['repository'], repo);
    assert.equal((await h.call('repo_status', { repo: join(repo, 'src') })).structured?.['repository'], repo);
  });
});

describe('repo_status', () => {
  it('reports branch, upstream, ahead/behind and each kind of change', async () => {
    const r = await h.call('repo_status', { repo });
    assert.equal(r.isError, false, r.text);
    const s = r.structured ?? {};
    assert.equal(s['branch'], 'main');
    assert.equal(s['upstream'], 'origin/main');
    assert.equal(s['ahead'], 1);
    assert.equal(s['behind'], 0);
    assert.deepEqual(s['staged'], [{ path: 'src/b.ts', change: 'M' }]);
    assert.deepEqual(s['unstaged'], [{ path: 'a.txt', change: 'M' }]);
    assert.deepEqual(s['untracked'], ['notes.md']);
    assert.deepEqual(s['conflicts'], []);
    assert.match(r.text, /branch main \([0-9a-f]{8}\), upstream origin\/main: ahead 1, behind 0/);
    assert.match(r.text, /staged \(1\):\n {2}M {2}src\/b\.ts/);
    assert.match(r.text, /untracked \(1\):\n {2}\? {2}notes\.md/);
  });

  it('filters by paths and cuts long lists with a count', async () => {
    const r = await h.call('repo_status', { repo, paths: ['src'] });
    assert.deepEqual(r.structured?.['unstaged'], []);
    const many = makeRepo(join(base, 'many-ws', 'many'));
    for (let i = 0; i < 400; i++) write(many, `f${String(i).padStart(3, '0')}.txt`, 'x');
    const c = await connect([join(base, 'many-ws')]);
    try {
      const big = await c.call('repo_status');
      assert.match(big.text, /untracked \(400\):/);
      assert.match(big.text, /\[truncated: \d+ more untracked entries not shown\. Call repo_status with "paths"/);
      assert.equal(big.structured?.['truncated'], true);
      assert.ok(Buffer.byteLength(big.text) < 16_000);
    } finally {
      await c.close();
    }
  });

  it('lists conflicts during a merge', async () => {
    const m = makeRepo(join(base, 'merge-ws', 'm'), [{ 'f.txt': 'base\n' }]);
    git(m, 'switch', '-q', '-c', 'other');
    write(m, 'f.txt', 'other\n');
    git(m, 'commit', '-qam', 'other');
    git(m, 'switch', '-q', 'main');
    write(m, 'f.txt', 'main\n');
    git(m, 'commit', '-qam', 'main');
    try {
      git(m, 'merge', 'other');
    } catch {
      // conflict expected
    }
    const c = await connect([join(base, 'merge-ws')]);
    try {
      const r = await c.call('repo_status');
      assert.deepEqual(r.structured?.['conflicts'], ['f.txt']);
      assert.equal(r.structured?.['operation'], 'merging');
      assert.match(r.text, /In progress: merging with 1 conflicted file/);
    } finally {
      await c.close();
    }
  });
});

describe('diff', () => {
  it('shows unstaged, staged and between-commit changes', async () => {
    assert.match((await h.call('diff', { repo })).text, /^diff --git a\/a\.txt[\s\S]*-beta\n\+BETA/);
    assert.match((await h.call('diff', { repo, staged: true })).text, /src\/b\.ts[\s\S]*-export const b = 2;\n\+export const b = 3;/);
    const between = await h.call('diff', { repo, from: 'v0.1', to: 'v1.0', statOnly: true });
    assert.match(between.text, /a\.txt +\| 1 \+\n src\/b\.ts +\| 2 \+-\n src\/c\.ts +\| 1 \+\n 3 files changed/);
    assert.equal((await h.call('diff', { repo, from: 'HEAD', to: 'HEAD' })).text, 'No differences: HEAD..HEAD.');
  });

  it('names the field of an unknown revision', async () => {
    const r = await h.call('diff', { repo, from: 'v1.0', to: 'nope' });
    assert.equal(r.isError, true);
    assert.match(r.text, /Invalid "to": "nope" does not name a commit/);
  });

  it('pages a long diff with offsets', async () => {
    const p = makeRepo(join(base, 'page-ws', 'p'), [{ 'big.txt': `${Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n')}\n` }]);
    write(p, 'big.txt', `${Array.from({ length: 3000 }, (_, i) => `LINE ${i}`).join('\n')}\n`);
    const c = await connect([join(base, 'page-ws')]);
    try {
      const first = await c.call('diff');
      const next = /offset=(\d+)/.exec(first.text)?.[1];
      assert.ok(next !== undefined, first.text.slice(-300));
      assert.ok(Buffer.byteLength(first.text) < 16_500);
      const second = await c.call('diff', { offset: Number(next) });
      assert.ok(!second.text.startsWith('diff --git'));
      assert.match(second.text, /^[-+]/);
    } finally {
      await c.close();
    }
  });
});

describe('log', () => {
  it('lists commits one line each, newest first', async () => {
    const r = await h.call('log', { repo });
    const rows = r.text.split('\n');
    assert.match(rows[0] ?? '', /^COMMIT +DATE +AUTHOR +SUBJECT$/);
    assert.match(rows[1] ?? '', /^[0-9a-f]{8} +\d{4}-\d\d-\d\d +Ada Tester +ahead by one$/);
    assert.equal(rows.length, 5);
  });

  it('filters by range, path, author and grep', async () => {
    assert.match((await h.call('log', { repo, from: 'origin/main' })).text, /ahead by one/);
    assert.equal((await h.call('log', { repo, from: 'origin/main' })).text.split('\n').length, 2);
    assert.equal((await h.call('log', { repo, paths: ['src/b.ts'] })).text.split('\n').length, 3);
    assert.equal((await h.call('log', { repo, author: 'nobody' })).text, 'No commits match.');
    assert.match((await h.call('log', { repo, grep: 'AHEAD' })).text, /ahead by one/);
  });

  it('pages with limit and skip', async () => {
    const page = await h.call('log', { repo, limit: 2 });
    assert.match(page.text, /\[truncated: showing commits 1-2; more commits are not shown\. Call log again with skip=2/);
    const next = await h.call('log', { repo, limit: 2, skip: 2 });
    assert.match(next.text, /commit 2\n[\s\S]*commit 1/);
  });

  it('shows full messages on request', async () => {
    assert.match((await h.call('log', { repo, limit: 1, format: 'full' })).text, /^commit [0-9a-f]{40}\nAuthor: Ada Tester <ada@example\.com>\nDate: {3}\d{4}-/);
  });
});

describe('show and blame', () => {
  it('shows a commit with its patch, or only the stat', async () => {
    const full = await h.call('show', { repo, revision: 'v1.0' });
    assert.match(full.text, /^commit [0-9a-f]{40}\n[\s\S]*commit 3\n[\s\S]*src\/c\.ts \| 1 \+[\s\S]*\+c$/m);
    const stat = await h.call('show', { repo, revision: 'v1.0', statOnly: true });
    assert.ok(!stat.text.includes('diff --git'));
  });

  it('shows a file at a revision, and says when it is binary or missing', async () => {
    assert.equal((await h.call('show', { repo, revision: 'v0.1', path: 'a.txt' })).text, 'alpha');
    assert.match((await h.call('show', { repo, path: 'img.bin' })).text, /is a binary file \(\d+ bytes\)/);
    assert.match((await h.call('show', { repo, path: 'nope.txt' })).text, /does not exist in HEAD/);
    assert.match((await h.call('show', { repo, path: 'src' })).text, /b\.ts\nc\.ts/);
  });

  it('blames a line range, including uncommitted lines', async () => {
    const r = await h.call('blame', { repo, path: 'a.txt' });
    assert.match(r.text, /^a\.txt, lines 1-2\n[0-9a-f]{8} \d{4}-\d\d-\d\d Ada Tester +1: alpha\n0{8} .*not committed yet +2: BETA$/);
    const at = await h.call('blame', { repo, path: 'a.txt', revision: 'v1.0', startLine: 2, endLine: 2 });
    assert.match(at.text, /2: beta$/);
    const beyond = await h.call('blame', { repo, path: 'a.txt', startLine: 9 });
    assert.equal(beyond.isError, true);
    assert.match(beyond.text, /Invalid "startLine": a\.txt has only 2 lines/);
  });
});

describe('branches, tags, remotes, stash, reflog', () => {
  it('lists branches with upstream tracking and remote branches on request', async () => {
    const r = await h.call('branch_list', { repo });
    assert.match(r.text, /^\* +main +origin\/main \[ahead 1\] +[0-9a-f]{8} /m);
    assert.match(r.text, /^ +feature\/x +[0-9a-f]{8} /m);
    assert.doesNotMatch(r.text, /^ +origin\/main /m, 'remote branches only on request');
    assert.match((await h.call('branch_list', { repo, remotes: true })).text, /^ +origin\/main +[0-9a-f]{8}/m);
    assert.equal((await h.call('branch_list', { repo, contains: 'FEAT' })).text.split('\n').length, 2);
  });

  it('lists tags with their kind', async () => {
    const r = await h.call('tag_list', { repo });
    assert.match(r.text, /^v1\.0 +[0-9a-f]{8} +\d{4}-\d\d-\d\d +annotated +release one$/m);
    assert.match(r.text, /^v0\.1 +[0-9a-f]{8} +\d{4}-\d\d-\d\d +lightweight +commit 1$/m);
  });

  it('lists remotes, stash entries and the reflog', async () => {
    assert.match((await h.call('remote_list', { repo })).text, /^origin +.*remote\.git +\(same\)$/m);
    assert.match((await h.call('stash_list', { repo })).text, /^ +0 +[0-9a-f]{8} +\d{4}-\d\d-\d\d +On main: wip stash$/m);
    assert.match((await h.call('reflog', { repo, limit: 2 })).text, /^HEAD@\{0\} +[0-9a-f]{8} +commit: ahead by one$/m);
    assert.match((await h.call('reflog', { repo, limit: 2 })).text, /\[truncated: showing the 2 newest entries/);
  });
});
