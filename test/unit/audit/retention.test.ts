import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { verifyAudit, type AuditLog } from '../../../src/core/audit';
import { AuditRetention, commandShipper, httpShipper } from '../../../src/core/audit/retention';
import { TEST_KEYS, openLog, sampleEvent, tempDir } from './helpers';

const repoRoot = join(__dirname, '..', '..', '..');

function auditFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
}

/** Appends records until the log has rotated into at least `files` files. */
async function fill(log: AuditLog, dir: string, files: number): Promise<void> {
  for (let i = 0; auditFiles(dir).length < files; i++) await log.append(sampleEvent(i));
}

/** Marks every audit file but the newest as last written `days` ago. */
function age(dir: string, days: number): void {
  const names = auditFiles(dir);
  const then = (Date.now() - days * 86_400_000) / 1000;
  for (const n of names.slice(0, -1)) utimesSync(join(dir, n), then, then);
}

interface Receiver {
  readonly url: string;
  readonly bodies: { file: string; body: string }[];
  status: number;
}

async function receiver(t: TestContext): Promise<Receiver> {
  const state: Receiver = { url: '', bodies: [], status: 200 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.status === 200) state.bodies.push({ file: String(req.headers['x-mcpcp-audit-file']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit` });
}

describe('audit retention', () => {
  it('removes rotated files past the age limit; verify passes and reports the removal', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 4);
    const before = auditFiles(dir);
    age(dir, 10);
    const retention = new AuditRetention(log, { maxAgeMs: 7 * 86_400_000 });
    const run = await retention.run();
    retention.dispose();
    assert.deepEqual(run.removed, before.slice(0, -1), 'every rotated file is older than 7 days');
    assert.ok(auditFiles(dir).includes(before[before.length - 1]!), 'the file being written is kept');
    await log.append(sampleEvent(1));
    await log.close();
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
    const removed = result.instances[0]?.removed;
    assert.equal(removed?.files, 3);
    assert.equal(removed?.firstSeq, 1);
    const lines = auditFiles(dir).flatMap((n) => readFileSync(join(dir, n), 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as { type: string; detail?: { total?: { lastSeq: number } } });
    const records = lines.filter((r) => r.type === 'audit.files-removed');
    assert.equal(records.length, 1, 'one audit.files-removed record per run');
    assert.equal(records[0]?.detail?.total?.lastSeq, removed?.lastSeq);

    // Reopening continues the chain after the removal, and verify still holds.
    const again = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await again.append(sampleEvent(2));
    await again.close();
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).status, 'intact');
  });

  it('keeps files younger than the age limit', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 3);
    const retention = new AuditRetention(log, { maxAgeMs: 7 * 86_400_000 });
    assert.deepEqual((await retention.run()).removed, []);
    retention.dispose();
    await log.close();
    assert.equal(auditFiles(dir).length, 3);
  });

  it('removes the oldest files while the total is over the size limit, after each rotation', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 4000, fsync: false });
    const retention = new AuditRetention(log, { maxTotalBytes: 12_000 });
    for (let i = 0; i < 300; i++) await log.append(sampleEvent(i));
    await retention.run();
    retention.dispose();
    const names = auditFiles(dir);
    const total = names.reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
    // Within the limit, plus at most the removal record the run just wrote (which may have started a file).
    assert.ok(total <= 12_000 + 4000, `total ${total} bytes in ${names.length} files`);
    assert.ok(!existsSync(join(dir, 'audit-test-000001.jsonl')), 'the oldest file went first');
    await log.close();
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
    const removed = result.instances[0]?.removed;
    assert.ok(removed !== undefined && removed.files >= 3, JSON.stringify(removed));
    assert.equal(removed.firstSeq, 1);
  });

  it('the CLI reports the removal and still finds a file deleted by hand', async (t) => {
    const dir = tempDir(t);
    const dataDir = dirname(dir);
    const keyFile = join(dataDir, 'keys.json');
    const { serializeAuditKeyring } = await import('../../../src/core/audit');
    writeFileSync(keyFile, serializeAuditKeyring(TEST_KEYS), { mode: 0o600 });
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 5);
    age(dir, 30);
    // Only the two oldest are old enough.
    const names = auditFiles(dir);
    for (const n of names.slice(2, -1)) utimesSync(join(dir, n), new Date(), new Date());
    const retention = new AuditRetention(log, { maxAgeMs: 7 * 86_400_000 });
    assert.deepEqual((await retention.run()).removed, names.slice(0, 2));
    retention.dispose();
    await log.close();
    const cli = (): { code: number | null; out: string } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'audit', 'verify', '--dir', dir, '--key-file', keyFile], { cwd: repoRoot, encoding: 'utf8' });
      return { code: r.status, out: r.stdout + r.stderr };
    };
    const ok = cli();
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /2 files removed by retention \(seq 1\.\.\d+\), continuity checked/);

    // A file deleted by hand (the oldest kept one) is still a break.
    rmSync(join(dir, names[2]!));
    const broken = cli();
    assert.equal(broken.code, 1, broken.out);
    assert.match(broken.out, new RegExp(`${names[2]!.replace(/\./g, '\\.')} is missing`));
  });

  it('a hand-deleted oldest file is a break when retention never ran', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 3);
    await log.close();
    rmSync(join(dir, 'audit-test-000001.jsonl'));
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.status, 'broken');
    assert.match(result.firstBroken?.reason ?? '', /audit-test-000001\.jsonl is missing/);
  });

  it('deleting the removal record from the kept chain is a break', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 3);
    const retention = new AuditRetention(log, { maxTotalBytes: 1 });
    await retention.run();
    retention.dispose();
    await log.close();
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).status, 'intact');
    // Drop the audit.files-removed records from the kept file (re-chaining is impossible without the key, so this also breaks links).
    const cur = auditFiles(dir).at(-1)!;
    const kept = readFileSync(join(dir, cur), 'utf8').split('\n').filter((l) => !l.includes('"audit.files-removed"'));
    writeFileSync(join(dir, cur), kept.join('\n'));
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).status, 'broken');
  });

  it('a file recorded as removed that a crash left on disk is ignored by verify and deleted at the next open', async (t) => {
    const dir = tempDir(t);
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 3);
    const names = auditFiles(dir);
    const first = readFileSync(join(dir, names[0]!));
    const retention = new AuditRetention(log, { maxTotalBytes: 1 });
    await retention.run();
    retention.dispose();
    await log.close();
    // As if the process died after the checkpoint recorded the removal, before the unlink.
    writeFileSync(join(dir, names[0]!), first);
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
    const again = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await again.close();
    assert.ok(!existsSync(join(dir, names[0]!)), 'the leftover is deleted at open');
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).status, 'intact');
  });

  it('ships each file to an HTTP sink before removing it', async (t) => {
    const dir = tempDir(t);
    const sink = await receiver(t);
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 3);
    const names = auditFiles(dir);
    const contents = names.map((n) => readFileSync(join(dir, n), 'utf8'));
    const retention = new AuditRetention(log, { maxTotalBytes: 1, ship: httpShipper(sink.url) });
    const run = await retention.run();
    retention.dispose();
    await log.close();
    assert.deepEqual(run.removed, names.slice(0, 2));
    assert.deepEqual(sink.bodies.map((b) => b.file), names.slice(0, 2));
    assert.equal(sink.bodies[0]?.body, contents[0], 'the sink got the file byte for byte (JSONL)');
    assert.equal(sink.bodies[1]?.body, contents[1]);
    const result = await verifyAudit(dir, { keys: TEST_KEYS });
    assert.equal(result.status, 'intact', JSON.stringify(result.firstBroken));
  });

  it('a failed ship keeps the file, logs it, and retries later', async (t) => {
    const dir = tempDir(t);
    const sink = await receiver(t);
    sink.status = 503;
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 3);
    const names = auditFiles(dir);
    const messages: string[] = [];
    const retention = new AuditRetention(log, { maxTotalBytes: 1, ship: httpShipper(sink.url), retryMs: 200, log: (m) => messages.push(m) });
    const run = await retention.run();
    assert.deepEqual(run.removed, []);
    assert.equal(run.shipFailed?.file, names[0]);
    assert.match(run.shipFailed?.error ?? '', /HTTP 503/);
    assert.deepEqual(auditFiles(dir), names, 'nothing was removed');
    assert.ok(messages.some((m) => m.includes(`shipping ${names[0]} failed (the sink answered HTTP 503)`)), messages.join('\n'));
    // The sink recovers: the retry ships and removes.
    sink.status = 200;
    const deadline = Date.now() + 5000;
    while (existsSync(join(dir, names[0]!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    retention.dispose();
    await new Promise((r) => setTimeout(r, 100));
    await log.close();
    assert.ok(!existsSync(join(dir, names[0]!)), 'removed after the retry shipped it');
    assert.equal(sink.bodies[0]?.file, names[0]);
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).status, 'intact');
  });

  it('ships to a command on stdin; a failing command keeps the file', async (t) => {
    const dir = tempDir(t);
    const out = join(dirname(dir), 'shipped.jsonl');
    const log = await openLog(dir, { maxFileBytes: 1500, fsync: false });
    await fill(log, dir, 2);
    const names = auditFiles(dir);
    const first = readFileSync(join(dir, names[0]!), 'utf8');
    const failing = new AuditRetention(log, { maxTotalBytes: 1, ship: commandShipper(['sh', '-c', 'cat > /dev/null; echo "disk full" >&2; exit 7']) });
    const failed = await failing.run();
    failing.dispose();
    assert.match(failed.shipFailed?.error ?? '', /exited with 7: disk full/);
    assert.ok(existsSync(join(dir, names[0]!)));
    const ok = new AuditRetention(log, { maxTotalBytes: 1, ship: commandShipper(['sh', '-c', `cat >> '${out}'`]) });
    assert.deepEqual((await ok.run()).removed, [names[0]]);
    ok.dispose();
    await log.close();
    assert.equal(readFileSync(out, 'utf8'), first);
    assert.equal((await verifyAudit(dir, { keys: TEST_KEYS })).status, 'intact');
  });
});
