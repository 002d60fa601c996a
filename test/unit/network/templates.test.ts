// The shipped TextFSM templates on the simulator's outputs, checked field by field and against
// Python textfsm running the very same templates.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseText } from '../../../src/servers/network/textfsm/engine';
import { BUILTIN_TEMPLATES, BuiltinTemplates } from '../../../src/servers/network/textfsm/builtin';
import { CiscoDevice } from '../../fixtures/network-sim/cisco';
import {
  showCdpNeighbors,
  showInterfaces,
  showInventory,
  showIpInterfaceBrief,
  showIpRoute,
  showLldpNeighbors,
  showVersion,
  showVlan,
} from '../../fixtures/network-sim/cisco-outputs';
import { pythonTextFsmAvailable, runPythonTextFsm } from './python-textfsm';

const ios = new CiscoDevice({ name: 'r1', platform: 'cisco_ios' });
const xe = new CiscoDevice({ name: 'csr1', platform: 'cisco_xe' });
const nx = new CiscoDevice({ name: 'n1', platform: 'cisco_nxos' });
// A Catalyst switch on classic IOS: no "Last reload reason:" line.
const sw = new CiscoDevice({ name: 'sw1', platform: 'cisco_ios', model: 'WS-C3750X-48P-S', serial: 'FDO1633Q14S' });
// A Catalyst 3850 on IOS-XE 3.x: "Version 03.06.08E RELEASE" without a comma.
// A Nexus 7000: "cisco Nexus7000 C7010 (10 Slot) Chassis", system and kickstart images.
const n7k = new CiscoDevice({ name: 'n7k', platform: 'cisco_nxos', model: 'C7010', serial: 'JAF1752AJCT' });
const cat3k = new CiscoDevice({ name: 'sw2', platform: 'cisco_xe', model: 'WS-C3850-48U', serial: 'FCW1932D0LB' });

const OUTPUTS: { platform: string; command: string; text: string }[] = [
  ...[ios, xe].flatMap((d) => [
    { platform: d.spec.platform, command: 'show version', text: showVersion(d.facts()) },
    { platform: d.spec.platform, command: 'show ip interface brief', text: showIpInterfaceBrief(d.facts(), d.running) },
    { platform: d.spec.platform, command: 'show interfaces', text: showInterfaces(d.facts(), d.running) },
    { platform: d.spec.platform, command: 'show vlan', text: showVlan(d.facts(), d.running, false) },
    { platform: d.spec.platform, command: 'show vlan brief', text: showVlan(d.facts(), d.running, true) },
    { platform: d.spec.platform, command: 'show ip route', text: showIpRoute(d.facts(), d.running) },
    { platform: d.spec.platform, command: 'show cdp neighbors', text: showCdpNeighbors(d.facts()) },
    { platform: d.spec.platform, command: 'show lldp neighbors', text: showLldpNeighbors(d.facts()) },
    { platform: d.spec.platform, command: 'show inventory', text: showInventory(d.facts()) },
  ]),
  { platform: 'cisco_nxos', command: 'show version', text: showVersion(nx.facts()) },
  { platform: 'cisco_ios', command: 'show version', text: showVersion(sw.facts()) },
  { platform: 'cisco_xe', command: 'show version', text: showVersion(cat3k.facts()) },
  { platform: 'cisco_nxos', command: 'show version', text: showVersion(n7k.facts()) },
  { platform: 'cisco_nxos', command: 'show ip interface brief', text: showIpInterfaceBrief(nx.facts(), nx.running) },
  { platform: 'cisco_nxos', command: 'show interface', text: showInterfaces(nx.facts(), nx.running) },
  { platform: 'cisco_nxos', command: 'show vlan brief', text: showVlan(nx.facts(), nx.running, true) },
  { platform: 'cisco_nxos', command: 'show ip route', text: showIpRoute(nx.facts(), nx.running) },
  { platform: 'cisco_nxos', command: 'show cdp neighbors', text: showCdpNeighbors(nx.facts()) },
  { platform: 'cisco_nxos', command: 'show lldp neighbors', text: showLldpNeighbors(nx.facts()) },
  { platform: 'cisco_nxos', command: 'show inventory', text: showInventory(nx.facts()) },
];

