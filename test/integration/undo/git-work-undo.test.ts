// Undo of the git calls that discard work or move a branch, through the real control plane, the
// gateway and the built git server against a real repository: each undo is approved by a human,
// audited with undoOf, and puts back what the call took: the branch tip AND the uncommitted change
// a hard reset discarded, restored and cleaned files, a popped stash entry, the commit an amend
// replaced. A backup ref moved to another backup's commit (forged) is refused with the repository
// as witness; drift (the branch or a file changed since) is shown as a three-way difference.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { queryAudit } from '../../../src/core/audit';
import { waitFor } from '../../helpers/fixture-plane';
import { git, makeRepo, tempDir, write } from '../../unit/git/fixture';
import { startUndoPlane, type UndoPlane } from './harness';

describe('undo of git calls that discard work (real repository)', () => {
  let repo: string;
  let up: UndoPlane;
  let client: Client;

  const head = (): string => git(repo, 'rev-parse', 'HEAD').trim();
  const read = (file: string): string => readFileSync(join(repo, file), 'utf8');
  const commitFile = (file: string, content: string, message: string): string => {
    write(repo, file, content);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', message);
    return head();
  };
  const linked = async (callId: string, tool: string): Promise<number> =>
    (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.completed'], tool })).records.filter((r) => (r.detail as { undoOf?: string } | undefined)?.undoOf === callId).length;
  const backupRefs = (): Map<string, string> =>
    new Map(
      git(repo, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/mcp-control-plane/backup/')
        .trim()
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => l.split(' ') as [string, string]),
    );

  before(async () => {
    const ws = tempDir();
    repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n', 'a.txt': 'a1\n' }]);
    up = await startUndoPlane({ roots: [ws] });
    client = await up.client('git');
  });

  after(async () => {
    await up?.stop();
  });

  it('reset --hard → undo puts the branch tip back AND the uncommitted change the reset discarded', async () => {
    const base = head();
    const tip = commitFile('b.txt', 'b1\n', 'second');
    write(repo, 'a.txt', 'a1\nuncommitted work\n');
    const { callId } = await up.approvedCall(client, 'reset', { repo, mode: 'hard', target: 'HEAD~1' });
    assert.equal(head(), base);
    assert.equal(read('a.txt'), 'a1\n', 'the reset discarded the change');
    assert.equal(existsSync(join(repo, 'b.txt')), false);
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.inverse.tool, 'backup_rewind');
    assert.equal(preview.drift.changed, false, preview.text);
    assert.match(JSON.stringify(preview.inverse.args), /"commit":\{"id":"[^"]+-reset-[0-9a-f]+","sha":"[0-9a-f]{40}"\}/, 'the handle names the backup ref and its sha');
    const done = await up.approvedUndo(callId, { digest: preview.digest });
    assert.equal(done.approvalTool, 'backup_rewind', 'the undo asked a human');
    assert.equal(done.ok, true, done.text);
    assert.equal(git(repo, 'rev-parse', 'refs/heads/main').trim(), tip, 'main is back at its tip');
    assert.equal(read('a.txt'), 'a1\nuncommitted work\n', 'the discarded work-tree change is back');
    assert.equal(read('b.txt'), 'b1\n');
    assert.equal(await linked(callId, 'backup_rewind'), 1, 'the undo is audited and linked to the reset');
    git(repo, 'restore', 'a.txt');
  });

  it('restore → undo writes the discarded local changes back', async () => {
    write(repo, 'a.txt', 'a1\nlocal edit\n');
    const { callId } = await up.approvedCall(client, 'restore', { repo, paths: ['a.txt'] });
    assert.equal(read('a.txt'), 'a1\n');
    const done = await up.approvedUndo(callId);
    assert.equal(done.approvalTool, 'backup_restore');
    assert.equal(done.ok, true, done.text);
    assert.equal(read('a.txt'), 'a1\nlocal edit\n');
    assert.equal(await linked(callId, 'backup_restore'), 1);
    git(repo, 'restore', 'a.txt');
  });

  it('clean → undo brings the deleted untracked files back', async () => {
    write(repo, 'junk/one.txt', 'one\n');
    write(repo, 'junk/deep/two.txt', 'two\n');
    write(repo, 'notes.txt', 'notes\n');
    const { callId } = await up.approvedCall(client, 'clean', { repo });
    assert.equal(existsSync(join(repo, 'junk')), false);
    assert.equal(existsSync(join(repo, 'notes.txt')), false);
    const done = await up.approvedUndo(callId);
    assert.equal(done.ok, true, done.text);
    assert.equal(read('junk/one.txt'), 'one\n');
    assert.equal(read('junk/deep/two.txt'), 'two\n');
    assert.equal(read('notes.txt'), 'notes\n');
    git(repo, 'clean', '-fdq');
  });

  it('stash_pop → undo puts the entry back on the stash', async () => {
    write(repo, 'a.txt', 'a1\nstashed\n');
    git(repo, 'stash', 'push', '-q', '-m', 'keep me');
    const entry = git(repo, 'rev-parse', 'stash@{0}').trim();
    const { callId } = await up.approvedCall(client, 'stash_pop', { repo });
    assert.equal(git(repo, 'stash', 'list').trim(), '', 'the pop dropped the entry');
    const preview = await up.plane.undo.preview(callId);
    assert.match(preview.text, /Cannot be undone: the changes the pop applies stay in the work tree/);
    const done = await up.approvedUndo(callId, { digest: preview.digest });
    assert.equal(done.ok, true, done.text);
    assert.equal(git(repo, 'rev-parse', 'stash@{0}').trim(), entry, 'the same stash commit is back as stash@{0}');
    git(repo, 'restore', 'a.txt');
    git(repo, 'stash', 'drop', '-q');
  });

  it('commit --amend → undo puts the previous commit back as the tip', async () => {
    const original = commitFile('c.txt', 'c1\n', 'original message');
    const { callId } = await up.approvedCall(client, 'commit', { repo, amend: true, message: 'amended message' });
    assert.notEqual(head(), original);
    assert.equal(git(repo, 'log', '-1', '--format=%s').trim(), 'amended message');
    const done = await up.approvedUndo(callId);
    assert.equal(done.approvalTool, 'backup_rewind');
    assert.equal(done.ok, true, done.text);
    assert.equal(head(), original, 'the commit the amend replaced is the tip again');
    assert.equal(git(repo, 'log', '-1', '--format=%s').trim(), 'original message');
  });

  it('switch with discardChanges → undo switches back and writes the discarded changes back', async () => {
    git(repo, 'branch', 'other');
    write(repo, 'a.txt', 'a1\nwork in progress\n');
    const { callId } = await up.approvedCall(client, 'switch', { repo, branch: 'other', discardChanges: true });
    assert.equal(git(repo, 'branch', '--show-current').trim(), 'other');
    assert.equal(read('a.txt'), 'a1\n');
    const done = await up.approvedUndo(callId);
    assert.equal(done.approvalTool, 'backup_rewind');
    assert.equal(done.ok, true, done.text);
    assert.equal(git(repo, 'branch', '--show-current').trim(), 'main');
    assert.equal(read('a.txt'), 'a1\nwork in progress\n');
    git(repo, 'restore', 'a.txt');
    git(repo, 'branch', '-D', 'other');
  });

  it('merge → undo moves the branch back before the merge (keep mode: a local change elsewhere stays)', async () => {
    const before = head();
    git(repo, 'switch', '-q', '-c', 'topic');
    commitFile('topic.txt', 'topic\n', 'topic work');
    git(repo, 'switch', '-q', 'main');
    // A non-destructive write: policy lets it run without an approval; its undo asks one.
    const merged = await client.callTool({ name: 'merge', arguments: { repo, branch: 'topic', mode: 'no-ff' } });
    assert.equal(merged.isError, undefined);
    const callId = (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.completed'], tool: 'merge' })).records[0]!.callId!;
    assert.notEqual(head(), before);
    write(repo, 'README.md', '# local edit after the merge\n');
    const done = await up.approvedUndo(callId);
    assert.equal(done.ok, true, done.text);
    assert.equal(head(), before);
    assert.equal(existsSync(join(repo, 'topic.txt')), false, 'the merged file is gone again');
    assert.equal(read('README.md'), '# local edit after the merge\n', 'a local change the merge did not touch stays');
    git(repo, 'restore', 'README.md');
  });

  it('a forged backup ref (moved to another backup commit) is refused: branch and files stay as they are', async () => {
    const base = head();
    commitFile('d.txt', 'd1\n', 'to be reset');
    write(repo, 'a.txt', 'a1\nwork to lose\n');
    const refsBefore = backupRefs();
    const { callId } = await up.approvedCall(client, 'reset', { repo, mode: 'hard', target: 'HEAD~1' });
    const created = [...backupRefs()].filter(([ref]) => !refsBefore.has(ref));
    const own = created.find(([ref]) => git(repo, 'log', '-1', '--format=%B', ref).includes('before reset'))!;
    const foreign = [...refsBefore].find(([ref]) => ref.includes('-amend-'))!;
    // Anyone who can write to the repository moves the ref to another, valid backup commit.
    git(repo, 'update-ref', own[0], foreign[1]);
    const done = await up.approvedUndo(callId);
    assert.equal(done.ok, false);
    assert.match(done.text, /points at [0-9a-f]{40}, not at [0-9a-f]{40} as recorded when the backup was taken/);
    assert.equal(head(), base, 'witness: main did not move');
    assert.equal(read('a.txt'), 'a1\n', 'witness: no file was written back');
  });

  it('what an undo of a reset cannot bring back (the staging) is on the approval card before approval; rejected, nothing moved', async () => {
    const tip = commitFile('f.txt', 'f1\n', 'card');
    write(repo, 'a.txt', 'a1\nstaged edit\n');
    git(repo, 'add', 'a.txt');
    const pending = client.callTool({ name: 'reset', arguments: { repo, mode: 'hard', target: 'HEAD~1' } });
    await waitFor(() => up.plane.oversight.store.list().length === 1, 20_000, 'the approval of reset');
    const a = up.plane.oversight.store.list()[0]!;
    const card = (await up.plane.oversight.state(60_000)).pending.find((p) => p.id === a.id)!;
    assert.match(card.preview.text ?? '', /Cannot be undone: which changes were staged \(1 file\): the index is not kept/);
    assert.match(card.preview.irreversible?.[0] ?? '', /^which changes were staged/);
    await up.plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: false }, { kind: 'vscode-ui' });
    assert.equal((await pending).isError, true);
    assert.equal(head(), tip, 'witness: the branch did not move');
    assert.equal(git(repo, 'diff', '--cached', '--name-only').trim(), 'a.txt', 'witness: the staged change is still staged');
    git(repo, 'reset', '-q', '--hard');
  });

  it('drift: a commit and a file edit after the reset show in the three-way difference', async () => {
    commitFile('e.txt', 'e1\n', 'to be reset again');
    write(repo, 'a.txt', 'a1\nagent discarded this\n');
    const { callId } = await up.approvedCall(client, 'reset', { repo, mode: 'hard', target: 'HEAD~1' });
    const afterReset = head();
    // Someone works on after the call: edits the file and commits.
    const later = commitFile('a.txt', 'a1\nsomeone else\n', 'later work');
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.drift.changed, true);
    assert.match(preview.text, /CHANGED SINCE THE CALL \(checked with repo_state\)/);
    assert.match(preview.text, new RegExp(`\\[-x-\\] HEAD: branch main at ${afterReset}`));
    assert.match(preview.text, new RegExp(`\\[--x\\] HEAD: branch main at ${later}`));
    assert.match(preview.text, /\[x--\] file a\.txt: content [0-9a-f]{40}/);
    assert.match(preview.text, /\[--x\] file a\.txt: content [0-9a-f]{40}/);
    console.log(`--- git undo preview with drift (reset --hard) ---\n${preview.text}`);
    // A run bound to a digest from before the state moved again is refused.
    write(repo, 'a.txt', 'a1\nmoved again\n');
    await assert.rejects(up.plane.undo.run(callId, { digest: preview.digest }), /no longer the one previewed/);
    assert.equal(head(), later, 'witness: nothing ran');
  });
});
