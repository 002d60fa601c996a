// Configuration text without a device: secrets sanitized per platform, lines merged the way the
// CLI merges them, and the diffs shown in previews.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyIndented, applySetLines, diffIndented, diffSetLines, parseIndented, sanitize } from '../../../src/servers/network/config-text';
import { PLATFORMS } from '../../../src/servers/network/platforms';
import { cleanTerminal, promptRegex } from '../../../src/servers/network/session';

const ios = PLATFORMS.cisco_ios;

const RUNNING = `Building configuration...

Current configuration : 1234 bytes
!
hostname r1
enable secret 9 $9$abc$def
username admin privilege 15 secret 9 $9$xyz
snmp-server community public RO
tacacs-server key 7 0822455D0A16
interface GigabitEthernet0/1
 description old
 ip address 10.0.1.1 255.255.255.0
 shutdown
!
line vty 0 4
 password 7 121A0C041104
end
`;

describe('config text', () => {
  it('sanitizes secrets for IOS, NX-OS and Junos', () => {
    const out = sanitize(ios, RUNNING);
    for (const s of ['$9$abc$def', '$9$xyz', 'public', '0822455D0A16', '121A0C041104']) assert.ok(!out.includes(s), s);
    assert.match(out, /^enable secret 9 <removed>$/m);
    assert.match(out, /^snmp-server community <removed> RO$/m);
    assert.match(out, /^ password 7 <removed>$/m);
    const nx = sanitize(PLATFORMS.cisco_nxos, 'username admin password 5 $5$ABC  role network-admin\nsnmp-server user admin network-admin auth md5 0xaa priv 0xbb localizedkey\n');
    assert.equal(nx, 'username admin password 5 <removed>  role network-admin\nsnmp-server user admin network-admin auth md5 <removed> priv <removed> localizedkey\n');
    const j = sanitize(PLATFORMS.juniper_junos, 'set system root-authentication encrypted-password "$6$x$y"\n    authentication-key "$9$abc"; ## SECRET-DATA\nset snmp community public authorization read-only\n');
    assert.equal(j, 'set system root-authentication encrypted-password <removed>\n    authentication-key <removed>; ## SECRET-DATA\nset snmp community <removed> authorization read-only\n');
  });

  it('merges lines like the CLI: sections, flat pastes, no, single-valued replace', () => {
    const tree = parseIndented(ios, RUNNING);
    const after = applyIndented(tree, ['interface GigabitEthernet0/1', 'description new', 'no shutdown', 'ip route 0.0.0.0 0.0.0.0 10.0.0.254', 'interface Loopback9', ' ip address 10.9.9.9 255.255.255.255', 'no snmp-server community public RO', 'hostname r1'], ios);
    assert.deepEqual(diffIndented(tree, after), [
      '-snmp-server community public RO',
      ' interface GigabitEthernet0/1',
      '- description old',
      '- shutdown',
      '+ description new',
      '+ip route 0.0.0.0 0.0.0.0 10.0.0.254',
      '+interface Loopback9',
      '+ ip address 10.9.9.9 255.255.255.255',
    ]);
  });

  it('Junos set lines: set replaces single-valued leaves, delete removes a subtree', () => {
    const before = ['system host-name j1', 'interfaces ge-0/0/1 unit 0 family inet address 10.0.0.1/24', 'interfaces ge-0/0/1 description x'];
    const { result, unsupported } = applySetLines(before, ['set system host-name j2', 'delete interfaces ge-0/0/1', 'set interfaces ge-0/0/2 disable', 'deactivate interfaces ge-0/0/3']);
    assert.deepEqual(diffSetLines(before, result), [
      '- set system host-name j1',
      '- set interfaces ge-0/0/1 unit 0 family inet address 10.0.0.1/24',
      '- set interfaces ge-0/0/1 description x',
      '+ set system host-name j2',
      '+ set interfaces ge-0/0/2 disable',
    ]);
    assert.deepEqual(unsupported, ['deactivate interfaces ge-0/0/3']);
  });

  it('cleans terminal output: CRLF, backspaces of a pager, bare CR overwrites, ANSI', () => {
    assert.equal(cleanTerminal('a\r\nb\r\r\nc'), 'a\nb\nc');
    assert.equal(cleanTerminal(`line1\n --More-- ${'\b'.repeat(10)}${' '.repeat(10)}${'\b'.repeat(10)}line2`), 'line1\nline2');
    assert.equal(cleanTerminal(`x\n---(more)---\r${' '.repeat(20)}\rline B`), 'x\nline B');
    assert.equal(cleanTerminal('\x1b[1;32mgreen\x1b[0m\x1b[K'), 'green');
  });

  it('builds prompts from the learned hostname, IOS config mode cut at 20 characters', () => {
    const re = promptRegex(ios.prompts.config ?? '', 'edge-router-with-a-long-name', '');
    assert.ok(re.test('edge-router-with-a-l(config-if)#'));
    assert.ok(re.test('edge-router-with-a-long-name(config)#'));
    assert.ok(!re.test('other(config)#'));
    assert.ok(promptRegex(PLATFORMS.juniper_junos.prompts.privileged ?? '', 'j1', 'admin').test('admin@j1> '));
  });
});