const templates = new BuiltinTemplates();
function parse(platform: string, command: string): Record<string, unknown>[] {
  const o = OUTPUTS.find((x) => x.platform === platform && x.command === command);
  assert.ok(o, `${platform} ${command}`);
  const t = templates.find([platform], command);
  assert.ok(t, `template for ${platform} ${command}`);
  return parseText(t, o.text);
}

describe('built-in TextFSM templates', () => {
  it('IOS and IOS-XE show version', () => {
    const [r] = parse('cisco_ios', 'show version');
    assert.equal(r?.['VERSION'], '15.7(3)M5');
    assert.equal(r?.['HOSTNAME'], 'r1');
    assert.match(String(r?.['UPTIME']), /^3 days, 4 hours, 5 minutes$/);
    assert.deepEqual(r?.['HARDWARE'], ['CISCO2911/K9']);
    assert.deepEqual(r?.['SERIAL'], ['FTX1840ALBP']);
    assert.equal(r?.['RUNNING_IMAGE'], 'c2900-universalk9-mz.SPA.157-3.M5.bin');
    assert.equal(r?.['ROMMON'], '15.0(1r)M16');
    assert.equal(r?.['RELOAD_REASON'], 'power-on');
    const [x] = parse('cisco_xe', 'show version');
    assert.equal(x?.['VERSION'], '16.9.5');
    assert.deepEqual(x?.['HARDWARE'], ['CSR1000V']);
    assert.equal(x?.['RELOAD_REASON'], 'reload');
  });

  it('IOS show version of a Catalyst switch: the reload reason from "System returned to ROM by"', () => {
    const t = templates.find(['cisco_ios'], 'show version');
    assert.ok(t);
    const [r] = parseText(t, showVersion(sw.facts()));
    assert.equal(r?.['RELOAD_REASON'], 'power-on');
    assert.equal(r?.['VERSION'], '15.2(4)E10');
    assert.equal(r?.['HOSTNAME'], 'sw1');
    assert.deepEqual(r?.['HARDWARE'], ['WS-C3750X-48P']);
    assert.deepEqual(r?.['SERIAL'], ['FDO1633Q14S']);
    assert.equal(r?.['RUNNING_IMAGE'], '/c3750e-universalk9-mz.152-4.E10/c3750e-universalk9-mz.152-4.E10.bin');
    assert.equal(r?.['CONFIG_REGISTER'], '0xF');
  });

  it('IOS-XE 3.x show version of a Catalyst 3850: the version without a comma before RELEASE', () => {
    const t = templates.find(['cisco_xe'], 'show version');
    assert.ok(t);
    const [r] = parseText(t, showVersion(cat3k.facts()));
    assert.equal(r?.['VERSION'], '03.06.08E');
    assert.equal(r?.['RELOAD_REASON'], 'Reload command');
    assert.deepEqual(r?.['HARDWARE'], ['WS-C3850-48U']);
    assert.deepEqual(r?.['SERIAL'], ['FCW1932D0LB']);
    assert.equal(r?.['RUNNING_IMAGE'], 'packages.conf');
  });

  it('NX-OS show version', () => {
    const [r] = parse('cisco_nxos', 'show version');
    assert.equal(r?.['OS'], '9.3(8)');
    assert.equal(r?.['PLATFORM'], 'C9300v');
    assert.equal(r?.['HOSTNAME'], 'n1');
    assert.equal(r?.['SERIAL'], 'FTX1840ALBP');
    assert.match(String(r?.['UPTIME']), /^3 day\(s\), 4 hour\(s\)/);
  });

  it('NX-OS show version of a Nexus 7000 (slot count in the chassis line, system image)', () => {
    const t = templates.find(['cisco_nxos'], 'show version');
    assert.ok(t);
    const [r] = parseText(t, showVersion(n7k.facts()));
    assert.equal(r?.['PLATFORM'], 'C7010');
    assert.equal(r?.['OS'], '8.4(2)');
    assert.equal(r?.['HOSTNAME'], 'n7k');
    assert.equal(r?.['SERIAL'], 'JAF1752AJCT');
    assert.equal(r?.['BOOT_IMAGE'], 'bootflash:///n7000-s2-dk9.8.4.2.bin');
    assert.equal(r?.['LAST_REBOOT_REASON'], 'Reset Requested by CLI command reload');
  });

  it('show ip interface brief (IOS with "administratively down", NX-OS with the VRF)', () => {
    const rows = parse('cisco_ios', 'show ip interface brief');
    assert.deepEqual(rows.map((r) => r['INTERFACE']), ['GigabitEthernet0/0', 'GigabitEthernet0/1', 'GigabitEthernet0/2', 'Loopback0']);
    assert.deepEqual(rows[2], { INTERFACE: 'GigabitEthernet0/2', IP_ADDRESS: 'unassigned', STATUS: 'administratively down', PROTO: 'down' });
    const nxRows = parse('cisco_nxos', 'show ip interface brief');
    assert.deepEqual(nxRows[0], { VRF: 'default', INTERFACE: 'Eth1/1', IP_ADDRESS: '10.1.1.1', STATUS: 'protocol-up/link-up/admin-up' });
    assert.equal(nxRows.length, 3);
  });

  it('show interfaces', () => {
    const rows = parse('cisco_ios', 'show interfaces');
    assert.equal(rows.length, 4);
    assert.equal(rows[0]?.['DESCRIPTION'], 'uplink to core');
    assert.equal(rows[0]?.['IP_ADDRESS'], '10.0.0.1');
    assert.equal(rows[0]?.['PREFIX_LENGTH'], '24');
    assert.equal(rows[0]?.['HARDWARE_TYPE'], 'iGbE');
    assert.equal(rows[2]?.['LINK_STATUS'], 'administratively down');
    assert.equal(rows[0]?.['INPUT_PACKETS'], '1234');
    const nxRows = parse('cisco_nxos', 'show interface');
    assert.equal(nxRows.length, 4);
    assert.equal(nxRows[2]?.['LINK_STATUS'], 'down (Administratively down)');
    assert.equal(nxRows[0]?.['MTU'], '1500');
  });

  it('show vlan (stops at the second table) and show vlan brief', () => {
    for (const cmd of ['show vlan', 'show vlan brief']) {
      assert.deepEqual(parse('cisco_ios', cmd), [
        { VLAN_ID: '1', NAME: 'default', STATUS: 'active', INTERFACES: [] },
        { VLAN_ID: '10', NAME: 'users', STATUS: 'active', INTERFACES: [] },
      ]);
    }
    assert.deepEqual(parse('cisco_nxos', 'show vlan brief')[1], { VLAN_ID: '10', NAME: 'servers', STATUS: 'active', INTERFACES: ['Eth1/3'] });
  });

  it('show ip route', () => {
    const rows = parse('cisco_ios', 'show ip route');
    assert.deepEqual(rows[0], { PROTOCOL: 'S', TYPE: '', NETWORK: '0.0.0.0', PREFIX_LENGTH: '0', DISTANCE: '1', METRIC: '0', NEXTHOP_IP: '10.0.0.254', NEXTHOP_IF: '', UPTIME: '' });
    assert.ok(rows.some((r) => r['PROTOCOL'] === 'C' && r['NEXTHOP_IF'] === 'GigabitEthernet0/0'));
    assert.ok(rows.some((r) => r['PROTOCOL'] === 'O' && r['UPTIME'] === '00:10:11' && r['NEXTHOP_IF'] === 'GigabitEthernet0/0'));
    const nxRows = parse('cisco_nxos', 'show ip route');
    assert.deepEqual(nxRows[0], { VRF: 'default', NETWORK: '0.0.0.0', PREFIX_LENGTH: '0', NEXTHOP_IP: '10.1.1.254', NEXTHOP_IF: '', DISTANCE: '1', METRIC: '0', UPTIME: '2d03h', PROTOCOL: 'static' });
    assert.ok(nxRows.some((r) => r['PROTOCOL'] === 'local' && r['NEXTHOP_IF'] === 'Eth1/1'));
  });

  it('show cdp neighbors (device IDs wrapped onto their own line) and show lldp neighbors', () => {
    assert.deepEqual(parse('cisco_ios', 'show cdp neighbors'), [
      { NEIGHBOR_NAME: 'core1.lab.example', LOCAL_INTERFACE: 'Gig 0/0', CAPABILITY: 'R S I', PLATFORM: 'CSR1000V', NEIGHBOR_INTERFACE: 'Gig 1' },
      { NEIGHBOR_NAME: 'sw2', LOCAL_INTERFACE: 'Gig 0/1', CAPABILITY: 'S I', PLATFORM: 'WS-C3850-', NEIGHBOR_INTERFACE: 'Gig 1/0/1' },
    ]);
    assert.equal(parse('cisco_nxos', 'show cdp neighbors')[1]?.['NEIGHBOR_NAME'], 'leaf2');
    assert.deepEqual(parse('cisco_ios', 'show lldp neighbors')[0], { NEIGHBOR_NAME: 'core1.lab.example', LOCAL_INTERFACE: 'Gi0/0', CAPABILITIES: 'R', NEIGHBOR_INTERFACE: 'Gi1' });
    assert.deepEqual(parse('cisco_nxos', 'show lldp neighbors')[0], { NEIGHBOR_NAME: 'core1.lab.example', LOCAL_INTERFACE: 'Eth1/1', CAPABILITIES: 'BR', NEIGHBOR_INTERFACE: 'Ethernet1/1' });
  });

  it('show inventory', () => {
    assert.deepEqual(parse('cisco_ios', 'show inventory')[0], { NAME: 'Chassis', DESCR: 'Cisco CISCO2911/K9 Chassis', PID: 'CISCO2911/K9', VID: 'V06', SN: 'FTX1840ALBP' });
    assert.deepEqual(parse('cisco_nxos', 'show inventory')[1], { NAME: 'Slot 1', DESCR: 'Nexus 9000v 64 port Ethernet Module', PID: 'N9K-X9364v', VID: '', SN: '9ZGMF1KLGBP' });
  });

  it('finds templates for commands with arguments only where the format allows', () => {
    assert.ok(templates.find(['cisco_xe', 'cisco_ios'], 'show interfaces GigabitEthernet1'));
    assert.equal(templates.find(['cisco_ios'], 'show cdp neighbors detail'), undefined);
    assert.equal(templates.find(['juniper_junos'], 'show version'), undefined);
  });
});

describe('built-in templates agree with Python textfsm', { skip: !pythonTextFsmAvailable() && 'python3-textfsm not installed' }, () => {
  it('on every simulator output', () => {
    const cases = OUTPUTS.map((o) => {
      const entry = BUILTIN_TEMPLATES.find((t) => t.platforms.includes(o.platform) && t.command === o.command);
      assert.ok(entry, `${o.platform} ${o.command}`);
      return { template: entry.text, text: o.text };
    });
    const py = runPythonTextFsm(cases);
    OUTPUTS.forEach((o, i) => {
      const ours = parseText(templates.find([o.platform], o.command)!, o.text);
      assert.deepEqual({ rows: ours }, py[i], `${o.platform} ${o.command}`);
    });
  });
});
