import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyEngine, policyRuleSchema, type PolicyRequest, type PolicyRule } from '../../../src/core/policy';

const DESTRUCTIVE = { readOnlyHint: false, destructiveHint: true };
const call: PolicyRequest = { kind: 'tool', server: 'kubernetes', name: 'resource_delete', builtin: true, annotations: DESTRUCTIVE, args: { context: 'prod' } };
const rule = (r: unknown): PolicyRule => policyRuleSchema.parse(r);

describe('policy rule `approvers` (four-eyes)', () => {
  it('an approve rule carries its number of distinct approvers to the verdict, and says so in its reason', () => {
    const result = new PolicyEngine({ config: [rule({ server: 'kubernetes', decision: 'approve', approvers: 2 })] }).evaluate(call);
    assert.equal(result.decision, 'approve');
    assert.equal(result.approvers, 2);
    assert.match(result.reason, /approvals from 2 different people/);
  });

  it('absent or 1: no approvers field (one approver, as before)', () => {
    assert.equal(new PolicyEngine({ config: [rule({ server: 'kubernetes', decision: 'approve' })] }).evaluate(call).approvers, undefined);
    assert.equal(new PolicyEngine({}).evaluate(call).approvers, undefined, 'the destructive default needs one approver');
  });

  it('is refused on allow and deny rules, and outside 1..5', () => {
    assert.match(policyRuleSchema.safeParse({ decision: 'allow', approvers: 2 }).error?.issues[0]?.message ?? '', /approvers applies to decision: approve only/);
    assert.equal(policyRuleSchema.safeParse({ decision: 'deny', approvers: 2 }).success, false);
    assert.equal(policyRuleSchema.safeParse({ decision: 'approve', approvers: 0 }).success, false);
    assert.equal(policyRuleSchema.safeParse({ decision: 'approve', approvers: 6 }).success, false);
  });

  it('a workspace rule may raise the approvers of a base approve, never lower them', () => {
    const raised = new PolicyEngine({ config: [rule({ server: 'kubernetes', decision: 'approve' })], workspace: [rule({ server: 'kubernetes', decision: 'approve', approvers: 3 })] }).evaluate(call);
    assert.equal(raised.approvers, 3);
    const kept = new PolicyEngine({ config: [rule({ server: 'kubernetes', decision: 'approve', approvers: 2 })], workspace: [rule({ server: 'kubernetes', decision: 'approve' })] }).evaluate(call);
    assert.equal(kept.approvers, 2);
  });
});
