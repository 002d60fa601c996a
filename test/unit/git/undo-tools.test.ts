// The two git tools undo relies on, against a real repository: repo_state (the drift check) and
// backup_rewind's refusals, each with the repository as witness that nothing moved.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { cleanup, connect, git, makeRepo, tempDir, write, type Harness } from './fixture';

let base: string;
let repo: string;
let h: Harness;

beforeEach(async () => {
  base = tempDir();
  repo = makeRepo(join(base, 'ws', 'app'), [{ 'a.txt': 'a\n' }, { 'a.txt': 'a2\n' }]);
  h = await connect([join(base, 'ws')]);
});
afterEach(async () => {
  await h.close();
  cleanup(base);
});

const head = (): string => git(repo, 'rev-parse', 'HEAD').trim();
/** The undo handle a call returned (the gateway would keep it; here it is read off the result). */
const handleOf = (r: { raw: { _meta?: Record<string, unknown> } }): Record<string, unknown> => r.raw._meta?.['mcpcp/undo'] as Record<string, unknown>;

describe('repo_state', () => {
  it('shows HEAD, a content hash per file (absent when missing) and the stash, and changes when a file does', async () => {
    const first = await h.call('repo_state', { repo, paths: ['a.txt', 'gone.txt'], stash: true });
    assert.equal(first.isError, false, first.text);
    assert.equal(first.text, `HEAD: branch main at ${head()}\nfile a.txt: content ${git(repo, 'hash-object', 'a.txt').trim()}\nfile gone.txt: absent\nstash: 0 entries`);
    write(repo, 'a.txt', 'edited\n');
    const second = await h.call('repo_state', { repo, paths: ['a.txt'] });
    assert.notEqual(second.text.split('\n')[1], first.text.split('\n')[1]);
  });
});

describe('backup_rewind', () => {
  it('refuses to move a branch HEAD is not on: witness, neither branch moves', async () => {
    const reset = await h.call('reset', { repo, mode: 'hard', target: 'HEAD~1' });
    const inverse = (handleOf(reset)['inverse'] as { args: Record<string, unknown> }).args;
    git(repo, 'switch', '-q', '-c', 'elsewhere');
    const at = head();
    const r = await h.call('backup_rewind', inverse);
    assert.equal(r.isError, true);
    assert.match(r.text, /HEAD is on elsewhere, not on main, the branch this puts back/);
    assert.equal(head(), at);
    assert.equal(git(repo, 'rev-parse', 'main').trim(), at);
  });

  it('refuses a "to" that HEAD does not contain (nothing would keep it): witness, HEAD stays', async () => {
    git(repo, 'switch', '-q', '-c', 'side', 'HEAD~1');
    write(repo, 'side.txt', 's\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'side');
    const side = head();
    git(repo, 'switch', '-q', 'main');
    const at = head();
    const r = await h.call('backup_rewind', { repo, to: side });
    assert.equal(r.isError, true);
    assert.match(r.text, /is not a commit HEAD contains/);
    assert.equal(head(), at);
  });

  it('undoes its own rewind: the handle it returns puts the tip and the overwritten file back', async () => {
    const tip = head();
    write(repo, 'a.txt', 'uncommitted\n');
    const r = await h.call('backup_rewind', { repo, branch: 'main', to: git(repo, 'rev-parse', 'HEAD~1').trim(), mode: 'hard' });
    assert.equal(r.isError, false, r.text);
    assert.notEqual(head(), tip);
    const handle = handleOf(r) as { undoable: boolean; inverse: { tool: string; args: Record<string, unknown> } };
    assert.equal(handle.undoable, true);
    assert.equal(handle.inverse.tool, 'backup_rewind');
    const back = await h.call('backup_rewind', handle.inverse.args);
    assert.equal(back.isError, false, back.text);
    assert.equal(head(), tip);
    assert.equal(git(repo, 'show', ':a.txt').trim(), 'a2');
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'uncommitted\n');
  });
});
