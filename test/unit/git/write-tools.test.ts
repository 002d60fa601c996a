import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { cleanup, connect, git, makeRepo, tempDir, write, type Harness } from './fixture';

let base: string;
let repo: string;
let h: Harness;

// Each test gets a fresh repository: a.txt, src/b.ts on main, plus branch "topic" with one commit.
beforeEach(async () => {
  base = tempDir();
  repo = makeRepo(join(base, 'ws', 'app'), [{ 'a.txt': 'a\n', 'src/b.ts': 'b\n' }, { 'a.txt': 'a2\n' }]);
  git(repo, 'switch', '-q', '-c', 'topic');
  write(repo, 'topic.txt', 't\n');
  git(repo, 'add', 'topic.txt');
  git(repo, 'commit', '-qm', 'topic work');
  git(repo, 'switch', '-q', 'main');
  h = await connect([join(base, 'ws')]);
});
afterEach(async () => {
  await h.close();
  cleanup(base);
});
after(() => undefined);

const read = (rel: string) => readFileSync(join(repo, rel), 'utf8');
const head = () => git(repo, 'rev-parse', 'HEAD').trim();
const stagedNames = () => git(repo, 'diff', '--cached', '--name-only').trim();
const backups = () => git(repo, 'for-each-ref', '--format=%(refname)', 'refs/mcp-control-plane/backup/').trim().split('\n').filter(Boolean);

