// Threat: the person (or agent owner) who asked for a call approves it themselves, or one approver
// counts twice toward a four-eyes rule (two channels, two clicks). Each attack is first shown to
// be possible in form (the decision reaches the real pipeline's backend), then refused, with the
// marker file the tool would write as the witness that nothing ran.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ControlPlaneError } from '../../../src/core/errors';
import { LOCAL_PRINCIPAL, type Principal } from '../../../src/core/team/principal';
import { connectClient, firstText, startPlane, waitFor, type TestPlane } from '../../helpers/fixture-plane';

const bob: Principal = { id: 'oidc:https://idp.test#bob', name: 'bob', via: 'ui-session', roles: ['approver'], groups: [] };
const carol: Principal = { id: 'oidc:https://idp.test#carol', name: 'carol', via: 'ui-session', roles: ['approver'], groups: [] };

function markerLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof ControlPlaneError ? err.code : String(err);
  }
  return undefined;
}

async function pending(plane: TestPlane): Promise<{ id: string; digest: string }> {
  await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the pending approval');
  const a = plane.oversight!.store.list()[0]!;
  return { id: a.id, digest: a.digest };
}

describe('self-approval and double counting are refused (real gateway pipeline)', () => {
  it('the requester approving (or rejecting) their own request is refused and nothing runs; another approver\'s approval runs it once', async () => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: { allowSelfApproval: false } });
    const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-self-')), 'ran.txt');
    try {
      const client = await connectClient(plane, 'fx');
      const call = client.callTool({ name: 'write_marker', arguments: { path: marker, text: 'ran' } });
      call.catch(() => undefined);
      const { id, digest } = await pending(plane);
      // The call came from the local principal (no team credential): it is the requester.
      assert.equal(plane.oversight!.store.get(id)?.requester.id, LOCAL_PRINCIPAL.id);
      // Attack: the requester approves through the approvals UI backend, under any display name.
      const sameIdOtherName: Principal = { ...LOCAL_PRINCIPAL, name: 'Totally Someone Else', via: 'ui-session' };
      assert.equal(await codeOf(plane.oversight!.decide({ approvalId: id, digest, approve: true }, { kind: 'approver-credential', name: 'web-ui' })), 'APPROVAL_SELF_DECISION');
      assert.equal(await codeOf(plane.oversight!.decide({ approvalId: id, digest, approve: true }, { kind: 'vscode-ui', principal: sameIdOtherName })), 'APPROVAL_SELF_DECISION');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(markerLines(marker), [], 'witness: the tool did not run');
      assert.equal(plane.oversight!.store.get(id)?.status, 'pending', 'the approval waits for someone else');
      // The guard is not a blanket refusal: another principal's approval runs the call, once.
      const ok = await plane.oversight!.decide({ approvalId: id, digest, approve: true }, { kind: 'approver-credential', name: 'web-ui', principal: bob });
      assert.equal(ok.status, 'approved');
      assert.equal(firstText(await call), `wrote ${marker}`);
      assert.deepEqual(markerLines(marker), ['ran']);
      await client.close();
    } finally {
      await plane.stop();
    }
  });

  it('four-eyes: one approver approving twice (two channels) does not make two approvals; nothing runs until a second person approves', async () => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], {
      oversight: { allowSelfApproval: false, rules: [{ server: 'fx', tool: 'write_marker', decision: 'approve', approvers: 2 }] },
    });
    const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-four-')), 'ran.txt');
    try {
      const client = await connectClient(plane, 'fx');
      const call = client.callTool({ name: 'write_marker', arguments: { path: marker, text: 'ran' } });
      call.catch(() => undefined);
      const { id, digest } = await pending(plane);
      const first = await plane.oversight!.decide({ approvalId: id, digest, approve: true }, { kind: 'approver-credential', name: 'web-ui', principal: bob });
      assert.equal(first.status, 'pending');
      assert.match(first.note ?? '', /1 of 2 approvals/);
      // Attack: bob approves again from VS Code, then from the CLI.
      assert.equal(await codeOf(plane.oversight!.decide({ approvalId: id, digest, approve: true }, { kind: 'vscode-ui', principal: bob })), 'APPROVAL_ALREADY_APPROVED');
      assert.equal(await codeOf(plane.oversight!.decide({ approvalId: id, digest, approve: true }, { kind: 'approver-credential', name: 'cli', principal: bob })), 'APPROVAL_ALREADY_APPROVED');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(markerLines(marker), [], 'witness: one approver of two runs nothing');
      const second = await plane.oversight!.decide({ approvalId: id, digest, approve: true }, { kind: 'approver-credential', name: 'web-ui', principal: carol });
      assert.equal(second.status, 'approved');
      assert.equal(firstText(await call), `wrote ${marker}`);
      assert.deepEqual(markerLines(marker), ['ran'], 'runs once after two different people approved');
      await client.close();
    } finally {
      await plane.stop();
    }
  });
});
