// Someone with write access to the audit tables (a DBA, a stolen database password), but not the
// audit key, tries to hide or rewrite what happened: delete a row in the middle, edit a record,
// edit only a query column (so the dashboard shows it wrong), cut records off a writer's end,
// renumber rows, forge a row, delete or edit checkpoints, drop a writer's rows. Each attack is done
// with direct SQL and first shown to have changed what the database holds (the witness); then
// `verifyPostgresAudit` (and, for some, `mcpcp audit verify --config F --postgres` as a real process)
// must say broken, naming the writer and the seq.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { newAuditKeyring, serializeAuditKeyring, type AuditKeyring } from '../../../src/core/audit';
import { AUDIT_CHECKPOINTS_TABLE, AUDIT_RECORDS_TABLE, PostgresAuditLog, queryPostgresAudit } from '../../../src/core/audit/postgres';
import { verifyPostgresAudit, type PostgresAuditVerifyResult } from '../../../src/core/audit/postgres-verify';
import { canonicalJson } from '../../../src/core/canonical-json';
import { Redactor } from '../../../src/core/redact';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { REPO_ROOT } from '../../helpers/fixture-plane';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const skip = postgresSkipReason();
const KEYS: AuditKeyring = newAuditKeyring();
const R = AUDIT_RECORDS_TABLE;
const C = AUDIT_CHECKPOINTS_TABLE;

