import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema, settingsSchema } from '../../../src/core/config/schema';
import { selfApprovalAllowed } from '../../../src/core/control-plane';

describe('team.allowSelfApproval', () => {
  it('loopback mode (no team, no shared state) is self-approval by construction', () => {
    assert.equal(selfApprovalAllowed(configSchema.parse({})), true);
  });

  it('team mode: off unless the operator says so', () => {
    assert.equal(selfApprovalAllowed(configSchema.parse({ team: { publicUrl: 'https://mcpcp.example.com' } })), false);
    assert.equal(selfApprovalAllowed(configSchema.parse({ team: { publicUrl: 'https://mcpcp.example.com', allowSelfApproval: true } })), true);
  });

  it('approvals shared with other replicas (storage.postgres) without a team section: off unless explicit', () => {
    const shared = { storage: { postgres: { url: '${secret:pg-url}' } } };
    assert.equal(selfApprovalAllowed(configSchema.parse(shared)), false);
    assert.equal(selfApprovalAllowed(configSchema.parse({ ...shared, team: { publicUrl: 'https://mcpcp.example.com', allowSelfApproval: true } })), true);
  });

  it('is refused when mistyped, and is no VS Code setting (team mode is mcpcp serve only)', () => {
    assert.equal(configSchema.safeParse({ team: { publicUrl: 'https://mcpcp.example.com', allowSelfApproval: 'yes' } }).success, false);
    assert.equal(configSchema.safeParse({ team: { publicUrl: 'https://mcpcp.example.com', allowSelfAproval: true } }).success, false);
    assert.equal('team' in settingsSchema.shape, false);
  });
});
