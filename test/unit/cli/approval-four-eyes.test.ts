import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeApproval } from '../../../src/cli/oversight-commands';
import type { ApprovalView } from '../../../src/protocol/ui';

const base: ApprovalView = {
  id: 'a1',
  kind: 'tool',
  server: 'kubernetes',
  tool: 'resource_delete',
  args: { name: 'api' },
  digest: 'd'.repeat(64),
  preview: { status: 'none', note: 'no preview' },
  reason: 'needs two',
  createdAt: 0,
  expiresAt: 60_000,
  status: 'pending',
};

describe('mcpcp approvals: who asked and how many approved', () => {
  it('shows the requester and the four-eyes progress', () => {
    const text = describeApproval({ ...base, requestedBy: 'ci bot', approvals: { given: 1, required: 2, by: ['alice'] } }, 'full');
    assert.match(text, /requested by: ci bot \(nobody approves their own request\)/);
    assert.match(text, /approvals: 1 of 2 different approvers \(so far: alice\)/);
  });

  it('says nothing of either in the loopback mode', () => {
    const text = describeApproval(base, 'full');
    assert.doesNotMatch(text, /requested by|different approvers/);
  });

  it('renders names through visible(): no terminal escapes from a principal name', () => {
    const text = describeApproval({ ...base, requestedBy: 'evil\u001b[2J', approvals: { given: 1, required: 2, by: ['x\u202ey'] } }, 'full');
    assert.ok(!text.includes('\u001b') && !text.includes('\u202e'));
  });
});
