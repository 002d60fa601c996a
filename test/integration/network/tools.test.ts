// The read tools through a real MCP client against the simulator: inventory and reachability,
// facts, commands (abbreviations, parsing, --More-- paging, output caps), refusals that never
// reach the device, many devices at once, pooling, and drops mid-command.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CiscoDevice } from '../../fixtures/network-sim/simulator';
import { showInterfaces } from '../../fixtures/network-sim/cisco-outputs';
import { startHarness, type Harness } from './harness';

let h: Harness;

before(async () => {
  h = await startHarness(
    [
      {
        name: 'r1',
        platform: 'cisco_ios',
        enableSecret: 'en-secret',
        banner: 'Authorized use only # policy https://corp.example/#aup\n',
        motd: '##########\n# r1# lab router, see http://wiki.example/r1#notes >\nr1#\n##########',
      },
      { name: 'x1', platform: 'cisco_xe', pagingLocked: true },
      { name: 'n1', platform: 'cisco_nxos', motd: 'n1# Nexus lab https://example.test/#nx' },
      { name: 'j1', platform: 'juniper_junos', pagingLocked: true },
      { name: 'd1', platform: 'cisco_ios', dropOn: { command: 'show tech-support', times: 1 } },
      { name: 'd2', platform: 'cisco_ios', dropOn: { command: 'show inventory' } },
    ],
    { groups: { r1: ['core'], x1: ['core'], n1: ['dc'] }, options: { maxOutputBytes: 60_000 } },
  );
});
after(() => h.close());

