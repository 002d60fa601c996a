// Threat: an agent floods the human approvers — with calls that can never run (unknown tools,
// schema-invalid arguments), or with more valid calls than anyone can review.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { queryAudit } from '../../../src/core/audit';
import type { TestPlane } from '../../helpers/fixture-plane';
import { connectClient, startPlane, waitFor } from '../../helpers/fixture-plane';

async function withPlane(options: Parameters<typeof startPlane>[1], run: (plane: TestPlane) => Promise<void>, builtin = true): Promise<void> {
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved', builtin }], options);
  try {
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    await run(plane);
  } finally {
    await plane.stop();
  }
}

async function expectInvalidParams(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof McpError, `expected a JSON-RPC error, got ${String(err)}`);
    assert.equal(err.code, -32602);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('approval flood: only valid calls reach a human, and pending approvals are bounded', () => {
  for (const builtin of [true, false]) {
    it(`2,000 bogus calls from one session create no approval (${builtin ? 'built-in' : 'third-party'} server)`, async () => {
      await withPlane({ oversight: {}, gateway: { maxRequestsPerSecondPerSession: 100_000 } }, async (plane) => {
        const client = await connectClient(plane, 'fx');
        const bogus = [
          { name: 'no_such_tool', arguments: { x: 1 } },
          { name: 'delete_thing', arguments: {} },
          { name: 'delete_thing', arguments: { name: 42 } },
          { name: 'write_marker', arguments: { path: ['a'] } },
        ];
        const started = Date.now();
        let refused = 0;
        for (let i = 0; i < 2_000; i += 25) {
          await Promise.all(
            Array.from({ length: 25 }, async (_, j) => {
              const call = bogus[(i + j) % bogus.length]!;
              try {
                await client.callTool({ name: call.name, arguments: { ...call.arguments, n: i + j } });
              } catch (err) {
                if (err instanceof McpError && err.code === -32602) refused++;
              }
            }),
          );
        }
        assert.equal(refused, 2_000, 'every bogus call is refused with -32602');
        assert.equal(plane.oversight!.store.list().length, 0, 'no pending approval');
        assert.equal(plane.oversight!.store.history().length, 0, 'no approval at all');
        const audit = await queryAudit(`${plane.stateDir}/audit`, { type: ['approval.requested'] }, { limit: 10 });
        assert.equal(audit.records.length, 0);
        // The refusals name the problem.
        await expectInvalidParams(client.callTool({ name: 'no_such_tool', arguments: {} }), /Unknown tool "no_such_tool" on server "fx"; its tools are: echo, .*delete_thing/);
        await expectInvalidParams(client.callTool({ name: 'delete_thing', arguments: {} }), /Invalid arguments for tool "delete_thing" on server "fx": .*name/);
        await expectInvalidParams(client.callTool({ name: 'delete_thing', arguments: { name: 42 } }), /Invalid arguments for tool "delete_thing".*string/);
        // A valid call still reaches the human.
        const valid = client.callTool({ name: 'delete_thing', arguments: { name: 'ok' } });
        await waitFor(() => plane.oversight!.store.list().length === 1, 10_000, 'the valid call to wait for approval');
        plane.oversight!.rejectPending('test over');
        await valid;
        assert.ok(Date.now() - started < 60_000);
        await client.close();
      }, builtin);
    });
  }

  it('one session gets at most 10 pending approvals; the instance at most maxPending; then a clear refusal', async () => {
    await withPlane({ oversight: { approvals: { maxPending: 14 } } }, async (plane) => {
      const a = await connectClient(plane, 'fx');
      const b = await connectClient(plane, 'fx');
      const waiting = Array.from({ length: 10 }, (_, i) => a.callTool({ name: 'delete_thing', arguments: { name: `a${i}` } }));
      await waitFor(() => plane.oversight!.store.list().length === 10, 10_000, '10 pending approvals');
      const over = await a.callTool({ name: 'delete_thing', arguments: { name: 'a10' } });
      assert.equal(over.isError, true);
      assert.match(JSON.stringify(over.content), /this session already has 10 calls waiting for a human \(limit 10, setting approvals.maxPendingPerSession\)/);
      assert.equal(plane.oversight!.store.list().length, 10, 'the 11th created none');
      // Another session is not locked out by the first one, up to the instance bound.
      const others = Array.from({ length: 4 }, (_, i) => b.callTool({ name: 'delete_thing', arguments: { name: `b${i}` } }));
      await waitFor(() => plane.oversight!.store.list().length === 14, 10_000, '14 pending approvals');
      const full = await b.callTool({ name: 'delete_thing', arguments: { name: 'b4' } });
      assert.equal(full.isError, true);
      assert.match(JSON.stringify(full.content), /14 approvals are already waiting for a human \(setting approvals.maxPending\)/);
      assert.equal(plane.oversight!.store.list().length, 14);
      const refusals = await queryAudit(`${plane.stateDir}/audit`, { type: ['call.failed'] }, { limit: 10 });
      assert.deepEqual(refusals.records.map((r) => r.outcome), ['denied', 'denied']);
      plane.oversight!.rejectPending('test over');
      await Promise.all([...waiting, ...others]);
      await a.close();
      await b.close();
    });
  });
});
