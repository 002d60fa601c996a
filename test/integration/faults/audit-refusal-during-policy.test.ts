// A failing audit log refuses `call.requested` while policy is still being evaluated. That refusal
// must be handled at once: an unhandled rejection ends the process (`mcpcp serve` on a full disk,
// seen under load: exit 1 with "the audit log cannot be written"). The call is refused, saying why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OversightStages } from '../../../src/core/gateway/pipeline';
import { connectClient, firstText, startPlane } from '../../helpers/fixture-plane';

describe('audit refusal while policy runs', () => {
  it('is handled: no unhandled rejection, the call is refused with the cause, nothing runs', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const ran: string[] = [];
    const stages: OversightStages = {
      // Policy takes longer than the audit needs to refuse the first record.
      policy: async () => {
        await new Promise((r) => setTimeout(r, 200));
        return { decision: 'allow', reason: 'test', rule: { source: 'default' } };
      },
      approve: async () => ({ approved: false, reason: 'no approvals here' }),
      audit: async (e) => {
        if (e.type === 'call.requested') {
          await new Promise((r) => setTimeout(r, 10));
          throw new Error('the audit log cannot be written: ENOSPC: no space left on device');
        }
        if (e.type === 'call.completed') ran.push(e.call.name);
      },
    };
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { stages });
    try {
      await plane.supervisor.get('fx')!.waitUntilServing(10_000);
      const client = await connectClient(plane, 'fx');
      const result = (await client.callTool({ name: 'echo', arguments: { text: 'must not run' } })) as { isError?: boolean };
      assert.equal(result.isError, true);
      assert.match(firstText(result), /audit log cannot be written.*ENOSPC/);
      // Give a stray rejection time to surface.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(unhandled.map(String), [], 'a rejected audit record went unhandled');
      assert.deepEqual(ran, [], 'the call ran unrecorded');
      await client.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await plane.stop();
    }
  });
});