describe('audit tampering in PostgreSQL: verify finds every edit made without the key (real server)', { skip }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  let dir: string;
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url, { applicationName: 'tamper-test' });
    dir = mkdtempSync(join(tmpdir(), 'mcpcp-pg-tamper-'));
    // The serve configuration a team uses: the URL and the key ring are secrets (here from MCPCP_SECRET_*).
    writeFileSync(join(dir, 'config.yaml'), 'storage:\n  postgres:\n    url: "${secret:pg-url}"\naudit:\n  keyring: "${secret:audit-keys}"\n');
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Two writers: replica-a 20 records, replica-b 10; both closed (the closing checkpoints name 20 and 10). */
  beforeEach(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${R}, ${C}`);
    await pool.query(`DELETE FROM mcpcp_migrations WHERE component = 'audit'`).catch(() => undefined);
    for (const [writer, n] of [['replica-a', 20], ['replica-b', 10]] as const) {
      const log = await PostgresAuditLog.open({ pool, writerId: writer, redactor: new Redactor(), keys: KEYS });
      for (let i = 1; i <= n; i++) {
        await log.append({ type: 'call.requested', callId: `${writer}-${i}`, server: 'kubernetes', tool: i === 7 ? 'pod_delete' : 'pods_list', args: { namespace: 'prod', i } });
      }
      await log.close();
    }
    assert.equal((await verifyPostgresAudit(pool, { keys: KEYS })).status, 'intact');
  });

  function verifyCli(env: Record<string, string | undefined>, extra: string[] = []): { code: number | null; out: string; err: string } {
    assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
    const r = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--config', join(dir, 'config.yaml'), '--postgres', '--data-dir', join(dir, 'data'), ...extra], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }
  const secrets = (): Record<string, string> => ({ MCPCP_SECRET_PG_URL: server.url, MCPCP_SECRET_AUDIT_KEYS: serializeAuditKeyring(KEYS) });

  function assertBroken(result: PostgresAuditVerifyResult, writer: string, seq: number, reason: RegExp): void {
    assert.equal(result.status, 'broken', 'verify must find the attack');
    assert.equal(result.firstBroken?.writer, writer, JSON.stringify(result.firstBroken));
    assert.equal(result.firstBroken?.seq, seq, JSON.stringify(result.firstBroken));
    assert.match(result.firstBroken?.reason ?? '', reason);
  }
  const count = async (where: string): Promise<number> => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${R} WHERE ${where}`)).rows[0]!.n);

  it('intact: the CLI exits 0 and names both writers (the key ring and URL from secrets, as in a Kubernetes Secret)', () => {
    const r = verifyCli(secrets());
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /audit OK: 30 records from 2 writers/);
    assert.match(r.out, /replica-a: seq 1\.\.20 \(checkpointed through 20\)/);
  });

  it('no verdict (exit 2) without the key or without the database', async () => {
    const noKey = verifyCli({ MCPCP_SECRET_PG_URL: server.url });
    assert.equal(noKey.code, 2, noKey.err);
    assert.match(noKey.err, /audit\.keyring names the secret audit-keys, which is not set here: set MCPCP_SECRET_AUDIT_KEYS/);
    const closed = await openPostgres(server.url).then(async (p) => {
      const port = server.port;
      await p.end();
      return port;
    });
    const noDb = verifyCli({ ...secrets(), MCPCP_SECRET_PG_URL: `postgres://mcpcp:wrong@127.0.0.1:${closed + 1}/mcpcp` });
    assert.equal(noDb.code, 2, noDb.err);
    assert.match(noDb.err, /cannot connect to PostgreSQL/);
    assert.doesNotMatch(noDb.err, /wrong/, 'the password never reaches the output');
    // A database no replica ever wrote to: no verdict either (not "intact": there is nothing to vouch for).
    await pool.query(`ALTER TABLE ${R} RENAME TO elsewhere`);
    try {
      const empty = verifyCli(secrets());
      assert.equal(empty.code, 2, empty.out + empty.err);
      assert.match(empty.err, /this database has no audit tables/);
    } finally {
      await pool.query(`ALTER TABLE elsewhere RENAME TO ${R}`);
    }
  });

  it('a row deleted in the middle: broken at the gap (CLI exit 1 naming writer and seq)', async () => {
    await pool.query(`DELETE FROM ${R} WHERE writer_id = 'replica-a' AND seq = 7`);
    assert.equal(await count(`writer_id = 'replica-a' AND tool = 'pod_delete'`), 0, 'witness: the pod_delete call is gone from the table');
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), 'replica-a', 8, /seq 7 is missing: record seq 8 follows seq 6 \(rows were deleted\)/);
    const r = verifyCli(secrets());
    assert.equal(r.code, 1, r.err + r.out);
    assert.match(r.out, /audit BROKEN: writer replica-a seq 8: seq 7 is missing/);
  });

  it('a record edited in place (what was called): broken, its MAC no longer matches', async () => {
    await pool.query(`UPDATE ${R} SET record = replace(record, '"pod_delete"', '"pods_list"'), tool = 'pods_list' WHERE writer_id = 'replica-a' AND seq = 7`);
    assert.equal((await queryPostgresAudit(pool, { instance: 'replica-a', tool: 'pod_delete' })).records.length, 0, 'witness: queries no longer show the delete');
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), 'replica-a', 7, /does not match its MAC/);
  });

  it('only a query column edited (the dashboard would hide the record): broken, the column differs from the signed record', async () => {
    await pool.query(`UPDATE ${R} SET tool = 'pods_list' WHERE writer_id = 'replica-a' AND seq = 7`);
    assert.equal((await queryPostgresAudit(pool, { instance: 'replica-a', tool: 'pod_delete' })).records.length, 0, 'witness: the filter no longer finds it');
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), 'replica-a', 7, /the tool column of seq 7 differs from its signed record/);
  });

  it('records cut off the end that a checkpoint covered: broken, naming the checkpoint and the missing seqs', async () => {
    await pool.query(`DELETE FROM ${R} WHERE writer_id = 'replica-b' AND seq > 6`);
    assert.equal(await count(`writer_id = 'replica-b'`), 6, 'witness: the chain now ends at 6 and links perfectly');
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), 'replica-b', 7, /records were cut off the end: checkpoint \d+ names seq 10 of writer replica-b, the chain ends at seq 6/);
    const r = verifyCli(secrets());
    assert.equal(r.code, 1);
    assert.match(r.out, /writer replica-b seq 7: records were cut off the end/);
  });

  it('a writer reopened after its tail was cut records the mismatch itself (audit.checkpoint-mismatch), and verify stays broken', async () => {
    await pool.query(`DELETE FROM ${R} WHERE writer_id = 'replica-b' AND seq > 6`);
    const log = await PostgresAuditLog.open({ pool, writerId: 'replica-b', redactor: new Redactor(), keys: KEYS });
    assert.match(log.openMismatch ?? '', /records were cut off: checkpoint \d+ names seq 10 of writer replica-b, the database ends at seq 6/);
    await log.close();
    const result = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(result.status, 'broken');
    assert.equal(result.firstBroken?.writer, 'replica-b');
  });

  it('two rows swapped (renumbered): broken', async () => {
    await pool.query(`UPDATE ${R} SET seq = CASE seq WHEN 3 THEN -4 ELSE -3 END WHERE writer_id = 'replica-a' AND seq IN (3, 4)`);
    await pool.query(`UPDATE ${R} SET seq = -seq WHERE writer_id = 'replica-a' AND seq < 0`);
    const { rows } = await pool.query<{ record: string }>(`SELECT record FROM ${R} WHERE writer_id = 'replica-a' AND seq = 3`);
    assert.match(rows[0]!.record, /"seq":4/, 'witness: row 3 now holds record 4');
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), 'replica-a', 3, /holds record seq 4: rows were renumbered or reordered/);
  });

  it('a forged row appended without the key (well-formed, linked, signed with another key id): broken', async () => {
    const { rows } = await pool.query<{ mac: string; key_id: string }>(`SELECT mac, key_id FROM ${R} WHERE writer_id = 'replica-a' ORDER BY seq DESC LIMIT 1`);
    const body = { type: 'approval.decided', approvalId: 'a-1', server: 'kubernetes', tool: 'pod_delete', decision: 'approved', seq: 21, ts: new Date().toISOString(), instance: 'replica-a', kid: rows[0]!.key_id, prev: rows[0]!.mac };
    const hash = createHmac('sha256', Buffer.alloc(32, 7)).update('mcpcp-audit-record\n').update(canonicalJson(body)).digest('hex');
    await pool.query(
      `INSERT INTO ${R} (writer_id, seq, ts, type, server, tool, call_id, approval_id, decision, outcome, key_id, prev_mac, mac, record) VALUES ('replica-a', 21, $1, 'approval.decided', 'kubernetes', 'pod_delete', NULL, 'a-1', 'approved', NULL, $2, $3, $4, $5)`,
      [body.ts, body.kid, body.prev, hash, canonicalJson({ ...body, hash })],
    );
    assert.equal((await queryPostgresAudit(pool, { approvalId: 'a-1' })).records.length, 1, 'witness: the forged approval shows in queries');
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), 'replica-a', 21, /does not match its MAC: it was edited, or forged without the key/);
  });

  it('a checkpoint deleted from the middle of the checkpoint chain: broken', async () => {
    const { rows } = await pool.query<{ n: string }>(`SELECT n FROM ${C} ORDER BY n`);
    assert.ok(rows.length >= 3, `checkpoints ${rows.length}`);
    await pool.query(`DELETE FROM ${C} WHERE n = 2`);
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), '(checkpoints)', 3, /checkpoint 3 follows checkpoint 1: checkpoint 2 was deleted/);
  });

  it('a checkpoint edited to bless a truncation (heads lowered): broken, its MAC does not match', async () => {
    await pool.query(`DELETE FROM ${R} WHERE writer_id = 'replica-b' AND seq > 6`);
    const { rows } = await pool.query<{ n: string; checkpoint: string }>(`SELECT n, checkpoint FROM ${C}`);
    for (const row of rows) {
      const cp = JSON.parse(row.checkpoint) as { heads: Record<string, { seq: number; hash: string }> };
      const b = cp.heads['replica-b'];
      if (b !== undefined && b.seq > 6) cp.heads['replica-b'] = { seq: 6, hash: (await pool.query<{ mac: string }>(`SELECT mac FROM ${R} WHERE writer_id = 'replica-b' AND seq = 6`)).rows[0]!.mac };
      await pool.query(`UPDATE ${C} SET checkpoint = $1 WHERE n = $2`, [canonicalJson(cp as never), row.n]);
    }
    const result = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(result.status, 'broken');
    assert.equal(result.firstBroken?.writer, '(checkpoints)');
    assert.match(result.firstBroken?.reason ?? '', /does not match its MAC: it was edited or forged without the key/);
  });

  it('every checkpoint deleted (records remain): broken', async () => {
    await pool.query(`DELETE FROM ${C}`);
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), '(checkpoints)', 0, /there is no checkpoint for 30 records/);
  });

  it("a writer's rows all deleted: broken, the checkpoints still name it", async () => {
    await pool.query(`DELETE FROM ${R} WHERE writer_id = 'replica-b'`);
    assertBroken(await verifyPostgresAudit(pool, { keys: KEYS }), 'replica-b', 1, /checkpoint \d+ names seq 10 of writer replica-b, the chain ends at seq 0/);
  });

  it('a whole chain re-signed with another key (a new key ring): broken under the deployment key', async () => {
    const other = newAuditKeyring();
    await pool.query(`DELETE FROM ${R} WHERE writer_id = 'replica-b'`);
    await pool.query(`DELETE FROM ${C}`);
    const log = await PostgresAuditLog.open({ pool, writerId: 'replica-b', redactor: new Redactor(), keys: other });
    await log.append({ type: 'call.requested', callId: 'innocent', server: 'kubernetes', tool: 'pods_list' });
    await log.close();
    const result = await verifyPostgresAudit(pool, { keys: KEYS });
    assert.equal(result.status, 'broken');
    assert.match(result.firstBroken?.reason ?? '', /signed with key k-[0-9a-f]{16}, which the key ring does not hold/);
  });
});
