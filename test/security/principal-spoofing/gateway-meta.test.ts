/**
 * Threat: the agent names another principal in `_meta["mcpcp/principal"]`. The gateway replaces
 * it with the caller's own principal for built-in servers and drops it for third-party ones
 * (which are not told who calls). The witness is what each server received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, firstText, startPlane, type TestPlane } from '../../helpers/fixture-plane';

const SPOOFED = { 'mcpcp/principal': { id: 'oidc:mallory-as-admin', roles: ['admin'] }, note: 'kept' };

describe('gateway and a client-supplied mcpcp/principal', () => {
  let plane: TestPlane;
  before(async () => {
    plane = await startPlane([
      { name: 'builtin', fixture: 'meta-echo', builtin: true },
      { name: 'thirdparty', fixture: 'meta-echo', builtin: false },
    ]);
  });
  after(async () => {
    await plane?.stop();
  });

  it('a built-in server receives the caller\'s principal, never the one the client sent', async () => {
    const client = await connectClient(plane, 'builtin');
    const meta = JSON.parse(firstText(await client.callTool({ name: 'show_meta', arguments: {}, _meta: SPOOFED }))) as Record<string, unknown>;
    assert.deepEqual(meta['mcpcp/principal'], { id: 'local:owner', roles: ['viewer', 'operator', 'approver', 'admin'] });
    assert.equal(meta['note'], 'kept', 'other _meta passes as before');
    await client.close();
  });

  it('a third-party server receives no principal at all', async () => {
    const client = await connectClient(plane, 'thirdparty');
    const meta = JSON.parse(firstText(await client.callTool({ name: 'show_meta', arguments: {}, _meta: SPOOFED }))) as Record<string, unknown>;
    assert.equal('mcpcp/principal' in meta, false, JSON.stringify(meta));
    await client.close();
  });
});
