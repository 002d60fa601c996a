// Calls that wait: the cross-session queue of an untagged third-party server (timeout, the waiting
// caller's cancellation, being told why it waits), and what a stop does to waiting calls.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { queryAudit } from '../../../src/core/audit';
import { connectClient, firstText, startPlane, waitFor, type TestPlane } from '../../helpers/fixture-plane';

const servers = [
  { name: 'tp', fixture: 'well-behaved', builtin: false },
  { name: 'fx', fixture: 'well-behaved', builtin: true },
];
const allowTp = [{ server: 'tp', decision: 'allow' as const }];

async function auditOf(plane: TestPlane): Promise<Array<{ type: string; tool?: string; outcome?: string; error?: string; client?: { name: string } }>> {
  return (await queryAudit(`${plane.stateDir!}/audit`, {}, { limit: 1000 })).records as never;
}

describe('the cross-session queue of a third-party server', () => {
  it('a second session is told why it waits and gives up after gateway.queueTimeoutMs with a clear result', async () => {
    const plane = await startPlane(servers, { gateway: { queueTimeoutMs: 1_000 }, oversight: { rules: allowTp } });
    try {
      await plane.supervisor.get('tp')!.waitUntilServing(10_000);
      const a = await connectClient(plane, 'tp', { name: 'session-a' });
      const b = await connectClient(plane, 'tp', { name: 'session-b' });
      const slowA = a.callTool({ name: 'slow', arguments: { ms: 4_000, steps: 1 } });
      await waitFor(async () => (await auditOf(plane)).some((r) => r.type === 'policy.decided' && r.client?.name === 'session-a'), 5_000, 'A forwarded');
      await new Promise((r) => setTimeout(r, 200));
      const told: string[] = [];
      const logs: string[] = [];
      b.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
      const t0 = Date.now();
      const resultB = await b.callTool({ name: 'echo', arguments: { text: 'b' } }, undefined, { onprogress: (p) => void told.push(p.message ?? '') });
      const waited = Date.now() - t0;
      assert.equal(resultB.isError, true);
      assert.match(firstText(resultB), /^Not run: calls from another client session were still running on server "tp" after 1 s\. A third-party server takes calls from one session at a time .* Nothing ran; call again later\.$/);
      assert.ok(waited >= 900 && waited < 3_000, `gave up after ${waited} ms`);
      assert.match(told[0] ?? '', /Waiting for calls from another client session on server "tp" to finish .*giving up after 1 s/);
      assert.match(logs[0] ?? '', /Waiting for calls from another client session on server "tp"/);
      assert.equal(firstText(await slowA), 'waited 4000 ms', 'A is not disturbed');
      // B works again once A is done.
      assert.equal(firstText(await b.callTool({ name: 'echo', arguments: { text: 'b again' } })), 'b again');
      const failed = (await auditOf(plane)).filter((r) => r.type === 'call.failed' && r.client?.name === 'session-b');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.outcome, 'failed');
      assert.match(failed[0]!.error!, /Not run: calls from another client session/);
      await a.close();
      await b.close();
    } finally {
      await plane.stop();
    }
  });

  it('a waiting caller that cancels leaves the queue at once (audited cancelled) and never runs', async () => {
    const plane = await startPlane(servers, { oversight: { rules: allowTp } });
    try {
      await plane.supervisor.get('tp')!.waitUntilServing(10_000);
      const a = await connectClient(plane, 'tp', { name: 'session-a' });
      const b = await connectClient(plane, 'tp', { name: 'session-b' });
      const slowA = a.callTool({ name: 'slow', arguments: { ms: 3_000, steps: 1 } });
      await waitFor(async () => (await auditOf(plane)).some((r) => r.type === 'policy.decided' && r.client?.name === 'session-a'), 5_000, 'A forwarded');
      await new Promise((r) => setTimeout(r, 200));
      const controller = new AbortController();
      let told = '';
      const pendingB = b.callTool({ name: 'bump', arguments: {} }, undefined, { signal: controller.signal, onprogress: (p) => void (told = p.message ?? '') });
      await waitFor(() => told !== '', 5_000, 'B told it waits');
      const t0 = Date.now();
      controller.abort('changed my mind');
      await assert.rejects(pendingB);
      await waitFor(async () => (await auditOf(plane)).some((r) => r.type === 'call.failed' && r.client?.name === 'session-b'), 2_000, 'B audited');
      const cancelledAfter = Date.now() - t0;
      assert.ok(cancelledAfter < 1_500, `left the queue after ${cancelledAfter} ms`);
      const failedB = (await auditOf(plane)).find((r) => r.type === 'call.failed' && r.client?.name === 'session-b')!;
      assert.equal(failedB.outcome, 'cancelled');
      assert.equal(firstText(await slowA), 'waited 3000 ms');
      // It never ran: no completion for bump.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual((await auditOf(plane)).filter((r) => r.type === 'call.completed' && r.tool === 'bump'), []);
      await a.close();
      await b.close();
    } finally {
      await plane.stop();
    }
  });
});

