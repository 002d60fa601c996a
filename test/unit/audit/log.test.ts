import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { canonicalJson, sha256Hex } from '../../../src/core/canonical-json';
import { AuditLog, GENESIS_HASH, queryAudit, recordHash, recordMac, verifyAudit, type AuditRecord } from '../../../src/core/audit';
import { Redactor } from '../../../src/core/redact';
import { TEST_KEYS, openLog, readAuditLines, sampleEvent, tempDir } from './helpers';

const FILE1 = 'audit-test-000001.jsonl';

async function writeRecords(dir: string, n: number, options: Parameters<typeof openLog>[1] = {}): Promise<void> {
  const log = await openLog(dir, options);
  for (let i = 0; i < n; i++) await log.append(sampleEvent(i));
  await log.close();
}

function rewrite(dir: string, file: string, change: (lines: string[]) => string[]): void {
  const lines = readFileSync(join(dir, file), 'utf8').replace(/\n$/, '').split('\n');
  writeFileSync(join(dir, file), `${change(lines).join('\n')}\n`);
}

function parse(line: string | undefined): AuditRecord {
  assert.ok(line !== undefined);
  return JSON.parse(line) as AuditRecord;
}

describe('AuditLog: the chain', () => {
  it('writes canonical, hash-chained records that verify', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 25);
    const lines = readAuditLines(dir).get(FILE1) ?? [];
    assert.equal(lines.length, 25);
    let prev = GENESIS_HASH;
    lines.forEach((line, i) => {
      const record = parse(line);
      assert.equal(canonicalJson(record), line);
      assert.equal(record.seq, i + 1);
      assert.equal(record.instance, 'test');
      assert.equal(record.prev, prev);
      assert.equal(record.kid, TEST_KEYS.current);
      assert.equal(record.hash, recordMac(TEST_KEYS.keys.get(TEST_KEYS.current) ?? Buffer.alloc(0), record));
      assert.ok(!Number.isNaN(Date.parse(record.ts)));
      prev = record.hash;
    });
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.ok, true);
    assert.equal(result.records, 25);
    assert.equal(result.files, 1);
    assert.equal(result.instances[0]?.lastHash, prev);
    assert.deepEqual(result.tornTails, []);
  });

  it('acknowledges only what is on disk, in call order', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir);
    const acknowledged: number[] = [];
    const appends = Array.from({ length: 40 }, (_, i) =>
      log.append(sampleEvent(i)).then((r) => {
        acknowledged.push(r.seq);
        const onDisk = readFileSync(join(dir, r.file), 'utf8');
        assert.ok(onDisk.includes(`"hash":"${r.hash}"`), 'an acknowledged record is in its file');
      }),
    );
    await Promise.all(appends);
    assert.deepEqual(acknowledged, Array.from({ length: 40 }, (_, i) => i + 1));
    assert.ok(log.stats.writes < 40, `group commit batches concurrent appends (${log.stats.writes} writes)`);
    await log.close();
  });

  it('refuses an event outside the schema without using a seq', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir);
    await assert.rejects(log.append({ type: 'nope' as 'config.changed' }), { code: 'AUDIT_EVENT_INVALID' });
    await assert.rejects(log.append({ type: 'call.completed', durationMs: -1 }), { code: 'AUDIT_EVENT_INVALID' });
    assert.equal((await log.append({ type: 'config.changed' })).seq, 1);
    await log.close();
    await assert.rejects(log.append({ type: 'config.changed' }), { code: 'AUDIT_CLOSED' });
  });

  it('continues the chain and seq after a restart with the same instance id', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 5);
    const log = await openLog(dir);
    assert.deepEqual(log.openReport, { resumed: true, previousSeq: 5 });
    assert.equal((await log.append(sampleEvent(0))).seq, 6);
    await log.close();
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.ok, true);
    assert.equal(result.records, 6);
  });

  it('one writer per instance: a live holder locks it, a dead one does not', async (t) => {
    const dir = tempDir(t);
    const first = await openLog(dir);
    await assert.rejects(openLog(dir), { code: 'AUDIT_LOCKED' });
    const other = await openLog(dir, { instanceId: 'other' });
    await other.close();
    await first.close();
    // A lock left by a process that died (here: a finished child) is stale.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, 'audit-test.lock'), JSON.stringify({ pid: dead }));
    const again = await openLog(dir);
    await again.close();
    assert.ok(!readdirSync(dir).includes('audit-test.lock'), 'close releases the lock');
  });

  it('without group commit each record takes its own write and fsync', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { groupCommit: false });
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(sampleEvent(i))));
    assert.deepEqual(log.stats, { records: 20, writes: 20 });
    await log.close();
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).ok, true);
  });

  it('rejects an instance id that is not file-name safe', async (t) => {
    const dir = tempDir(t);
    await assert.rejects(openLog(dir, { instanceId: '../x' }), { code: 'AUDIT_BAD_INSTANCE' });
  });
});

