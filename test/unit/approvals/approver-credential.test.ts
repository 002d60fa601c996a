import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  APPROVER_CREDENTIAL_FILE,
  ensureApproverCredential,
  rotateApproverCredential,
  verifyApproverCredential,
} from '../../../src/core/approvals';
import { Redactor } from '../../../src/core/redact';

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-cred-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'data');
}

describe('approver credential (headless)', () => {
  it('is created once, shown once, stored only as a hash with owner-only permissions', async (t) => {
    const dir = dataDir(t);
    const first = await ensureApproverCredential(dir);
    assert.ok(first.created);
    assert.match(first.credential, /^mcpcp_appr_[A-Za-z0-9_-]{43}$/);
    const stored = readFileSync(first.file, 'utf8');
    assert.ok(!stored.includes(first.credential.slice(11)), 'the token itself is not stored');
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const second = await ensureApproverCredential(dir);
    assert.deepEqual(second, { created: false, file: first.file });

    assert.equal(await verifyApproverCredential(dir, first.credential), true);
    assert.equal(await verifyApproverCredential(dir, `${first.credential}x`), false);
    assert.equal(await verifyApproverCredential(dir, ''), false);
  });

  it('concurrent first starts create exactly one', async (t) => {
    const dir = dataDir(t);
    const results = await Promise.all([ensureApproverCredential(dir), ensureApproverCredential(dir), ensureApproverCredential(dir)]);
    const created = results.filter((r) => r.created);
    assert.equal(created.length, 1);
    assert.equal(await verifyApproverCredential(dir, created[0]?.created === true ? created[0].credential : ''), true);
  });

  it('rotation invalidates the old credential', async (t) => {
    const dir = dataDir(t);
    const first = await ensureApproverCredential(dir);
    const rotated = await rotateApproverCredential(dir);
    assert.equal(await verifyApproverCredential(dir, first.created ? first.credential : ''), false);
    assert.equal(await verifyApproverCredential(dir, rotated.credential), true);
    assert.equal(statSync(rotated.file).mode & 0o777, 0o600);
  });

  it('refuses a missing, loosely permissioned or damaged credential file', async (t) => {
    const dir = dataDir(t);
    await assert.rejects(verifyApproverCredential(dir, 'x'), { code: 'APPROVER_CREDENTIAL_MISSING' });
    await ensureApproverCredential(dir);
    const file = join(dir, APPROVER_CREDENTIAL_FILE);
    chmodSync(file, 0o644);
    await assert.rejects(verifyApproverCredential(dir, 'x'), { code: 'APPROVER_CREDENTIAL_INSECURE' });
    chmodSync(file, 0o600);
    writeFileSync(file, '{"version":1}');
    await assert.rejects(verifyApproverCredential(dir, 'x'), { code: 'APPROVER_CREDENTIAL_INVALID' });
  });

  it('the redactor recognises the credential anywhere', async (t) => {
    const created = await ensureApproverCredential(dataDir(t));
    assert.ok(created.created);
    assert.equal(new Redactor().redactString(`approve with ${created.credential} now`), 'approve with [REDACTED] now');
  });
});