describe('a stop and the calls that wait', () => {
  it('a call waiting for approval and a queued call get the stop error at once; a running one when the drain time ends; all audited stopped', async () => {
    const plane = await startPlane(servers, { oversight: { rules: allowTp } });
    try {
      await plane.supervisor.get('tp')!.waitUntilServing(10_000);
      await plane.supervisor.get('fx')!.waitUntilServing(10_000);
      const approver = await connectClient(plane, 'fx', { name: 'awaiting-approval' });
      const a = await connectClient(plane, 'tp', { name: 'running' });
      const b = await connectClient(plane, 'tp', { name: 'queued' });
      const answers: Record<string, { at: number; text: string }> = {};
      const settle = (label: string, p: Promise<unknown>): Promise<void> =>
        p.then(
          (r) => void (answers[label] = { at: Date.now(), text: JSON.stringify(r) }),
          (e: Error) => void (answers[label] = { at: Date.now(), text: e.message }),
        );
      const waitsApproval = settle('approval', approver.callTool({ name: 'delete_thing', arguments: { name: 'x' } }));
      await waitFor(() => plane.oversight!.store.list().length === 1, 5_000, 'an approval pending');
      const runs = settle('running', a.callTool({ name: 'slow', arguments: { ms: 30_000, steps: 1 } }));
      await waitFor(async () => (await auditOf(plane)).some((r) => r.type === 'policy.decided' && r.client?.name === 'running'), 5_000, 'A forwarded');
      await new Promise((r) => setTimeout(r, 200));
      let queuedTold = false;
      const queued = settle('queued', b.callTool({ name: 'echo', arguments: { text: 'b' } }, undefined, { onprogress: () => void (queuedTold = true) }));
      await waitFor(() => queuedTold, 5_000, 'B queued');

      const t0 = Date.now();
      const drained = plane.gateway.drain('SIGTERM', 1_500);
      await Promise.all([waitsApproval, queued]);
      for (const label of ['approval', 'queued']) {
        assert.match(answers[label]!.text, /The MCP control plane stopped \(SIGTERM\) while this call was waiting .* It did not run/);
        assert.ok(answers[label]!.at - t0 < 500, `${label} answered after ${answers[label]!.at - t0} ms`);
      }
      await runs;
      assert.match(answers['running']!.text, /The MCP control plane stopped \(SIGTERM\) and server "tp" did not answer within the 1\.5 s the stop allows\. The call may have taken effect/);
      assert.ok(answers['running']!.at - t0 >= 1_400, `running call answered after ${answers['running']!.at - t0} ms`);
      await drained;
      // A new call after the stop began is refused with the same reason.
      await assert.rejects(approver.callTool({ name: 'echo', arguments: { text: 'late' } }), /The MCP control plane stopped \(SIGTERM\): it takes no new calls/);
      const failed = (await auditOf(plane)).filter((r) => r.type === 'call.failed');
      assert.deepEqual(failed.map((r) => [r.client?.name, r.tool, r.outcome]).sort(), [
        ['awaiting-approval', 'delete_thing', 'stopped'],
        ['queued', 'echo', 'stopped'],
        ['running', 'slow', 'stopped'],
      ]);
    } finally {
      await plane.stop();
    }
  });
});