describe('network read tools', () => {
  it('devices_list shows the inventory, then reachability once contacted', async () => {
    const before = await h.call('devices_list', {});
    assert.match(h.text(before), /^6 devices in .*inventory\.yaml; groups: core, dc/);
    assert.match(h.text(before), /r1\s+127\.0\.0\.1:\d+\s+cisco_ios\s+core\s+core-tag\s+not contacted yet/);
    const probed = await h.call('devices_list', { group: 'core', probe: true });
    assert.match(h.text(probed), /^2 devices of 6/);
    const devices = probed.structuredContent?.['devices'] as { name: string; reachability: string }[];
    assert.deepEqual(devices.map((d) => [d.name, d.reachability]), [['r1', 'reachable'], ['x1', 'reachable']]);
  });

  it('device_facts on IOS (after enable), IOS-XE, NX-OS and Junos', async () => {
    const facts = await Promise.all(['r1', 'x1', 'n1', 'j1'].map(async (d) => (await h.call('device_facts', { device: d })).structuredContent));
    assert.deepEqual(
      facts.map((f) => [f?.['vendor'], f?.['model'], f?.['osVersion'], f?.['serial'], f?.['hostname']]),
      [
        ['Cisco', 'CISCO2911/K9', '15.7(3)M5', 'FTX1840ALBP', 'r1'],
        ['Cisco', 'CSR1000V', '16.9.5', 'FTX1840ALBP', 'x1'],
        ['Cisco', 'C9300v', '9.3(8)', 'FTX1840ALBP', 'n1'],
        ['Juniper', 'vmx', '19.4R1.10', 'VM5F8A1B2C3D', 'j1'],
      ],
    );
    assert.match(String(facts[0]?.['uptime']), /^3 days, 4 hours/);
  });

  it('device_command resolves abbreviations and parses rows (TextFSM) and Junos JSON', async () => {
    const r = await h.call('device_command', { device: 'r1', command: 'sh ip int br', parse: true });
    assert.equal(r.isError, undefined, h.text(r));
    assert.match(h.text(r), /^r1 \(Cisco IOS\) > show ip interface brief\n4 rows\nINTERFACE/);
    const rows = r.structuredContent?.['rows'] as Record<string, string>[];
    assert.deepEqual(rows[2], { INTERFACE: 'GigabitEthernet0/2', IP_ADDRESS: 'unassigned', STATUS: 'administratively down', PROTO: 'down' });
    const j = await h.call('device_command', { device: 'j1', command: 'show interfaces terse', parse: true });
    const json = j.structuredContent?.['json'] as { 'interface-information': { 'physical-interface': { name: string }[] } };
    assert.deepEqual(json['interface-information']['physical-interface'].map((p) => p.name), ['ge-0/0/0', 'ge-0/0/1', 'ge-0/0/2', 'lo0']);
    const noParser = await h.call('device_command', { device: 'r1', command: 'show clock', parse: true });
    assert.equal(noParser.isError, true);
    assert.match(h.text(noParser), /No TextFSM template for "show clock".*ntc-templates/s);
  });

  it('answers --More-- when paging cannot be turned off (IOS-XE and Junos), output identical to the device text', async () => {
    const r = await h.call('device_command', { device: 'x1', command: 'show interfaces' });
    const text = h.text(r).split('\n').slice(1).join('\n');
    const d = h.sim.device('x1').state as CiscoDevice;
    assert.equal(text, showInterfaces(d.facts(), d.running).replace(/\n$/, ''));
    assert.doesNotMatch(text, /More/);
    const j = await h.call('device_command', { device: 'j1', command: 'show system commit' });
    assert.doesNotMatch(h.text(j), /more/);
    const big = await h.call('device_command', { device: 'j1', command: 'show configuration' });
    assert.doesNotMatch(h.text(big), /---\(more/);
    assert.match(h.text(big), /protocols \{\n {4}ospf \{/);
  });

  it('caps oversized output, says so, and the session stays usable', async () => {
    for (const device of ['r1', 'x1']) {
      const r = await h.call('device_command', { device, command: 'show tech-support' });
      assert.equal(r.isError, undefined, h.text(r));
      assert.match(h.text(r), /\[truncated: showing lines 1-\d+ of \d+/);
      assert.match(h.text(r), /truncated by the device output cap of 60000 bytes/);
      const after = await h.call('device_command', { device, command: 'show clock' });
      assert.match(h.text(after), /^\S+ \(Cisco IOS(-XE)?\) > show clock\n\*\d\d:\d\d/);
    }
  });

  it('pages long output by offset within the budget', async () => {
    const first = await h.call('device_command', { device: 'r1', command: 'show interfaces' });
    const next = first.structuredContent?.['nextOffset'];
    if (next !== undefined) {
      const second = await h.call('device_command', { device: 'r1', command: 'show interfaces', offset: next });
      assert.doesNotMatch(h.text(second), /offset=0/);
    }
    assert.equal(first.structuredContent?.['totalLines'], 112);
  });

  it('refuses injection attempts and config commands before anything reaches the device', async () => {
    const logins = h.sim.device('n1').logins();
    const before = (h.sim.device('n1').state as CiscoDevice).configText();
    const attempts: [string, RegExp][] = [
      ['show version\nconfigure terminal', /newline/],
      ['show version ; reload', /";"/],
      ['sh run | redirect bootflash:x', /writes files/],
      ['conf t', /config_apply/],
      ['copy running-config startup-config', /changes the device/],
      ['show running-config > bootflash:x', /">"/],
    ];
    for (const [command, why] of attempts) {
      const r = await h.call('device_command', { device: 'n1', command });
      assert.equal(r.isError, true, command);
      assert.match(h.text(r), why, command);
    }
    assert.equal(h.sim.device('n1').logins(), logins);
    assert.equal((h.sim.device('n1').state as CiscoDevice).configText(), before);
  });

  it('reports the device\'s own error for a command the device rejects', async () => {
    const r = await h.call('device_command', { device: 'r1', command: 'show bgp summary' });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /^r1 rejected "show bgp summary":\n\s+\^\n% Invalid input detected at '\^' marker\./);
    const j = await h.call('device_command', { device: 'j1', command: 'show bgp summary' });
    assert.equal(j.isError, true);
    assert.match(h.text(j), /j1 rejected "show bgp summary":\n\s+\^\nsyntax error, expecting <command>\./);
  });

  it('device_command_many runs on groups and names concurrently, per-device results and errors', async () => {
    const r = await h.call('device_command_many', { groups: ['core', 'dc'], devices: ['j1', 'd2'], command: 'show inventory', parse: true });
    const results = r.structuredContent?.['results'] as { device: string; ok: boolean; error?: string; rows?: unknown[] }[];
    assert.deepEqual(results.map((x) => [x.device, x.ok]), [['r1', true], ['x1', true], ['n1', true], ['j1', false], ['d2', false]]);
    assert.match(results[3]?.error ?? '', /"show inventory" is not an allowed read-only command on Juniper Junos/);
    assert.match(results[4]?.error ?? '', /connection dropped/);
    assert.equal(results[0]?.rows?.length, 2);
    assert.match(h.text(r), /^show inventory on 5 devices: 3 ok, 2 failed\n== r1: ok/);
  });

  it('a drop mid-command reconnects once and retries; a second drop is an error', async () => {
    const d1 = h.sim.device('d1');
    const r = await h.call('device_command', { device: 'd1', command: 'show tech-support' });
    assert.equal(r.isError, undefined, h.text(r));
    assert.equal(d1.logins(), 2);
    const d2 = h.sim.device('d2');
    const loginsBefore = d2.logins();
    const bad = await h.call('device_command', { device: 'd2', command: 'show inventory' });
    assert.equal(bad.isError, true);
    assert.match(h.text(bad), /d2: the connection dropped during "show inventory"/);
    // The previous drop left no session: one login, the drop, one reconnect, the drop again.
    assert.equal(d2.logins() - loginsBefore, 2);
  });

  it('pools one session per device and runs one command at a time on it', async () => {
    const n1 = h.sim.device('n1');
    const logins = n1.logins();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => h.call('device_command', { device: 'n1', command: i % 2 === 0 ? 'show version' : 'show clock' })));
    assert.ok(results.every((r) => r.isError === undefined));
    assert.ok(results.every((r, i) => h.text(r).includes(i % 2 === 0 ? 'Cisco Nexus Operating System' : 'UTC')));
    assert.equal(n1.logins(), logins);
    assert.equal(n1.connections(), 1);
  });
});
