import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultAuditKeyFile, fileAuditKeyStorage, listAuditFiles, queryAudit, serializeAuditKeyring, verifyAudit } from '../../../src/core/audit';
import { TEST_KEYS, openLog, tempDir } from './helpers';

const WRITER = join(__dirname, 'fixtures', 'audit-writer.ts');

interface Run {
  readonly acked: ReadonlySet<number>;
  readonly previousSeq: number;
}

/**
 * Starts the writer and SIGKILLs it at the first acknowledgement after `minAcks` once a large record
 * was queued: the writer has then just begun the write containing it, so the kill often tears it.
 */
function runAndKill(dir: string, minAcks: number, bigMiB: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, 'crash', String(bigMiB)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Set<number>();
    let previousSeq = -1;
    let buffered = '';
    let stderr = '';
    let bigQueued = false;
    let killed = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, value] = line.split(' ');
        if (word === 'open') previousSeq = Number(value);
        if (word === 'big' && acked.size >= minAcks) bigQueued = true;
        if (word === 'ack') {
          acked.add(Number(value));
          if (bigQueued && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer ended with ${code ?? signal}: ${stderr}`));
      else resolve({ acked, previousSeq });
    });
  });
}

/** Every complete line's seq in the instance's files, and whether the newest ends in a torn line. */
async function onDisk(dir: string): Promise<{ seqs: Set<number>; torn: boolean }> {
  const seqs = new Set<number>();
  let torn = false;
  for (const file of await listAuditFiles(dir, 'crash')) {
    const text = readFileSync(file.path, 'utf8');
    const lines = text.split('\n');
    const tail = lines.pop();
    if (tail !== undefined && tail !== '') torn = true;
    for (const line of lines) seqs.add((JSON.parse(line) as { seq: number }).seq);
  }
  return { seqs, torn };
}

describe('AuditLog: kill -9 of the writer during a burst', () => {
  it('loses no acknowledged record, and the torn tail is detected and quarantined', async (t) => {
    const dir = tempDir(t);
    await fileAuditKeyStorage(defaultAuditKeyFile(dirname(dir))).write(serializeAuditKeyring(TEST_KEYS));
    let tornSeen = 0;
    let totalAcked = 0;
    // At least 3 kills; more (up to 8, with a larger record, so a slow parent still lands inside the
    // write) until one of them tore a write, which is what usually happens.
    let round = 0;
    for (; round < 3 || (tornSeen === 0 && round < 8); round++) {
      const { acked, previousSeq } = await runAndKill(dir, 100, round < 3 ? 32 : 64);
      assert.ok(acked.size >= 100);
      totalAcked += acked.size;
      const { seqs, torn } = await onDisk(dir);
      for (const seq of acked) assert.ok(seqs.has(seq), `acknowledged seq ${seq} is on disk (round ${round})`);
      assert.ok(Math.min(...acked) > previousSeq, 'seq continues across restarts');

      const before = await verifyAudit(dir, { keys: TEST_KEYS });
      assert.equal(before.ok, true, `chain intact before repair: ${JSON.stringify(before.firstBroken)}`);
      assert.equal(before.tornTails.length, torn ? 1 : 0, 'verify reports the torn tail');

      // The next start of the same instance repairs the tail (here the parent; next round the child).
      const log = await openLog(dir, { instanceId: 'crash' });
      assert.equal(log.openReport.quarantined !== undefined, torn, 'open detects exactly the torn tail');
      await log.close();
      if (torn) tornSeen++;
      const after = await verifyAudit(dir, { keys: TEST_KEYS });
      assert.equal(after.ok, true);
      assert.deepEqual(after.tornTails, []);
    }
    const { records } = await queryAudit(dir, { type: 'audit.tail-quarantined' }, { limit: 100 });
    assert.equal(records.length, tornSeen, 'each quarantine is recorded in the chain');
    assert.ok(tornSeen >= 1, 'a kill tore a write at least once');
    t.diagnostic(`${round} kills, ${totalAcked} acknowledged appends, ${tornSeen} torn tails quarantined`);
  });
});