describe('add, unstage, commit', () => {
  it('stages paths, unstages them, and commits what is staged', async () => {
    write(repo, 'a.txt', 'a3\n');
    write(repo, 'new.txt', 'n\n');
    const added = await h.call('add', { paths: ['a.txt', 'new.txt'] });
    assert.match(added.text, /Staged now \(2 files\):\n {2}M {2}a\.txt\n {2}A {2}new\.txt/);
    assert.equal((await h.call('unstage', { paths: ['new.txt'] })).isError, false);
    assert.equal(stagedNames(), 'a.txt');
    const preview = await h.call('commit', { message: 'Update a', dryRun: true });
    assert.match(preview.text, /^Dry run: would commit 1 staged file to main\.\n a\.txt \| 2 \+-[\s\S]*Message:\nUpdate a\nNothing was changed\.$/);
    const before = head();
    assert.equal(head(), before);
    const done = await h.call('commit', { message: 'Update a\n\nWith a body.' });
    assert.match(done.text, /^Committed [0-9a-f]{7,} Update a on main\./);
    assert.equal(git(repo, 'log', '-1', '--format=%B').trim(), 'Update a\n\nWith a body.');
    assert.equal(stagedNames(), '');
  });

  it('refuses to commit with nothing staged, and says what to do', async () => {
    write(repo, 'a.txt', 'changed\n');
    const r = await h.call('commit', { message: 'x' });
    assert.equal(r.isError, true);
    assert.match(r.text, /Nothing is staged[\s\S]*Stage changes with add first: 1 modified file/);
  });

  it('refuses to commit an obvious secret, naming file and line but not the secret', async () => {
    const key = ['AKIA', 'Z7QWERTYUIOPASDF'].join('');
    write(repo, 'config.js', `module.exports = {\n  key: '${key}',\n};\n`);
    await h.call('add', { paths: ['config.js'] });
    const before = head();
    for (const dryRun of [true, false]) {
      const r = await h.call('commit', { message: 'add config', dryRun });
      assert.equal(r.isError, true);
      assert.match(r.text, /Refused to commit: the staged changes contain an AWS access key id in config\.js line 2/);
      assert.ok(!r.text.includes(key));
    }
    assert.equal(head(), before);
    write(repo, 'id_rsa', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
    await h.call('unstage', { paths: ['config.js'] });
    await h.call('add', { paths: ['id_rsa'] });
    assert.match((await h.call('commit', { message: 'key' })).text, /a private key in id_rsa line 1/);
  });

  it('amends the last commit and keeps the old one in a backup', async () => {
    const old = head();
    const r = await h.call('commit', { amend: true, message: 'Second, reworded' });
    assert.match(r.text, /Amended .* Second, reworded[\s\S]*Backup kept: \S+-amend-/);
    assert.notEqual(head(), old);
    assert.equal(backups().length, 1);
    assert.equal(git(repo, 'rev-parse', `${backups()[0]}^1`).trim(), old);
  });

  it('requires a message unless amending', async () => {
    write(repo, 'a.txt', 'x\n');
    await h.call('add', { paths: ['a.txt'] });
    assert.match((await h.call('commit', {})).text, /Invalid "message"/);
  });
});

describe('a repository without commits', () => {
  it('reports the state, stages, unstages and makes the first commit', async () => {
    const empty = join(base, 'ws', 'empty');
    git(base, 'init', '-q', '-b', 'main', empty);
    git(empty, 'config', 'user.name', 'Ada Tester');
    git(empty, 'config', 'user.email', 'ada@example.com');
    write(empty, 'first.txt', '1\n');
    const status = await h.call('repo_status', { repo: empty });
    assert.match(status.text, /branch main \(no commits yet\), no upstream/);
    const log = await h.call('log', { repo: empty });
    assert.equal(log.isError, true);
    assert.match(log.text, /Invalid "to": the current branch has no commits yet/);
    await h.call('add', { repo: empty, all: true });
    assert.match((await h.call('unstage', { repo: empty })).text, /Unstaged 1 file/);
    await h.call('add', { repo: empty, paths: ['first.txt'] });
    assert.match((await h.call('commit', { repo: empty, message: 'First' })).text, /^Committed [0-9a-f]+ First on main\./);
  });
});

describe('restore, reset and clean keep what they discard', () => {
  it('restore previews, discards, and backup_restore brings the change back', async () => {
    write(repo, 'a.txt', 'precious edit\n');
    const preview = await h.call('restore', { paths: ['a.txt'], dryRun: true });
    assert.match(preview.text, /would discard local changes in 1 file:\n a\.txt \| 2 \+-/);
    assert.equal(read('a.txt'), 'precious edit\n');
    const done = await h.call('restore', { paths: ['a.txt'] });
    assert.match(done.text, /Backup kept: (\S+-restore-\S+)/);
    assert.equal(read('a.txt'), 'a2\n');
    const id = /Backup kept: (\S+)/.exec(done.text)?.[1] ?? '';
    const list = await h.call('backup_list');
    assert.match(list.text, new RegExp(`${id} +files .*restore 1 file from the index`));
    const dry = await h.call('backup_restore', { id, dryRun: true });
    assert.match(dry.text, /would write back 1 file[\s\S]*a\.txt {2}\(replaces the current version\)/);
    assert.equal(read('a.txt'), 'a2\n');
    const back = await h.call('backup_restore', { id });
    assert.equal(back.isError, false, back.text);
    assert.equal(read('a.txt'), 'precious edit\n');
    assert.match(back.text, /Backup kept: /, 'the version it replaced is backed up too');
  });

  it('hard reset lists lost commits and files, then backs both up', async () => {
    const old = head();
    write(repo, 'a.txt', 'uncommitted\n');
    const preview = await h.call('reset', { mode: 'hard', target: 'HEAD~1', dryRun: true });
    assert.match(preview.text, /Commits leaving the branch \(1\):\n {2}[0-9a-f]+ commit 2\nUncommitted changes discarded in 1 file:\n {2}a\.txt/);
    assert.equal(head(), old);
    const done = await h.call('reset', { mode: 'hard', target: 'HEAD~1' });
    assert.equal(done.isError, false, done.text);
    assert.notEqual(head(), old);
    assert.equal(read('a.txt'), 'a\n');
    assert.equal(backups().length, 2);
    const ids = [...(await h.call('backup_list')).text.matchAll(/^(\S+-reset-\S+) +(commit|files)/gm)];
    const commitId = ids.find((m) => m[2] === 'commit')?.[1];
    const restored = await h.call('backup_restore', { id: commitId });
    assert.match(restored.text, /Created branch restored\/\S+ at [0-9a-f]+ commit 2/);
    assert.equal(git(repo, 'rev-parse', `restored/${commitId}`).trim(), old);
  });

  it('soft and mixed resets keep the work', async () => {
    await h.call('reset', { mode: 'soft', target: 'HEAD~1' });
    assert.equal(stagedNames(), 'a.txt');
    await h.call('reset', {});
    assert.equal(stagedNames(), '');
    assert.equal(read('a.txt'), 'a2\n');
  });

  it('clean previews, deletes untracked files, and backup_restore writes them back', async () => {
    write(repo, 'junk/one.txt', '1\n');
    write(repo, 'two.txt', '2\n');
    write(repo, '.gitignore', 'build/\n');
    write(repo, 'build/out.js', 'o\n');
    const preview = await h.call('clean', { dryRun: true });
    assert.match(preview.text, /would delete 3 untracked entries:\n {2}\.gitignore\n {2}junk\/\n {2}two\.txt/);
    assert.ok(existsSync(join(repo, 'two.txt')));
    const done = await h.call('clean', {});
    assert.ok(!existsSync(join(repo, 'two.txt')) && !existsSync(join(repo, 'junk')));
    assert.ok(existsSync(join(repo, 'build/out.js')), 'ignored files stay');
    const id = /Backup kept: (\S+)/.exec(done.text)?.[1];
    const back = await h.call('backup_restore', { id });
    assert.equal(back.isError, false, back.text);
    assert.equal(read('junk/one.txt'), '1\n');
    assert.equal(read('two.txt'), '2\n');
    assert.match(git(repo, 'status', '--porcelain'), /\?\? junk\//, 'restored files are untracked again');
  });
});

describe('branches, switch, merge, tags', () => {
  it('creates, switches and deletes branches; an unmerged one needs force and is restorable', async () => {
    assert.match((await h.call('branch_create', { name: 'feature/new', startPoint: 'HEAD~1' })).text, /Created branch feature\/new at [0-9a-f]{8} \(HEAD~1\)/);
    assert.match((await h.call('branch_create', { name: 'feature/new' })).text, /already exists/);
    const tip = git(repo, 'rev-parse', 'topic').trim();
    const dry = await h.call('branch_delete', { name: 'topic', dryRun: true });
    assert.match(dry.text, /Commits found only on this branch \(1\):\n {2}[0-9a-f]+ topic work\nWithout force: true the deletion would be refused/);
    const refused = await h.call('branch_delete', { name: 'topic' });
    assert.equal(refused.isError, true);
    assert.match(refused.text, /not fully merged/);
    const done = await h.call('branch_delete', { name: 'topic', force: true });
    assert.match(done.text, /Deleted branch topic/);
    assert.equal(git(repo, 'branch', '--list', 'topic').trim(), '');
    const id = /Backup kept: (\S+)/.exec(done.text)?.[1];
    const back = await h.call('backup_restore', { id });
    assert.match(back.text, /Created branch topic at /);
    assert.equal(git(repo, 'rev-parse', 'topic').trim(), tip);
    assert.match((await h.call('branch_delete', { name: 'main' })).text, /is the current branch/);
  });

  it('switch carries changes, refuses conflicts, and discards only when asked (with a backup)', async () => {
    write(repo, 'src/b.ts', 'local edit\n');
    const carried = await h.call('switch', { branch: 'topic' });
    assert.match(carried.text, /Switched to branch topic[\s\S]*carried over/);
    assert.equal(read('src/b.ts'), 'local edit\n');
    await h.call('switch', { branch: 'main' });
    write(repo, 'topic.txt', 'untracked clash\n');
    const clash = await h.call('switch', { branch: 'topic' });
    assert.equal(clash.isError, true);
    assert.match(clash.text, /untracked working tree files would be overwritten[\s\S]*Commit them/);
    const dry = await h.call('switch', { branch: 'topic', discardChanges: true, dryRun: true });
    assert.match(dry.text, /Local changes in 1 file would be DISCARDED[\s\S]*src\/b\.ts/);
    const forced = await h.call('switch', { branch: 'main', create: false, discardChanges: true });
    assert.equal(forced.isError, false, forced.text);
    assert.equal(read('src/b.ts'), 'b\n');
    assert.match(forced.text, /Backup kept: /);
  });

  it('switch creates branches and detaches', async () => {
    assert.match((await h.call('switch', { branch: 'new-one', create: true, startPoint: 'topic' })).text, /new branch new-one at /);
    assert.equal(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'new-one');
    assert.match((await h.call('switch', { branch: 'HEAD~1', detach: true })).text, /detached at/);
  });

  it('merge fast-forwards by default, refuses divergence, and lists conflicts', async () => {
    assert.match((await h.call('merge', { branch: 'topic' })).text, /main fast-forwarded to [0-9a-f]{8} \(topic\); 1 commit added/);
    git(repo, 'switch', '-q', '-c', 'side', 'HEAD~1');
    write(repo, 'a.txt', 'side\n');
    git(repo, 'commit', '-qam', 'side change');
    git(repo, 'switch', '-q', 'main');
    write(repo, 'a.txt', 'main change\n');
    git(repo, 'commit', '-qam', 'main change');
    const ff = await h.call('merge', { branch: 'side' });
    assert.equal(ff.isError, true);
    assert.match(ff.text, /Not possible to fast-forward|diverged/i);
    const conflict = await h.call('merge', { branch: 'side', mode: 'ff' });
    assert.equal(conflict.isError, false);
    assert.match(conflict.text, /stopped with conflicts in 1 file:\n {2}a\.txt\nThe repository is now merging/);
    const abandon = await h.call('reset', { mode: 'hard' });
    assert.match(abandon.text, /merge in progress is abandoned/);
    assert.ok(!existsSync(join(repo, '.git', 'MERGE_HEAD')));
  });

  it('creates lightweight and annotated tags', async () => {
    assert.match((await h.call('tag_create', { name: 'v1.0.0', message: 'First release' })).text, /annotated tag v1\.0\.0/);
    assert.match((await h.call('tag_create', { name: 'light', revision: 'HEAD~1' })).text, /lightweight tag light/);
    assert.equal(git(repo, 'cat-file', '-t', 'v1.0.0').trim(), 'tag');
  });
});

describe('stash', () => {
  it('pushes and pops, keeping a backup of the dropped entry', async () => {
    write(repo, 'a.txt', 'wip\n');
    write(repo, 'u.txt', 'untracked\n');
    assert.match((await h.call('stash_push', { message: 'my wip', includeUntracked: true })).text, /Stashed: stash@\{0\} [0-9a-f]+ On main: my wip/);
    assert.equal(read('a.txt'), 'a2\n');
    assert.equal((await h.call('stash_push', {})).text, 'No local changes to stash; nothing changed.');
    const dry = await h.call('stash_pop', { dryRun: true });
    assert.match(dry.text, /would apply stash@\{0\} \(On main: my wip/);
    assert.equal(git(repo, 'stash', 'list').trim().split('\n').length, 1);
    const popped = await h.call('stash_pop', {});
    assert.match(popped.text, /Popped stash@\{0\}[\s\S]*Backup kept: /);
    assert.equal(read('a.txt'), 'wip\n');
    assert.equal(git(repo, 'stash', 'list').trim(), '');
    const id = /Backup kept: (\S+)/.exec(popped.text)?.[1];
    await h.call('backup_restore', { id });
    assert.match(git(repo, 'stash', 'list'), /restored stash entry/);
    assert.match((await h.call('stash_pop', { index: 5 })).text, /no stash entry 5/);
  });
});
