// The audit keeps each call's policy inputs (for a what-if replay): arguments with secrets masked
// (and nothing else), the annotations, and who asked — through the real gateway and audit stage.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { queryAudit } from '../../../src/core/audit';
import { connectClient, startPlane } from '../../helpers/fixture-plane';

describe('audit: policy inputs of a call', () => {
  it('call.requested carries args (secrets masked, ordinary values as sent), annotations and principal', async (t) => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: {} });
    t.after(() => plane.stop());
    await plane.supervisor.get('fx')!.waitUntilServing(10_000);
    const client = await connectClient(plane, 'fx', { name: 'policy-inputs', version: '2.0' });
    t.after(() => client.close());
    const tools = (await client.listTools()).tools;
    const echo = tools.find((x) => x.name === 'echo');
    assert.ok(echo !== undefined);
    // The gateway token is a secret the control plane knows; the AWS key id has a credential's
    // shape; `password=hunter2` is a pair written as data. A sentence, numbers and refs stay as sent.
    const text = `token ${plane.gateway.token}; AKIAIOSFODNN7EXAMPLE; password=hunter2`;
    await client.callTool({ name: 'echo', arguments: { text, note: 'reset the password: owned by ops', count: 3, branch: 'main' } });

    const { records } = await queryAudit(join(plane.stateDir!, 'audit'), { type: 'call.requested', tool: 'echo' });
    const r = records[0];
    assert.ok(r !== undefined, 'the request is recorded');
    assert.deepEqual(r.args, { text: 'token [REDACTED]; [REDACTED]; password=[REDACTED]', note: 'reset the password: owned by ops', count: 3, branch: 'main' }, 'secrets masked, nothing else');
    assert.ok(!JSON.stringify(r).includes('hunter2'), 'no secret in the record');
    assert.ok(!JSON.stringify(r).includes(plane.gateway.token), 'the token appears nowhere in the record');
    assert.deepEqual(r.principal?.client, { name: 'policy-inputs', version: '2.0' });
    assert.match(r.principal?.session ?? '', /.+/);
    assert.deepEqual(r.annotations ?? {}, echo.annotations ?? {});
    const decided = (await queryAudit(join(plane.stateDir!, 'audit'), { type: 'policy.decided', tool: 'echo' })).records[0];
    assert.equal(decided?.callId, r.callId, 'the decision is tied to the request');
  });
});
