// Threat: a dry run is confused with the real call — it waits for (and spends) the approval meant
// for the change, or a dry run slips past the rules that protect secrets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queryAudit } from '../../../src/core/audit';
import type { TestPlane } from '../../helpers/fixture-plane';
import { connectClient, firstText, startPlane, waitFor } from '../../helpers/fixture-plane';

async function withPlane(options: Parameters<typeof startPlane>[1], run: (plane: TestPlane) => Promise<void>, builtin = true): Promise<void> {
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved', builtin }], options);
  try {
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    await run(plane);
  } finally {
    await plane.stop();
  }
}

async function outcomes(plane: TestPlane): Promise<Array<string | undefined>> {
  const page = await queryAudit(`${plane.stateDir}/audit`, { type: ['call.completed', 'call.failed'] }, { limit: 50, order: 'asc' });
  return page.records.map((r) => r.outcome);
}

describe('dry-run confusion: a built-in preview is its own call', () => {
  it('a dry run needs no approval, leaves the real call\'s approval alone, and is audited as a dry run', async () => {
    await withPlane({ oversight: {} }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const real = client.callTool({ name: 'delete_thing', arguments: { name: 'prod' } });
      await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the real call to wait');
      const approval = plane.oversight!.store.list()[0]!;
      // The dry run answers at once, while the real call still waits.
      const dry = await client.callTool({ name: 'delete_thing', arguments: { name: 'prod', dryRun: true } });
      assert.equal(firstText(dry), 'would delete prod');
      assert.equal(plane.oversight!.store.list().length, 1);
      assert.equal(plane.oversight!.store.get(approval.id)?.status, 'pending', 'the dry run did not join, consume or satisfy it');
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      assert.equal(firstText(await real), 'deleted prod; deleted so far: prod');
      // A dry run after the approval was used does not find it either, nor does a real repeat.
      assert.equal(firstText(await client.callTool({ name: 'delete_thing', arguments: { name: 'prod', dryRun: true } })), 'would delete prod');
      const again = client.callTool({ name: 'delete_thing', arguments: { name: 'prod' } });
      await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the repeat to ask again');
      plane.oversight!.rejectPending('test over');
      await again;
      await waitFor(async () => (await outcomes(plane)).length === 4, 5_000, 'four outcomes');
      assert.deepEqual(await outcomes(plane), ['dry-run', 'ok', 'dry-run', 'rejected']);
      await client.close();
    });
  });

  it('deny rules and the reveal default still apply to a dry run; its approval is its own', async () => {
    await withPlane({ oversight: { rules: [{ tool: 'delete_thing', args: { name: { equals: 'forbidden' } }, decision: 'deny', reason: 'never' }] } }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const denied = await client.callTool({ name: 'delete_thing', arguments: { name: 'forbidden', dryRun: true } });
      assert.equal(denied.isError, true);
      assert.match(firstText(denied), /Denied by policy: never/);
      // `reveal` needs a human even for a dry run, and the card shows it is one.
      const revealing = client.callTool({ name: 'delete_thing', arguments: { name: 'x', reveal: true, dryRun: true } });
      await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the revealing dry run to wait');
      const dryApproval = plane.oversight!.store.list()[0]!;
      assert.deepEqual(dryApproval.displayArgs, { name: 'x', reveal: true, dryRun: true });
      // The real call with the same arguments is another approval (the digest includes dryRun).
      const realCall = client.callTool({ name: 'delete_thing', arguments: { name: 'x', reveal: true } });
      await waitFor(() => plane.oversight!.store.list().length === 2, 10_000, 'the real call to ask separately');
      const realApproval = plane.oversight!.store.list().find((a) => a.id !== dryApproval.id)!;
      assert.notEqual(realApproval.digest, dryApproval.digest);
      await plane.oversight!.decide({ approvalId: dryApproval.id, digest: dryApproval.digest, approve: true }, { kind: 'vscode-ui' });
      assert.equal(firstText(await revealing), 'would delete x');
      assert.equal(plane.oversight!.store.get(realApproval.id)?.status, 'pending', 'approving the dry run approved nothing else');
      await plane.oversight!.decide({ approvalId: realApproval.id, digest: realApproval.digest, approve: false }, { kind: 'vscode-ui' });
      assert.equal((await realCall).isError, true);
      await client.close();
    });
  });

  it('on a third-party server dryRun is just an argument: the call waits for approval', async () => {
    await withPlane({ oversight: {} }, async (plane) => {
      const client = await connectClient(plane, 'fx');
      const call = client.callTool({ name: 'delete_thing', arguments: { name: 'y', dryRun: true } });
      await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the third-party dry run to wait');
      plane.oversight!.rejectPending('test over');
      assert.equal((await call).isError, true);
      await client.close();
    }, false);
  });
});
