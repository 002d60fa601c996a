// fetch, pull and push against a bare repository on disk, with a second clone as "someone else".
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { cleanup, connect, git, makeRemote, makeRepo, tempDir, write, type Harness } from './fixture';

let base: string;
let repo: string;
let bare: string;
let other: string;
let h: Harness;

/** Someone else pushes a commit to the remote. */
function theyPush(file: string, content: string): void {
  write(other, file, content);
  git(other, 'add', file);
  git(other, '-c', 'user.name=Bo', '-c', 'user.email=bo@example.com', 'commit', '-qm', `they changed ${file}`);
  git(other, 'push', '-q', 'origin', 'HEAD:main');
}

beforeEach(async () => {
  base = tempDir();
  repo = makeRepo(join(base, 'ws', 'app'), [{ 'a.txt': 'a\n' }]);
  bare = makeRemote(base, repo);
  other = join(base, 'other');
  git(base, 'clone', '-q', bare, other);
  h = await connect([join(base, 'ws')]);
});
afterEach(async () => {
  await h.close();
  cleanup(base);
});

const remoteHead = () => git(bare, 'rev-parse', 'main').trim();

describe('fetch and pull', () => {
  it('fetch reports moved remote branches and changes no local branch', async () => {
    const before = git(repo, 'rev-parse', 'main').trim();
    theyPush('b.txt', 'b\n');
    git(other, 'push', '-q', 'origin', 'HEAD:refs/heads/feature');
    const r = await h.call('fetch', {});
    assert.match(r.text, /^Fetched origin:\n/);
    assert.match(r.text, /new {5}origin\/feature at [0-9a-f]{8}/);
    assert.match(r.text, /updated origin\/main [0-9a-f]{8}\.\.[0-9a-f]{8} \(1 new commit\)/);
    assert.equal(git(repo, 'rev-parse', 'main').trim(), before);
    assert.equal((await h.call('fetch', {})).text, 'Fetched origin: already up to date.');
  });

  it('sends progress notifications when asked', async () => {
    theyPush('big.txt', `${'x'.repeat(200_000)}\n`);
    const seen: number[] = [];
    const r = CallToolResultSchema.parse(
      await h.client.callTool({ name: 'fetch', arguments: {} }, undefined, { onprogress: (p) => seen.push(p.progress) }),
    );
    assert.equal(r.isError, undefined);
    // Local fetches may finish before git prints progress; when it does, values are percentages.
    assert.ok(seen.every((p) => p >= 0 && p <= 100));
  });

  it('pull fast-forwards by default and refuses diverged branches', async () => {
    theyPush('b.txt', 'b\n');
    const r = await h.call('pull', {});
    assert.match(r.text, /Pulled origin\/main: main fast-forwarded [0-9a-f]{8}\.\.[0-9a-f]{8} \(1 commit\):\n {2}[0-9a-f]+ they changed b\.txt/);
    theyPush('c.txt', 'c\n');
    write(repo, 'mine.txt', 'm\n');
    git(repo, 'add', 'mine.txt');
    git(repo, 'commit', '-qm', 'mine');
    const diverged = await h.call('pull', {});
    assert.equal(diverged.isError, true);
    assert.match(diverged.text, /Not possible to fast-forward[\s\S]*diverged/);
    const merged = await h.call('pull', { mode: 'merge' });
    assert.match(merged.text, /merged \(merge commit\)/);
  });

  it('pull in merge mode lists conflicts', async () => {
    theyPush('a.txt', 'theirs\n');
    write(repo, 'a.txt', 'mine\n');
    git(repo, 'commit', '-qam', 'mine');
    const r = await h.call('pull', { mode: 'merge' });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /stopped with conflicts in 1 file:\n {2}a\.txt/);
  });
});

