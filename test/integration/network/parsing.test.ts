// Parsing what real devices print, through a real MCP client against the simulator: the built-in
// show version template on a Catalyst switch's classic IOS output, and Junos facts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from './harness';

let h: Harness;

before(async () => {
  h = await startHarness([
    { name: 'sw1', platform: 'cisco_ios', model: 'WS-C3750X-48P-S', serial: 'FDO1633Q14S' },
    { name: 'sw2', platform: 'cisco_xe', model: 'WS-C3850-48U', serial: 'FCW1932D0LB' },
    { name: 'n7k', platform: 'cisco_nxos', model: 'C7010', serial: 'JAF1752AJCT' },
    { name: 'j1', platform: 'juniper_junos', model: 'mx480', serial: 'JN11F0E2AAFA' },
    // A release before `| display json` (14.2): the same device, facts only from text.
    { name: 'j2', platform: 'juniper_junos', model: 'mx480', serial: 'JN11F0E2AAFA', displayJson: false },
  ]);
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

  it('facts of a Catalyst 3850 on IOS-XE 3.x give its version ("Version 03.06.08E RELEASE", no comma)', async () => {
    const facts = await h.call('device_facts', { device: 'sw2' });
    assert.equal(facts.isError, undefined, h.text(facts));
    assert.match(h.text(facts), /^sw2: Cisco WS-C3850-48U \(Cisco IOS-XE\)\nhostname: sw2\nos version: 03\.06\.08E\n/);
  });

  it('facts of a Nexus 7000 give its model ("cisco Nexus7000 C7010 (10 Slot) Chassis")', async () => {
    const facts = await h.call('device_facts', { device: 'n7k' });
    assert.equal(facts.isError, undefined, h.text(facts));
    assert.match(h.text(facts), /^n7k: Cisco C7010 \(Cisco NX-OS\)\nhostname: n7k\nos version: 8\.4\(2\)\n.*\nserial: JAF1752AJCT$/);
  });

  it('Junos facts come from text when the device refuses | display json, and agree with the JSON ones', async () => {
    const viaJson = await h.call('device_facts', { device: 'j1' });
    assert.equal(viaJson.isError, undefined, h.text(viaJson));
    const viaText = await h.call('device_facts', { device: 'j2' });
    assert.equal(viaText.isError, undefined, h.text(viaText));
    assert.match(h.text(viaText), /^j2: Juniper mx480 \(Juniper Junos\)\nhostname: j2\nos version: 19\.4R1\.10\nuptime: \d+ days?, +\d+:\d\d\nserial: JN11F0E2AAFA$/);
    const facts = (r: typeof viaJson): Record<string, unknown> => {
      const { device: _d, hostname: _h, uptime: _u, ...rest } = r.structuredContent as Record<string, unknown>;
      return rest;
    };
    assert.deepEqual(facts(viaText), facts(viaJson));
    const sent = h.sim.device('j2').received().map((r) => r.line);
    assert.ok(sent.includes('show version | display json'), 'JSON was tried first');
    assert.ok(sent.includes('show version') && sent.includes('show chassis hardware') && sent.includes('show system uptime'), sent.join(' / '));
  });

  it('parse: true on a device that refuses | display json says to run without parse', async () => {
    const r = await h.call('device_command', { device: 'j2', command: 'show version', parse: true });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /^j2 rejected "show version \| display json":\n.*\^\nsyntax error\.\n.*does not accept "\| display json".*parse: false/s);
    const plain = await h.call('device_command', { device: 'j2', command: 'show version' });
    assert.match(h.text(plain), /^j2 \(Juniper Junos\) > show version\nHostname: j2\n/);
  });
});
