// Parsing what real devices print, through a real MCP client against the simulator: the built-in
// show version template on a Catalyst switch's classic IOS output, and Junos facts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from './harness';

let h: Harness;

before(async () => {
  h = await startHarness([{ name: 'sw1', platform: 'cisco_ios', model: 'WS-C3750X-48P-S', serial: 'FDO1633Q14S' }]);
});
after(() => h.close());

describe('network parsing', () => {
  it('show version of a Catalyst switch gives the reload reason, as ntc-templates does', async () => {
    const r = await h.call('device_command', { device: 'sw1', command: 'show version', parse: true });
    assert.equal(r.isError, undefined, h.text(r));
    const [row] = r.structuredContent?.['rows'] as Record<string, unknown>[];
    assert.equal(row?.['RELOAD_REASON'], 'power-on');
    assert.equal(row?.['VERSION'], '15.2(4)E10');
    assert.deepEqual(row?.['HARDWARE'], ['WS-C3750X-48P']);
    const facts = await h.call('device_facts', { device: 'sw1' });
    assert.match(h.text(facts), /^sw1: Cisco WS-C3750X-48P \(Cisco IOS\)\nhostname: sw1\nos version: 15\.2\(4\)E10\n/);
  });
});
