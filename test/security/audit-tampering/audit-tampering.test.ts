// Someone who can write the audit folder (not the key) tries to hide what happened: cut records off
// the end, delete a whole file, edit a record and recompute the chain. Each attack is first shown to
// leave a chain that links perfectly under the unkeyed scheme (what `audit verify` accepted before),
// then `mcpcp audit verify`, run as a real process, must exit 1 and name it. A torn last line exits 3.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  AuditLog,
  GENESIS_HASH,
  defaultAuditKeyFile,
  fileAuditKeyStorage,
  loadOrCreateAuditKeyring,
  newAuditKeyring,
  recordHash,
  secretStoreAuditKeyStorage,
  serializeAuditKeyring,
  type AuditKeyring,
} from '../../../src/core/audit';
import { canonicalJson } from '../../../src/core/canonical-json';
import { Redactor } from '../../../src/core/redact';
import { REPO_ROOT } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-tamper-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `mcpcp audit verify …` as a process: exit code and output. */
function verifyCli(args: string[]): { code: number | null; out: string; err: string } {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const r = spawnSync(process.execPath, [CLI, 'audit', 'verify', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Writes `n` records through the real writer, with the data directory's own key ring. */
async function writeLog(data: string, n: number, options: { maxFileBytes?: number; keys?: AuditKeyring } = {}): Promise<string> {
  const keys = options.keys ?? (await loadOrCreateAuditKeyring(fileAuditKeyStorage(defaultAuditKeyFile(data))));
  const dir = join(data, 'audit');
  const log = await AuditLog.open({ dir, instanceId: 'cli-1', redactor: new Redactor(), keys, checkpointIntervalMs: 0, ...(options.maxFileBytes ? { maxFileBytes: options.maxFileBytes } : {}) });
  for (let i = 0; i < n; i++) {
    await log.append({ type: 'call.requested', callId: `c${i}`, server: 'git', tool: i === 4 ? 'push' : 'repo_status', args: { force: i === 4, remote: 'origin' } });
  }
  await log.close();
  return dir;
}

function auditFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').replace(/\n$/, '').split('\n');
}

/** The attacker's view of integrity: every record's prev is the previous record's hash, seqs count up. */
function linksWithoutKey(dir: string): boolean {
  let prev = GENESIS_HASH;
  let seq = 0;
  for (const name of auditFiles(dir)) {
    for (const line of lines(join(dir, name))) {
      const r = JSON.parse(line) as { prev: string; hash: string; seq: number };
      if (r.prev !== prev || r.seq !== seq + 1) return false;
      prev = r.hash;
      seq = r.seq;
    }
  }
  return true;
}

describe('audit tampering is found (mcpcp audit verify as a process)', () => {
  it('an untouched log exits 0', async (t) => {
    const data = dataDir(t);
    await writeLog(data, 10);
    const r = verifyCli(['--data-dir', data]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /audit OK: 10 records/);
  });

  it('records cut off the end: the chain still links, the checkpoint does not → exit 1', async (t) => {
    const data = dataDir(t);
    const dir = await writeLog(data, 10);
    const file = join(dir, auditFiles(dir)[0] ?? '');
    // The attack: drop the last three records (the push among what an operator would look for).
    writeFileSync(file, `${lines(file).slice(0, -3).join('\n')}\n`);
    assert.equal(linksWithoutKey(dir), true, 'the cut chain links perfectly: a chain alone cannot show it');
    const r = verifyCli(['--data-dir', data]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /BROKEN: .*records were cut off the end: the checkpoint names seq 10 in audit-cli-1-000001\.jsonl, the chain ends at seq 7/);
  });

  it('the newest file deleted whole: the chain still links, the manifest does not → exit 1', async (t) => {
    const data = dataDir(t);
    const dir = await writeLog(data, 30, { maxFileBytes: 1500 });
    const files = auditFiles(dir);
    assert.ok(files.length >= 3, `rotation made ${files.length} files`);
    unlinkSync(join(dir, files.at(-1) ?? ''));
    assert.equal(linksWithoutKey(dir), true, 'the remaining files link perfectly');
    const r = verifyCli(['--data-dir', data]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, new RegExp(`BROKEN: ${files.at(-1)?.replace(/\./g, '\\.')}: .* is missing: the checkpoint lists it .*a whole file was deleted`));
  });

  it('a record edited and the chain recomputed without the key → exit 1', async (t) => {
    const data = dataDir(t);
    const dir = await writeLog(data, 10);
    const file = join(dir, auditFiles(dir)[0] ?? '');
    // The attack: make the forced push look like a normal one, and re-hash every later record so
    // that every `prev` and `hash` is consistent (what the unkeyed format could not tell apart).
    let prev = GENESIS_HASH;
    const forged = lines(file).map((line) => {
      const r = JSON.parse(line) as Record<string, unknown> & { args?: Record<string, unknown> };
      if (r['callId'] === 'c4') r.args = { ...r.args, force: false };
      const body = { ...r, prev };
      const hash = recordHash(body);
      prev = hash;
      return canonicalJson({ ...body, hash });
    });
    writeFileSync(file, `${forged.join('\n')}\n`);
    assert.equal(linksWithoutKey(dir), true, 'the forged chain links perfectly');
    for (const line of forged) {
      const r = JSON.parse(line) as Record<string, unknown> & { hash: string };
      assert.equal(recordHash(r), r.hash, 'every forged record passes the unkeyed hash check');
    }
    const r = verifyCli(['--data-dir', data]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /BROKEN: audit-cli-1-000001\.jsonl:1: record seq 1 does not match its MAC: it was edited \(or re-signed without the key\)/);

    // The same forgery downgraded to the unkeyed format (kid removed) and the checkpoint deleted.
    prev = GENESIS_HASH;
    const downgraded = forged.map((line) => {
      const { kid: _kid, hash: _hash, ...r } = JSON.parse(line) as Record<string, unknown>;
      const body = { ...r, prev };
      const hash = recordHash(body);
      prev = hash;
      return canonicalJson({ ...body, hash });
    });
    writeFileSync(file, `${downgraded.join('\n')}\n`);
    const withCheckpoint = verifyCli(['--data-dir', data]);
    assert.equal(withCheckpoint.code, 1, withCheckpoint.out);
    assert.match(withCheckpoint.out, /not the one the checkpoint names/);
    rmSync(join(data, 'audit-checkpoints'), { recursive: true });
    const noCheckpoint = verifyCli(['--data-dir', data]);
    assert.equal(noCheckpoint.code, 1, noCheckpoint.out);
    assert.match(noCheckpoint.out, /no checkpoint for cli-1/);
  });

  it('a forged checkpoint (edited head, MAC kept) → exit 1', async (t) => {
    const data = dataDir(t);
    const dir = await writeLog(data, 10);
    const file = join(dir, auditFiles(dir)[0] ?? '');
    writeFileSync(file, `${lines(file).slice(0, -2).join('\n')}\n`);
    const cpPath = join(data, 'audit-checkpoints', 'checkpoint-cli-1.json');
    const cp = JSON.parse(readFileSync(cpPath, 'utf8')) as { head: { seq: number; hash: string } };
    const last = JSON.parse(lines(file).at(-1) ?? '{}') as { seq: number; hash: string };
    cp.head = { ...cp.head, seq: last.seq, hash: last.hash };
    writeFileSync(cpPath, `${canonicalJson(cp)}\n`);
    const r = verifyCli(['--data-dir', data]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /checkpoint is not valid: its MAC does not match/);
  });

  it('a torn last line after a crash → exit 3; the next writer quarantines it → exit 0', async (t) => {
    const data = dataDir(t);
    const dir = await writeLog(data, 5);
    const file = join(dir, auditFiles(dir)[0] ?? '');
    appendFileSync(file, '{"args":{"force":tr');
    const r = verifyCli(['--data-dir', data]);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /INTACT UP TO A TORN TAIL/);
    assert.match(r.out, /torn tail: audit-cli-1-000001\.jsonl line 6/);
    await writeLog(data, 1);
    assert.equal(verifyCli(['--data-dir', data]).code, 0);
  });

  it("verifies VS Code's log from the CLI with an exported key file; a wrong or exposed key is not a verdict", async (t) => {
    const data = dataDir(t);
    // VS Code keeps the key ring in SecretStorage: a secret store stands in for it here.
    const secrets = new Map<string, string>();
    const storage = secretStoreAuditKeyStorage({ get: async (n) => secrets.get(n), set: async (n, v) => void secrets.set(n, v) }, 'mcpControlPlane.auditKeys');
    const keys = await loadOrCreateAuditKeyring(storage);
    const storageDir = join(data, 'globalStorage');
    await writeLog(storageDir, 6, { keys });
    assert.equal(existsSync(join(storageDir, 'keys')), false, 'no key file next to the VS Code log');
    // "Export Audit Key": the same text, to an owner-only file.
    const exported = join(data, 'exported.key');
    await fileAuditKeyStorage(exported).write((await storage.read()) ?? '');
    assert.equal(statSync(exported).mode & 0o777, 0o600);
    const ok = verifyCli(['--dir', join(storageDir, 'audit'), '--key-file', exported]);
    assert.equal(ok.code, 0, ok.out + ok.err);

    const other = join(data, 'other.key');
    await fileAuditKeyStorage(other).write(serializeAuditKeyring(newAuditKeyring()));
    const wrong = verifyCli(['--dir', join(storageDir, 'audit'), '--key-file', other]);
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /checkpoint is not valid: it is signed with key k-[0-9a-f]{16}, which the key ring does not hold/);

    chmodSync(exported, 0o644);
    const exposed = verifyCli(['--dir', join(storageDir, 'audit'), '--key-file', exported]);
    assert.equal(exposed.code, 2);
    assert.match(exposed.err, /readable or writable by others/);
    const missing = verifyCli(['--dir', join(storageDir, 'audit'), '--key-file', join(data, 'nope.key')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no audit key file/);
  });

  it('key rotation: recorded in the chain, old records verify with the kept key, not without it', async (t) => {
    const data = dataDir(t);
    await writeLog(data, 3);
    const before = JSON.parse(readFileSync(defaultAuditKeyFile(data), 'utf8')) as { current: string };
    const rotated = spawnSync(process.execPath, [CLI, 'audit', 'rotate-key', '--data-dir', data], { encoding: 'utf8' });
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.equal(statSync(defaultAuditKeyFile(data)).mode & 0o777, 0o600);
    await writeLog(data, 3);
    const dir = join(data, 'audit');
    const records = lines(join(dir, auditFiles(dir)[0] ?? '')).map((l) => JSON.parse(l) as { type: string; kid: string; detail?: { from?: string; to?: string } });
    const rotation = records.find((r) => r.type === 'audit.key-rotated');
    assert.ok(rotation !== undefined, 'the rotation is a record');
    assert.equal(rotation.detail?.from, before.current);
    assert.notEqual(rotation.detail?.to, before.current);
    assert.equal(rotation.kid, rotation.detail?.to, 'signed with the new key');
    assert.equal(verifyCli(['--data-dir', data]).code, 0);

    // Only the new key: the old records can no longer be checked, and verify says so.
    const ring = JSON.parse(readFileSync(defaultAuditKeyFile(data), 'utf8')) as { current: string; keys: Record<string, unknown> };
    const onlyNew = join(data, 'only-new.key');
    writeFileSync(onlyNew, JSON.stringify({ ...ring, keys: { [ring.current]: ring.keys[ring.current] } }), { mode: 0o600 });
    const r = verifyCli(['--data-dir', data, '--key-file', onlyNew]);
    assert.equal(r.code, 1);
    assert.match(r.out, /record seq 1 is signed with key k-[0-9a-f]{16}, which the key ring does not hold/);
  });
});
