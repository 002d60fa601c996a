// Undo of a git branch delete through the real control plane and the built git server, against a
// real repository: the branch comes back at its tip; drift when a branch of that name appeared
// since; a forged backup ref (moved to another backup's commit) is refused, with the branch as witness.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { queryAudit } from '../../../src/core/audit';
import { git, makeRemote, makeRepo, tempDir, write } from '../../unit/git/fixture';
import { waitFor } from '../../helpers/fixture-plane';
import { startUndoPlane, type UndoPlane } from './harness';

const revParse = (repo: string, ref: string): string | undefined => {
  try {
    return git(repo, 'rev-parse', '--verify', '--quiet', ref).trim();
  } catch {
    return undefined;
  }
};

describe('undo on git (real repository)', () => {
  let repo: string;
  let up: UndoPlane;
  let client: Client;

  before(async () => {
    const ws = tempDir();
    repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n' }]);
    for (const branch of ['feature', 'spike', 'other']) {
      git(repo, 'switch', '-q', '-c', branch, 'main');
      write(repo, `${branch}.txt`, `${branch}\n`);
      git(repo, 'add', '.');
      git(repo, 'commit', '-q', '-m', `work on ${branch}`);
    }
    git(repo, 'switch', '-q', 'main');
    up = await startUndoPlane({ roots: [ws] });
    client = await up.client('git');
  });

  after(async () => {
    await up?.stop();
  });

  it('branch_delete → undo (approved, audited with undoOf) re-creates the branch at its tip', async () => {
    const tip = revParse(repo, 'refs/heads/feature')!;
    const { callId } = await up.approvedCall(client, 'branch_delete', { repo, name: 'feature', force: true });
    assert.equal(revParse(repo, 'refs/heads/feature'), undefined);
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.drift.changed, false, preview.text);
    assert.equal(preview.inverse.tool, 'backup_restore');
    const done = await up.approvedUndo(callId, { digest: preview.digest });
    assert.equal(done.approvalTool, 'backup_restore');
    assert.equal(done.ok, true, done.text);
    assert.equal(revParse(repo, 'refs/heads/feature'), tip);
    const linked = (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.completed'], tool: 'backup_restore' })).records.filter((r) => (r.detail as { undoOf?: string } | undefined)?.undoOf === callId);
    assert.equal(linked.length, 1);
  });

  it('drift: a branch of that name created since the call is shown', async () => {
    const { callId } = await up.approvedCall(client, 'branch_delete', { repo, name: 'spike', force: true });
    git(repo, 'branch', 'spike', 'main');
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.drift.changed, true);
    assert.match(preview.text, /CHANGED SINCE THE CALL/);
    console.log(`--- git undo preview with drift ---\n${preview.text}`);
    git(repo, 'branch', '-D', 'spike');
  });

  it('a forged backup ref (moved to another backup) is refused: the branch is not created', async () => {
    const first = await up.approvedCall(client, 'branch_delete', { repo, name: 'other', force: true });
    const backups = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/mcp-control-plane/backup/').trim().split('\n').map((l) => l.split(' ') as [string, string]);
    const own = backups.find(([ref]) => ref.includes('branch_delete') && git(repo, 'log', '-1', '--format=%B', ref).includes('branch other'))!;
    const foreign = backups.find(([ref]) => ref !== own[0] && git(repo, 'log', '-1', '--format=%B', ref).includes('branch spike'))!;
    // Anyone who can write to the repository moves the ref to another (valid) backup commit.
    git(repo, 'update-ref', own[0], foreign[1]);
    const done = await up.approvedUndo(first.callId);
    assert.equal(done.ok, false);
    assert.match(done.text, /points at .* not at .* (forged)?/);
    assert.equal(revParse(repo, 'refs/heads/other'), undefined, 'witness: nothing was restored');
  });
});

describe('what a push cannot undo (real repository and remote)', () => {
  it('the approval card says a push may be fetched by others; the push is recorded as not undoable', async () => {
    const ws = tempDir();
    const repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n' }]);
    makeRemote(ws, repo);
    write(repo, 'more.txt', 'more\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'more');
    const up = await startUndoPlane({ roots: [ws] });
    try {
      const client = await up.client('git');
      const pushing = client.callTool({ name: 'push', arguments: { repo } });
      await waitFor(() => up.plane.oversight.store.list().length === 1, 20_000, 'the approval');
      const a = up.plane.oversight.store.list()[0]!;
      const card = (await up.plane.oversight.state(60_000)).pending.find((p) => p.id === a.id)!;
      assert.match(card.preview.irreversible?.[0] ?? '', /can be fetched by others at once; no undo takes it back/);
      assert.match(card.preview.text ?? '', /Cannot be undone: what is pushed to .* can be fetched by others/);
      await up.plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: true }, { kind: 'vscode-ui' });
      const pushed = await pushing;
      assert.equal(pushed.isError, undefined);
      const completed = (await queryAudit(join(up.stateDir, 'audit'), { callId: a.callId!, type: ['call.completed'] })).records[0]!;
      assert.match(JSON.stringify(completed.detail), /a push is public at once/);
    } finally {
      await up.stop();
    }
  });
});

describe('undo size limit (real repository)', () => {
  it('a handle beyond undo.maxHandleBytes: "not undoable: too large" in the call result and its audit record, no file', async () => {
    const ws = tempDir();
    const repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n' }]);
    git(repo, 'switch', '-q', '-c', 'big', 'main');
    write(repo, 'big.txt', 'big\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', `a long message\n\n${'words '.repeat(400)}`);
    git(repo, 'switch', '-q', 'main');
    const up = await startUndoPlane({ roots: [ws], config: (c) => ({ ...c, undo: { ...c.undo, maxHandleBytes: 1024 } }) });
    try {
      const client = await up.client('git');
      const { callId, text } = await up.approvedCall(client, 'branch_delete', { repo, name: 'big', force: true });
      assert.match(text, /Not undoable: too large \(the prior state takes \d+ bytes, the limit is 1024/);
      const completed = (await queryAudit(join(up.stateDir, 'audit'), { callId, type: ['call.completed'] })).records[0]!;
      assert.deepEqual((completed.detail as { undo: { undoable: boolean } }).undo.undoable, false);
      assert.match(JSON.stringify(completed.detail), /not undoable: too large/);
      await assert.rejects(up.plane.undo.preview(callId), /is not undoable: not undoable: too large/);
    } finally {
      await up.stop();
    }
  });
});
