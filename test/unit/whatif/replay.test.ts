// replayAudit on hand-made records: the pairing, the undecidable rules for masked values (arrays,
// keys, effects), the built-in flag of old records. The recorded-session tests are in
// test/integration/whatif.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditRecord } from '../../../src/core/audit';
import type { PolicyRule } from '../../../src/core/policy';
import { Redactor } from '../../../src/core/redact';
import { replayAudit } from '../../../src/core/whatif';

let seq = 0;
function call(fields: Partial<AuditRecord> & { decision: 'allow' | 'approve' | 'deny' }): AuditRecord[] {
  const callId = `c${++seq}`;
  const common = { instance: 'i-1', prev: '0'.repeat(64), hash: '0'.repeat(64), kid: 'k', callId, server: fields.server ?? 'fx', tool: fields.tool ?? 'echo' };
  const { decision, ...rest } = fields;
  return [
    { ...common, seq: seq * 2, ts: new Date(1_700_000_000_000 + seq * 1000).toISOString(), type: 'call.requested', args: {}, annotations: { readOnlyHint: true }, detail: { builtin: true }, ...rest } as AuditRecord,
    { ...common, seq: seq * 2 + 1, ts: new Date(1_700_000_000_000 + seq * 1000).toISOString(), type: 'policy.decided', decision } as AuditRecord,
  ];
}

const draft = (rules: PolicyRule[]) => ({ draft: { rules }, layer: 'config' as const });

describe('replayAudit', () => {
  it('a masked value inside an array a rule tests is undecidable; a rule on another field is not', () => {
    const records = call({ args: { hosts: ['a', 'x[REDACTED]y'], mode: 'fast' }, decision: 'allow' });
    const onHosts = replayAudit(records, draft([{ tool: 'echo', args: { hosts: { matches: 'prod*' } }, decision: 'deny' }]));
    assert.deepEqual([onHosts.undecidable, onHosts.undecidableExamples[0]?.unknown], [1, ['args.hosts']]);
    const onMode = replayAudit(records, draft([{ tool: 'echo', args: { mode: { equals: 'slow' } }, decision: 'deny' }]));
    assert.deepEqual([onMode.undecidable, onMode.unchanged], [0, 1]);
  });

  it('a masked key hides every path under its object', () => {
    const records = call({ args: { env: { 'TOKEN_[REDACTED]': '1' } }, decision: 'allow' });
    const r = replayAudit(records, draft([{ tool: 'echo', args: { 'env.TOKEN_abc': { exists: true } }, decision: 'deny' }]));
    assert.equal(r.undecidable, 1);
  });

  it('a masked effect field a rule tests is undecidable', () => {
    const records = call({ effect: { type: 'git', remote: 'https://[REDACTED]@example.com/r.git' }, decision: 'allow' });
    const r = replayAudit(records, draft([{ tool: 'echo', effect: { remote: { matches: '*github.com*' } }, decision: 'deny' }]));
    assert.deepEqual(r.undecidableExamples[0]?.unknown, ['effect.remote']);
  });

  it('when both outcomes of the masked rule give the same decision, the call is decided', () => {
    const records = call({ args: { text: '[REDACTED]' }, decision: 'approve' });
    // Matching or not, the next rule approves everything on echo.
    const r = replayAudit(records, draft([{ tool: 'echo', args: { text: { matches: 'x*' } }, decision: 'approve' }, { tool: 'echo', decision: 'approve' }]));
    assert.deepEqual([r.undecidable, r.unchanged], [0, 1]);
  });

  it('an old record without detail.builtin: a non-built-in name whose outcome depends on it is undecidable', () => {
    const records = call({ server: 'third', annotations: {}, detail: undefined, decision: 'approve' });
    // Unannotated: built in -> destructive default approve; third-party -> approve too: decided.
    assert.equal(replayAudit(records, draft([])).undecidable, 0);
    // A rule on builtin: true allows; the outcome depends on the unrecorded flag.
    const r = replayAudit(records, draft([{ builtin: true, decision: 'allow' }]));
    assert.equal(r.undecidable, 1);
    assert.match(r.undecidableExamples[0]!.unknown!.join(), /builtin/);
  });

  it('a request without a decision is counted, not replayed; loosening and tightening are counted apart', () => {
    const orphan = call({ decision: 'allow' }).slice(0, 1);
    const denied = call({ args: { text: 'prod' }, decision: 'deny' });
    const allowed = call({ args: { text: 'dev' }, decision: 'allow' });
    const r = replayAudit([...orphan, ...denied, ...allowed], draft([{ tool: 'echo', args: { text: { equals: 'dev' } }, decision: 'approve' }]));
    assert.deepEqual([r.replayed, r.withoutDecision, r.loosened, r.tightened], [2, 1, 1, 1]);
    assert.deepEqual(r.groups.map((g) => [g.direction, g.from, g.to]), [['loosened', 'deny', 'allow'], ['tightened', 'allow', 'approve']]);
  });

  it('examples show the arguments through the display redactor; the replay uses the recorded values', () => {
    const token = 'ghp_' + 'A1b2C3d4E5'.repeat(4);
    const records = call({ args: { text: `use ${token}`, mode: 'x' }, decision: 'allow' });
    const rules: PolicyRule[] = [{ tool: 'echo', args: { text: { matches: '*ghp_*' } }, decision: 'deny' }];
    const redactor = new Redactor();
    const r = replayAudit(records, { ...draft(rules), display: (a) => redactor.redactRecord(a) });
    // The rule saw the recorded token (it matched: allow -> deny)...
    assert.equal(r.tightened, 1);
    // ...the report does not show it.
    const shown = r.groups[0]!.examples[0]!.args;
    assert.ok(!shown.includes(token), shown);
    assert.match(shown, /"mode":"x"/);
  });

  it('team mode: rules on principal, role and group replay against the principal the audit recorded', () => {
    const principal = { id: 'oidc:https://id.example.com#u-1', name: 'ann@example.com', via: 'oidc-token', roles: ['operator'], groups: ['contractors'] };
    const records = [...call({ principal, decision: 'allow' }), ...call({ decision: 'allow' })];
    const r = replayAudit(records, draft([{ group: 'contractors', decision: 'deny' }]));
    // Ann's call is now denied; the call recorded without a principal (loopback mode) is unchanged.
    assert.deepEqual([r.tightened, r.unchanged], [1, 1]);
    const byRole = replayAudit(records, draft([{ role: 'viewer', decision: 'deny' }]));
    assert.deepEqual([byRole.tightened, byRole.unchanged], [0, 2]);
  });
});
