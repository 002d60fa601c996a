import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ApprovalStore, FilePendingJournal, type AuditSink } from '../../../src/core/approvals';
import { AuditLog, defaultAuditKeyFile, fileAuditKeyStorage, loadOrCreateAuditKeyring, queryAudit, verifyAudit, type AuditEvent } from '../../../src/core/audit';
import { Redactor } from '../../../src/core/redact';

const HOLDER = join(__dirname, 'fixtures', 'pending-holder.ts');

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-approvals-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A pid that certainly belongs to no process any more. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}

interface Held {
  readonly pid: number;
  readonly pending: readonly { id: string; digest: string }[];
  readonly approved: string;
}

/** Runs the holder until it has printed its approvals, then SIGKILLs it. */
function holdAndKill(dir: string, instanceId: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dir, instanceId], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let held: Held | undefined;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (held === undefined && out.includes('\n')) {
        held = JSON.parse(out.slice(0, out.indexOf('\n'))) as Held;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => (held !== undefined && signal === 'SIGKILL' ? resolve(held) : reject(new Error(`holder failed: ${err}`))));
  });
}

describe('pending approvals across a restart', () => {
  it('a killed control plane: its pending approvals are rejected and audited at the next start, never executed', async (t) => {
    const dir = tempDir(t);
    const held = await holdAndKill(dir, 'vscode-1');
    const journals = readdirSync(dir).filter((n) => n.startsWith('approvals-pending-'));
    assert.deepEqual(journals, [`approvals-pending-vscode-1-${held.pid}.json`]);
    const journalText = readFileSync(join(dir, journals[0] ?? ''), 'utf8');
    assert.ok(!journalText.includes('web-1'), 'arguments are not persisted');
    assert.equal(statSync(join(dir, journals[0] ?? '')).mode & 0o777, 0o600);

    // The next start: same data directory, a new process.
    const keys = await loadOrCreateAuditKeyring(fileAuditKeyStorage(defaultAuditKeyFile(dir)));
    const audit = await AuditLog.open({ dir: join(dir, 'audit'), instanceId: 'vscode-1', redactor: new Redactor(), keys });
    const journal = new FilePendingJournal({ dir, instanceId: 'vscode-1' });
    const recovered = await journal.recoverOrphans(audit);
    assert.deepEqual(recovered.map((r) => r.id).sort(), held.pending.map((p) => p.id).sort());
    assert.ok(!recovered.some((r) => r.id === held.approved), 'a decided approval was not pending');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('approvals-pending-')), [], 'the journal is gone');

    const store = new ApprovalStore({ journal });
    for (const p of held.pending) {
      assert.equal(store.consume('kubernetes', 'pod_delete', p.digest), undefined, 'nothing from the old run can execute');
      assert.equal(store.get(p.id), undefined);
    }
    await audit.close();

    const { records } = await queryAudit(join(dir, 'audit'), { type: 'approval.decided' });
    assert.deepEqual(records.map((r) => r.approvalId).sort(), held.pending.map((p) => p.id).sort());
    for (const r of records) {
      assert.equal(r.decision, 'rejected');
      assert.deepEqual(r.actor, { kind: 'system' });
      assert.match(r.reason ?? '', /control plane restarted/);
    }
    const pod = records.find((r) => r.callId === 'c1');
    assert.deepEqual({ server: pod?.server, tool: pod?.tool, kind: pod?.kind, client: pod?.client }, {
      server: 'kubernetes',
      tool: 'pod_delete',
      kind: 'tool',
      client: { name: 'Visual Studio Code', version: '1.101.0' },
    });
    assert.equal(records.find((r) => r.callId === 'c2')?.kind, 'resource');
    assert.equal((await verifyAudit(join(dir, 'audit'), { keys })).ok, true);

    const sink: AuditEvent[] = [];
    assert.deepEqual(await journal.recoverOrphans({ append: async (e) => sink.push(e) }), [], 'recovery happens once');
  });

  it('leaves the journals of live control planes alone (several VS Code windows)', async (t) => {
    const dir = tempDir(t);
    const live = new FilePendingJournal({ dir, instanceId: 'vscode-2', pid: process.ppid });
    new ApprovalStore({ journal: live }).request({ server: 's', tool: 't', args: {}, displayArgs: {}, reason: 'r' });
    const mine = new FilePendingJournal({ dir, instanceId: 'vscode-1' });
    const events: AuditEvent[] = [];
    assert.deepEqual(await mine.recoverOrphans({ append: async (e) => events.push(e) }), []);
    assert.equal(events.length, 0);
    assert.equal(readdirSync(dir).length, 1);
  });

  it('two instances starting together audit each orphan exactly once', async (t) => {
    const dir = tempDir(t);
    const pid = deadPid();
    for (const instanceId of ['a', 'b', 'c']) {
      const store = new ApprovalStore({ journal: new FilePendingJournal({ dir, instanceId, pid }) });
      store.request({ server: 's', tool: instanceId, args: {}, displayArgs: {}, reason: 'r' });
      store.request({ server: 's', tool: `${instanceId}2`, args: {}, displayArgs: {}, reason: 'r' });
    }
    const events: AuditEvent[] = [];
    const sink: AuditSink = { append: async (e) => events.push(e) };
    const [x, y] = await Promise.all([
      new FilePendingJournal({ dir, instanceId: 'x' }).recoverOrphans(sink),
      new FilePendingJournal({ dir, instanceId: 'y', pid: process.ppid }).recoverOrphans(sink),
    ]);
    assert.equal((x?.length ?? 0) + (y?.length ?? 0), 6);
    assert.equal(new Set(events.map((e) => e.approvalId)).size, 6);
    assert.equal(events.length, 6);
  });

  it('when the audit cannot be written, the journal is put back for the next start', async (t) => {
    const dir = tempDir(t);
    const store = new ApprovalStore({ journal: new FilePendingJournal({ dir, instanceId: 'a', pid: deadPid() }) });
    store.request({ server: 's', tool: 't', args: {}, displayArgs: {}, reason: 'r' });
    const before = readdirSync(dir);
    const journal = new FilePendingJournal({ dir, instanceId: 'b' });
    await assert.rejects(journal.recoverOrphans({ append: async () => Promise.reject(new Error('audit closed')) }), { code: 'APPROVAL_RECOVERY_FAILED' });
    assert.deepEqual(readdirSync(dir), before);
    const events: AuditEvent[] = [];
    assert.equal((await journal.recoverOrphans({ append: async (e) => events.push(e) })).length, 1);
  });

  it('an unreadable journal is still reported as a restart with rejected approvals', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, `approvals-pending-a-${deadPid()}.json`), '{"version":1,"ent');
    const events: AuditEvent[] = [];
    await new FilePendingJournal({ dir, instanceId: 'b' }).recoverOrphans({ append: async (e) => events.push(e) });
    assert.equal(events.length, 1);
    assert.match(events[0]?.reason ?? '', /unreadable/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('the journal follows the pending set and disappears when nothing is pending', (t) => {
    const dir = tempDir(t);
    const journal = new FilePendingJournal({ dir, instanceId: 'a' });
    const store = new ApprovalStore({ journal });
    const { approval } = store.request({ server: 's', tool: 't', args: { password: 'p' }, displayArgs: {}, reason: 'r' });
    const saved = JSON.parse(readFileSync(journal.file, 'utf8')) as { entries: { id: string }[] };
    assert.deepEqual(saved.entries.map((e) => e.id), [approval.id]);
    store.decide(approval.id, { approve: false, by: { kind: 'vscode-ui' } });
    assert.deepEqual(readdirSync(dir), []);
  });
});