describe('push', () => {
  it('previews the commits to publish, then pushes; the dry run changes nothing', async () => {
    write(repo, 'n.txt', 'n\n');
    git(repo, 'add', 'n.txt');
    git(repo, 'commit', '-qm', 'new work');
    const before = remoteHead();
    const dry = await h.call('push', { dryRun: true });
    assert.match(dry.text, /^Dry run, computed locally from the remote-tracking refs of the last fetch \(the remote was not contacted\): push main \([0-9a-f]{8}\) to origin\/main at \/\S+\/remote\.git \(last fetched at [0-9a-f]{8}\)\nCommits that would be published \(1\):\n {2}[0-9a-f]+ new work\nNothing was changed\.\nCannot be undone: what is pushed to \/\S+\/remote\.git can be fetched by others at once; no undo takes it back from their clones$/);
    assert.equal(remoteHead(), before);
    const done = await h.call('push', {});
    assert.match(done.text, /^Pushed to \/\S+\/remote\.git: refs\/heads\/main -> refs\/heads\/main: fast-forward[\s\S]*Commits published \(1\)/);
    assert.equal(remoteHead(), git(repo, 'rev-parse', 'main').trim());
  });

  it('pushes a new branch and sets its upstream', async () => {
    git(repo, 'switch', '-q', '-c', 'feature/a');
    const r = await h.call('push', { setUpstream: true });
    assert.match(r.text, /refs\/heads\/feature\/a -> refs\/heads\/feature\/a: new branch/);
    assert.equal(git(repo, 'rev-parse', '--abbrev-ref', 'feature/a@{upstream}').trim(), 'origin/feature/a');
  });

  it('rejects a non-fast-forward push and refuses force unless allowed', async () => {
    theyPush('b.txt', 'b\n');
    git(repo, 'fetch', '-q');
    write(repo, 'mine.txt', 'm\n');
    git(repo, 'add', 'mine.txt');
    git(repo, 'commit', '-qm', 'mine');
    const theirs = remoteHead();
    const dry = await h.call('push', { dryRun: true });
    assert.match(dry.text, /Commits on the remote that would be DROPPED \(not in the local branch\) \(1\):\n {2}[0-9a-f]+ they changed b\.txt\nThis is not a fast-forward/);
    const rejected = await h.call('push', {});
    assert.equal(rejected.isError, true);
    assert.match(rejected.text, /rejected[\s\S]*Call fetch, then merge or pull/);
    const forced = await h.call('push', { force: true });
    assert.equal(forced.isError, true);
    assert.match(forced.text, /forced pushes are disabled on this git server/);
    assert.equal(remoteHead(), theirs);
  });

  it('forces with lease when allowed, and keeps the dropped remote commits in a backup', async () => {
    const f = await connect([join(base, 'ws')], { allowForcePush: true });
    try {
      theyPush('b.txt', 'b\n');
      git(repo, 'fetch', '-q');
      const theirs = remoteHead();
      write(repo, 'mine.txt', 'm\n');
      git(repo, 'add', 'mine.txt');
      git(repo, 'commit', '-qm', 'mine');
      // The lease protects a remote that moved since our fetch.
      theyPush('c.txt', 'c\n');
      const stale = await f.call('push', { force: true });
      assert.equal(stale.isError, true);
      assert.match(stale.text, /stale info|rejected/);
      git(repo, 'fetch', '-q');
      const latest = remoteHead();
      const done = await f.call('push', { force: true });
      assert.equal(done.isError, false, done.text);
      assert.match(done.text, /forced update[\s\S]*Commits dropped from the remote \(2\)[\s\S]*Backup kept: /);
      assert.equal(remoteHead(), git(repo, 'rev-parse', 'main').trim());
      const id = /Backup kept: (\S+)/.exec(done.text)?.[1];
      const back = await f.call('backup_restore', { id, branch: 'their-work' });
      assert.match(back.text, /Created branch their-work/);
      assert.equal(git(repo, 'rev-parse', 'their-work').trim(), latest);
      assert.notEqual(latest, theirs);
    } finally {
      await f.close();
    }
  });
});
