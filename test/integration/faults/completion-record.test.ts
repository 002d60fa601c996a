// A call's completion is recorded before its result leaves the gateway; if it can't be recorded,
// the result still goes back, flagged (withholding it would make the agent run the action twice).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OversightStages, PipelineEvent } from '../../../src/core/gateway/pipeline';
import { connectClient, firstText, startPlane } from '../../helpers/fixture-plane';

function stages(onCompleted: (e: PipelineEvent) => Promise<void>): { stages: OversightStages; events: PipelineEvent[] } {
  const events: PipelineEvent[] = [];
  return {
    events,
    stages: {
      policy: async () => ({ decision: 'allow', reason: 'test', rule: { source: 'default' } }),
      approve: async () => ({ approved: false, reason: 'no approvals here' }),
      audit: async (e) => {
        if (e.type === 'call.completed') await onCompleted(e);
        events.push(e);
      },
    },
  };
}

describe('completion before result', () => {
  it('the completion record is written before the client has the result, even when the write is slow', async () => {
    const s = stages(() => new Promise((r) => setTimeout(r, 300)));
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { stages: s.stages });
    try {
      await plane.supervisor.get('fx')!.waitUntilServing(10_000);
      const client = await connectClient(plane, 'fx');
      const t0 = Date.now();
      const result = await client.callTool({ name: 'echo', arguments: { text: 'done' } });
      assert.equal(firstText(result), 'done');
      assert.ok(Date.now() - t0 >= 290, 'the result waited for the record');
      assert.deepEqual(s.events.filter((e) => e.type === 'call.completed').length, 1, 'recorded by the time the result arrived');
      assert.equal((result as { _meta?: Record<string, unknown> })._meta?.['mcpcp/audit'], undefined);
      await client.close();
    } finally {
      await plane.stop();
    }
  });

  it('a completion that cannot be recorded still returns the result, flagged', async () => {
    const s = stages(async () => {
      throw new Error('ENOSPC: no space left on device');
    });
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { stages: s.stages });
    try {
      await plane.supervisor.get('fx')!.waitUntilServing(10_000);
      const client = await connectClient(plane, 'fx');
      const result = await client.callTool({ name: 'echo', arguments: { text: 'ran anyway' } });
      assert.equal(firstText(result), 'ran anyway');
      assert.deepEqual((result as { _meta?: Record<string, unknown> })._meta?.['mcpcp/audit'], { recorded: false, error: 'ENOSPC: no space left on device' });
      await client.close();
    } finally {
      await plane.stop();
    }
  });
});
