// The audit keeps each call's policy inputs (for a what-if replay): arguments with only the known
// secret values masked, the annotations, and who asked — through the real gateway and audit stage.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { queryAudit } from '../../../src/core/audit';
import { connectClient, startPlane } from '../../helpers/fixture-plane';

describe('audit: policy inputs of a call', () => {
  it('call.requested carries args (known secrets and credential shapes masked, nothing else), annotations and principal', async (t) => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: {} });
    t.after(() => plane.stop());
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    const client = await connectClient(plane, 'fx', { name: 'policy-inputs', version: '2.0' });
    t.after(() => client.close());
    const tools = (await client.listTools()).tools;
    const echo = tools.find((x) => x.name === 'echo');
    assert.ok(echo !== undefined);
    // The gateway token is a secret the control plane knows; the AWS key id has a credential's
    // shape; "password: owned by ops" only looks like a pair and must stay as it was (replay).
    const text = `token ${plane.gateway.token}; AKIAIOSFODNN7EXAMPLE; password: owned by ops; password=hunter2`;
    await client.callTool({ name: 'echo', arguments: { text } });

    const { records } = await queryAudit(join(plane.stateDir!, 'audit'), { type: 'call.requested', tool: 'echo' });
    const r = records[0];
    assert.ok(r !== undefined, 'the request is recorded');
    assert.deepEqual(r.args, { text: 'token [REDACTED]; [REDACTED]; password: owned by ops; password=hunter2' }, 'known secrets and credential shapes masked, nothing else');
    assert.ok(!JSON.stringify(r).includes(plane.gateway.token), 'the token appears nowhere in the record');
    assert.deepEqual(r.principal?.client, { name: 'policy-inputs', version: '2.0' });
    assert.match(r.principal?.session ?? '', /.+/);
    assert.deepEqual(r.annotations ?? {}, echo.annotations ?? {});
    const decided = (await queryAudit(join(plane.stateDir!, 'audit'), { type: 'policy.decided', tool: 'echo' })).records[0];
    assert.equal(decided?.callId, r.callId, 'the decision is tied to the request');
  });
});
