// Threat: an approval outlives its caller — approved later, the action runs for nobody, and the
// caller's retry asks (and runs) again: one action twice.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { queryAudit } from '../../../src/core/audit';
import type { TestPlane } from '../../helpers/fixture-plane';
import { connectClient, firstText, startPlane, waitFor } from '../../helpers/fixture-plane';

async function withPlane(run: (plane: TestPlane) => Promise<void>): Promise<void> {
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: {} });
  try {
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    await run(plane);
  } finally {
    await plane.stop();
  }
}

const ways: Array<{ how: string; leave: (client: Client, controller: AbortController) => Promise<void> }> = [
  { how: 'the request is cancelled', leave: async (_client, controller) => controller.abort() },
  { how: 'the HTTP stream closes (the client drops without cancelling)', leave: async (client) => client.close() },
  { how: 'the session is deleted', leave: async (client) => (client.transport as StreamableHTTPClientTransport).terminateSession() },
];

describe('orphaned approval: an approval runs at most once, for a caller who is there', () => {
  for (const { how, leave } of ways) {
    it(`${how}: the pending approval is cancelled, audited, and approving it runs nothing`, async () => {
      await withPlane(async (plane) => {
        const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran');
        const client = await connectClient(plane, 'fx');
        const controller = new AbortController();
        const call = client.callTool({ name: 'write_marker', arguments: { path: marker } }, undefined, { signal: controller.signal });
        call.catch(() => undefined);
        await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the call to wait for approval');
        const approval = plane.oversight!.store.list()[0]!;
        await leave(client, controller);
        await waitFor(() => plane.oversight!.store.get(approval.id)?.status !== 'pending', 10_000, 'the approval to be cancelled');
        const after = plane.oversight!.store.get(approval.id)!;
        assert.equal(after.status, 'rejected');
        assert.match(after.decision!.reason, /caller disconnected before a decision: cancelled, nothing ran/);
        // The approval views say so.
        const view = (await plane.oversight!.state(3_600_000)).history.find((a) => a.id === approval.id)!;
        assert.equal(view.decidedBy, 'system (caller-disconnected)');
        assert.match(view.decisionReason ?? '', /caller disconnected/);
        // A human approving it later runs nothing.
        await assert.rejects(plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' }), /no longer pending/);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(existsSync(marker), false, 'the marker was never written');
        await waitFor(async () => (await queryAudit(`${plane.stateDir}/audit`, { type: ['call.failed'] }, { limit: 5 })).records.length === 1, 5_000, 'the audit record');
        const failed = (await queryAudit(`${plane.stateDir}/audit`, { type: ['call.failed'] }, { limit: 5 })).records[0]!;
        assert.equal(failed.outcome, 'caller-disconnected');

        // The caller's retry asks anew, and runs once when approved.
        const again = await connectClient(plane, 'fx');
        const retry = again.callTool({ name: 'write_marker', arguments: { path: marker } });
        await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the retry to ask');
        const second = plane.oversight!.store.list()[0]!;
        assert.notEqual(second.id, approval.id);
        await plane.oversight!.decide({ approvalId: second.id, digest: second.digest, approve: true }, { kind: 'vscode-ui' });
        assert.match(firstText(await retry), /wrote/);
        assert.equal(readFileSync(marker, 'utf8'), 'ran\n', 'ran exactly once');
        await again.close();
      });
    });
  }

  it('a caller who stays still gets its decision when another identical caller leaves', async () => {
    await withPlane(async (plane) => {
      const marker = join(mkdtempSync(join(tmpdir(), 'mcpcp-marker-')), 'ran');
      const leaving = await connectClient(plane, 'fx');
      const staying = await connectClient(plane, 'fx');
      const gone = leaving.callTool({ name: 'write_marker', arguments: { path: marker } });
      gone.catch(() => undefined);
      await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'pending');
      const approval = plane.oversight!.store.list()[0]!;
      const kept = staying.callTool({ name: 'write_marker', arguments: { path: marker } });
      await new Promise((r) => setTimeout(r, 200));
      await leaving.close();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(plane.oversight!.store.get(approval.id)?.status, 'pending', 'someone still waits for it');
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      assert.match(firstText(await kept), /wrote/);
      assert.equal(readFileSync(marker, 'utf8'), 'ran\n');
      await staying.close();
    });
  });
});
