// The network server's effects: which devices a config change reaches, with their tags and groups,
// resolved from the inventory alone (no SSH login), through a real MCP client.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { EXPECTED_EFFECT_META_KEY, RESOLVE_EFFECT_METHOD } from '../../../src/servers/kit';
import { startHarness, type Harness } from '../../integration/network/harness';

let h: Harness;
const resultSchema = z.object({ effect: z.record(z.string(), z.unknown()) });
const logins = (): number => h.sim.devices.reduce((n, d) => n + d.logins(), 0);

before(async () => {
  h = await startHarness([{ name: 'edge-1', platform: 'cisco_ios', enableSecret: 'en-secret' }, { name: 'core-1', platform: 'cisco_ios', enableSecret: 'en-secret' }], { groups: { 'edge-1': ['edge'], 'core-1': ['core'] } });
});
after(async () => h?.close());

describe('network: effects of configuration changes', () => {
  it('config_apply, config_save and config_rollback name their devices and tags, without logging in', async () => {
    const resolve = (name: string, args: Record<string, unknown>) => h.client.request({ method: RESOLVE_EFFECT_METHOD, params: { name, arguments: args } } as never, resultSchema);
    const apply = await resolve('config_apply', { devices: ['edge-1', 'core-1'], lines: 'ntp server 10.0.0.1' });
    assert.deepEqual(apply.effect, { type: 'network.config', device: ['edge-1', 'core-1'], tags: ['core-tag', 'edge-tag'], groups: ['core', 'edge'] });
    assert.deepEqual((await resolve('config_save', { devices: ['core-1'] })).effect, { type: 'network.config', device: ['core-1'], tags: ['core-tag'], groups: ['core'] });
    assert.deepEqual((await resolve('config_rollback', { device: 'edge-1' })).effect, { type: 'network.config', device: ['edge-1'], tags: ['edge-tag'], groups: ['edge'] });
    await assert.rejects(resolve('config_apply', { devices: ['nope'], lines: 'x' }), /no device "nope"/);
    assert.equal(logins(), 0, 'resolving an effect logged in to a device');
  });

  it('a change whose devices no longer match what was checked is refused before any login', async () => {
    const refused = await h.client.callTool({ name: 'config_apply', arguments: { devices: ['edge-1', 'core-1'], lines: 'ntp server 10.0.0.1' }, _meta: { [EXPECTED_EFFECT_META_KEY]: { type: 'network.config', device: ['edge-1'], tags: ['edge-tag'], groups: ['edge'] } } }, CallToolResultSchema);
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /no longer what was checked and approved/);
    assert.equal(logins(), 0);
  });
});