describe('AuditLog: tampering is detected', () => {
  const cases: readonly { name: string; tamper: (dir: string) => void; line: number; reason: RegExp }[] = [
    {
      name: 'an edited field',
      tamper: (dir) => rewrite(dir, FILE1, (l) => l.map((x, i) => (i === 5 ? x.replace('"server":"kubernetes"', '"server":"kubernetez"') : x))),
      line: 6,
      reason: /does not match its MAC: it was edited/,
    },
    {
      name: 'an edited record with a recomputed (unkeyed) hash',
      tamper: (dir) =>
        rewrite(dir, FILE1, (l) =>
          l.map((x, i) => {
            if (i !== 3) return x;
            const r = { ...parse(x), server: 'elsewhere' };
            return canonicalJson({ ...r, hash: recordHash(r) });
          }),
        ),
      line: 4,
      reason: /does not match its MAC/,
    },
    { name: 'a deleted record', tamper: (dir) => rewrite(dir, FILE1, (l) => l.filter((_x, i) => i !== 2)), line: 3, reason: /deleted, inserted or reordered/ },
    {
      name: 'two records swapped',
      tamper: (dir) => rewrite(dir, FILE1, (l) => l.map((x, i) => (i === 4 ? (l[5] ?? '') : i === 5 ? (l[4] ?? '') : x))),
      line: 5,
      reason: /deleted, inserted or reordered/,
    },
    { name: 'a duplicated record', tamper: (dir) => rewrite(dir, FILE1, (l) => [...l.slice(0, 6), l[5] ?? '', ...l.slice(6)]), line: 7, reason: /deleted, inserted or reordered/ },
    { name: 'the first record deleted', tamper: (dir) => rewrite(dir, FILE1, (l) => l.slice(1)), line: 1, reason: /deleted, inserted or reordered/ },
    {
      name: 'a reformatted line (same content, other spelling)',
      tamper: (dir) => rewrite(dir, FILE1, (l) => l.map((x, i) => (i === 1 ? JSON.stringify(JSON.parse(x), null, 0).replace('{"', '{ "') : x))),
      line: 2,
      reason: /canonical form/,
    },
    { name: 'a line of garbage', tamper: (dir) => rewrite(dir, FILE1, (l) => l.map((x, i) => (i === 6 ? 'hello' : x))), line: 7, reason: /not valid JSON/ },
    {
      name: 'a record moved in from another instance',
      tamper: (dir) =>
        rewrite(dir, FILE1, (l) =>
          l.map((x, i) => {
            if (i !== 2) return x;
            const r = { ...parse(x), instance: 'other' };
            return canonicalJson({ ...r, hash: recordHash(r) });
          }),
        ),
      line: 3,
      reason: /instance "other"/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} → first broken link reported`, async (t) => {
      const dir = tempDir(t);
      await writeRecords(dir, 10);
      assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).ok, true);
      c.tamper(dir);
      const result = await verifyAudit(dir, { keys: TEST_KEYS });
      assert.equal(result.ok, false);
      assert.equal(result.firstBroken?.file, FILE1);
      assert.equal(result.firstBroken?.line, c.line);
      assert.match(result.firstBroken?.reason ?? '', c.reason);
    });
  }

  it('a deleted or replaced rotated file breaks the chain', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 40, { maxFileBytes: 2000 });
    const files = [...readAuditLines(dir).keys()];
    assert.ok(files.length >= 4, `rotation made ${files.length} files`);
    unlinkSync(join(dir, files[1] ?? ''));
    const missing = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(missing.ok, false);
    assert.match(missing.firstBroken?.reason ?? '', /audit-test-000002\.jsonl is missing/);

    const dir2 = tempDir(t);
    await writeRecords(dir2, 40, { maxFileBytes: 2000 });
    unlinkSync(join(dir2, FILE1));
    const noFirst = await verifyAudit(dir2, { keys: TEST_KEYS });
    assert.match(noFirst.firstBroken?.reason ?? '', /audit-test-000001\.jsonl is missing/);
  });

  it('records cut from the end are caught by the checkpoint', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 10);
    rewrite(dir, FILE1, (l) => l.slice(0, 8));
    const after = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(after.ok, false);
    assert.match(after.firstBroken?.reason ?? '', /cut off the end: the checkpoint names seq 10/);
  });
});

describe('AuditLog: rotation', () => {
  it('rotates by size with the chain continuing across files and restarts', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 30, { maxFileBytes: 1500 });
    const log = await openLog(dir, { maxFileBytes: 1500 });
    for (let i = 0; i < 30; i++) await log.append(sampleEvent(i));
    await log.close();
    const files = readAuditLines(dir);
    assert.ok(files.size >= 5);
    const names = [...files.keys()];
    assert.deepEqual(names, [...names].sort(), 'names sort in chain order');
    for (const [name, lines] of files) {
      assert.ok(statSync(join(dir, name)).size <= 1500 || lines.length === 1, `${name} respects the limit`);
    }
    for (let i = 1; i < names.length; i++) {
      const lastOfPrevious = (files.get(names[i - 1] ?? '') ?? []).at(-1);
      const firstOfThis = (files.get(names[i] ?? '') ?? [])[0];
      assert.equal(parse(firstOfThis).prev, parse(lastOfPrevious).hash, `${names[i]} continues ${names[i - 1]}`);
    }
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.ok, true);
    assert.equal(result.records, 60);
  });

  it('a record larger than the limit gets a file of its own', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 1000 });
    await log.append({ type: 'config.changed' });
    await log.append({ type: 'config.changed', detail: { blob: 'x'.repeat(5000) } });
    await log.append({ type: 'config.changed' });
    await log.close();
    assert.deepEqual([...readAuditLines(dir).values()].map((l) => l.length), [1, 1, 1]);
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).ok, true);
  });
});

describe('AuditLog: torn tails', () => {
  it('quarantines an incomplete last line at open, records it, and the chain verifies', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 6);
    const torn = '{"hash":"ab12","instance":"test","seq":7,"ty';
    appendFileSync(join(dir, FILE1), torn);
    const before = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(before.ok, true);
    assert.deepEqual(before.tornTails, [{ instance: 'test', file: FILE1, line: 7, bytes: torn.length }]);

    const log = await openLog(dir);
    const q = log.openReport.quarantined;
    assert.ok(q !== undefined);
    assert.equal(q.file, FILE1);
    assert.equal(q.bytes, torn.length);
    assert.equal(q.sha256, sha256Hex(torn));
    assert.equal(q.seq, 7);
    assert.equal(readFileSync(join(dir, q.quarantineFile), 'utf8'), torn, 'the torn bytes are kept, not dropped');
    assert.equal((await log.append(sampleEvent(0))).seq, 8);
    await log.close();

    const after = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(after.ok, true);
    assert.deepEqual(after.tornTails, []);
    assert.deepEqual(after.quarantineFiles, [q.quarantineFile]);
    const { records } = await queryAudit(dir, { type: 'audit.tail-quarantined' });
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]?.detail, { file: FILE1, quarantineFile: q.quarantineFile, offset: q.offset, bytes: torn.length, sha256: q.sha256 });
    assert.match(records[0]?.reason ?? '', /incomplete/);
  });

  it('quarantines trailing lines that are not records (zero-filled blocks)', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 3);
    appendFileSync(join(dir, FILE1), Buffer.concat([Buffer.alloc(300), Buffer.from('\n'), Buffer.alloc(20), Buffer.from('\n')]));
    const log = await openLog(dir);
    assert.equal(log.openReport.quarantined?.bytes, 322);
    await log.close();
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.ok, true);
    assert.equal(result.records, 4);
    const { records } = await queryAudit(dir, { type: 'audit.tail-quarantined' });
    assert.match(records[0]?.reason ?? '', /not audit records/);
  });

  it('a file that is all torn continues the chain from the previous file', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 12, { maxFileBytes: 1200 });
    const names = [...readAuditLines(dir).keys()];
    // A crash right after a rotation: the new file holds only the start of its first record.
    const last = `audit-test-${String(names.length + 1).padStart(6, '0')}.jsonl`;
    writeFileSync(join(dir, last), '{"partial');
    const log = await openLog(dir, { maxFileBytes: 1200 });
    assert.equal(log.openReport.quarantined?.file, last);
    assert.equal(log.openReport.checkpointMismatch, undefined);
    await log.close();
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.ok, true, JSON.stringify(result.firstBroken));

    // Overwriting a file that held acknowledged records is not a torn tail: the checkpoint shows the loss.
    const dir2 = tempDir(t);
    await writeRecords(dir2, 12, { maxFileBytes: 1200 });
    const newest = [...readAuditLines(dir2).keys()].at(-1) ?? '';
    writeFileSync(join(dir2, newest), '{"partial');
    const log2 = await openLog(dir2, { maxFileBytes: 1200 });
    assert.match(log2.openReport.checkpointMismatch ?? '', /records were cut off: the checkpoint names seq 12/);
    await log2.close();
    const result2 = await verifyAudit(dir2, { keys: TEST_KEYS });
    assert.equal(result2.ok, false);
    assert.match(result2.firstBroken?.reason ?? '', /the writer found at open that records were cut off/);
  });

  it('an edited (parseable) last line is not cut: verify reports it', async (t) => {
    const dir = tempDir(t);
    await writeRecords(dir, 4);
    rewrite(dir, FILE1, (l) => l.map((x, i) => (i === 3 ? x.replace('"server":"network"', '"server":"networx"') : x)));
    const log = await openLog(dir);
    assert.equal(log.openReport.quarantined, undefined);
    await log.append({ type: 'config.changed' });
    await log.close();
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.ok, false);
    assert.equal(result.firstBroken?.line, 4);
  });
});

describe('AuditLog: secrets never reach the files', () => {
  it('redacts known values and secret patterns everywhere in the record', async (t) => {
    const dir = tempDir(t);
    const canaries = {
      token: 'CANARY-gateway-token-7f3a9c',
      stored: 'CANARY-stored-password-91b2',
      bearer: 'CANARYbearer0123456789abcdef',
      aws: 'AKIACANARY0123456789',
      github: 'ghp_CANARY0123456789abcdefghijklmnopqrst',
      urlPass: 'CANARYurlpass42',
      pemBody: 'CANARYpemBODYMIIEowIBAAKCAQEA',
      keyed: 'CANARY-under-a-sensitive-key',
      kv: 'CANARYkv-value-777',
    };
    const redactor = new Redactor({ secrets: [canaries.token, canaries.stored] });
    const log = await AuditLog.open({ dir, instanceId: 'canary', redactor, keys: TEST_KEYS, maxFileBytes: 1500 });
    const events = [
      { type: 'call.requested', server: 'kubernetes', tool: 'pods_list', detail: { args: { password: canaries.keyed, note: `using ${canaries.token}` } } },
      { type: 'call.failed', server: 'git', tool: 'push', outcome: 'error', error: `remote https://bot:${canaries.urlPass}@git.example.com rejected ${canaries.github}` },
      { type: 'policy.decided', decision: 'deny', reason: `header Authorization: Bearer ${canaries.bearer}` },
      { type: 'config.changed', detail: { text: `-----BEGIN PRIVATE KEY-----\n${canaries.pemBody}\n-----END PRIVATE KEY-----`, aws: canaries.aws, list: [{ apiKey: canaries.keyed }] } },
      { type: 'server.crashed', server: 'acme', detail: { stderr: `db_password=${canaries.kv} failed; stored ${canaries.stored}` } },
      { type: 'approval.requested', server: 'kubernetes', tool: 'secret_get', client: { name: `client ${canaries.token}` }, detail: { displayArgs: { reveal: true, token: canaries.keyed } } },
    ] as const;
    for (let round = 0; round < 5; round++) for (const e of events) await log.append(e);
    await log.close();
    // A torn tail and its quarantine file must be clean too.
    const newest = readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort().at(-1) ?? '';
    appendFileSync(join(dir, newest), '{"partial');
    const reopened = await AuditLog.open({ dir, instanceId: 'canary', redactor, keys: TEST_KEYS, maxFileBytes: 1500 });
    assert.ok(reopened.openReport.quarantined !== undefined);
    await reopened.close();

    const names = readdirSync(dir);
    assert.ok(names.length >= 3, 'several files written');
    for (const name of names) {
      const content = readFileSync(join(dir, name), 'utf8');
      for (const [label, canary] of Object.entries(canaries)) {
        assert.ok(!content.includes(canary), `${label} canary leaked into ${name}`);
        assert.ok(!content.includes(Buffer.from(canary).toString('base64')), `${label} (base64) leaked into ${name}`);
      }
      assert.ok(!content.includes('CANARY'), `no canary fragment in ${name}`);
    }
    const verified = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
  });
});

describe('AuditLog: concurrency', () => {
  it('10,000 appends at concurrency 50 → exactly the expected records, chain valid', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 512 * 1024 });
    const perWorker = 200;
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, worker) => {
        for (let i = 0; i < perWorker; i++) {
          const r = await log.append({ type: 'call.completed', callId: `w${worker}-${i}`, server: `s${worker % 5}`, tool: 'x', outcome: 'ok', durationMs: i });
          seen.push(r.seq);
        }
      }),
    );
    const stats = log.stats;
    await log.close();
    assert.equal(seen.length, 10_000);
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 10_000 }, (_, i) => i + 1));
    assert.ok(stats.writes < 2_000, `group commit: ${stats.writes} writes for 10,000 records`);

    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.ok, true, JSON.stringify(result.firstBroken));
    assert.equal(result.records, 10_000);
    assert.ok(result.files >= 2, 'rotation happened under load');
    const callIds = new Set<string>();
    for (const lines of readAuditLines(dir).values()) for (const line of lines) callIds.add(parse(line).callId ?? '');
    assert.equal(callIds.size, 10_000, 'each append exactly once');
    for (let w = 0; w < 50; w++) assert.ok(callIds.has(`w${w}-${perWorker - 1}`));
  });
});
