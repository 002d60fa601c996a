// device_command's checks, before anything reaches a device: injection attempts, abbreviations,
// configuration commands, pipes and platform-specific refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControlPlaneError } from '../../../src/core/errors';
import { checkCommand } from '../../../src/servers/network/command-policy';
import { PLATFORMS } from '../../../src/servers/network/platforms';

const ios = PLATFORMS.cisco_ios;
const nxos = PLATFORMS.cisco_nxos;
const junos = PLATFORMS.juniper_junos;
const linux = PLATFORMS.linux;

function refused(platform: typeof ios, command: string, why: RegExp): void {
  assert.throws(
    () => checkCommand(platform, command),
    (err: unknown) => err instanceof ControlPlaneError && err.code === 'COMMAND_NOT_ALLOWED' && why.test(`${err.message} ${String(err.details['hint'])}`),
    `${platform.id}: ${JSON.stringify(command)}`,
  );
}

describe('device_command checks', () => {
  it('resolves abbreviations to full keywords and sends those', () => {
    assert.equal(checkCommand(ios, 'sh run').text, 'show running-config');
    assert.equal(checkCommand(ios, 'sh ip int br').text, 'show ip interface brief');
    assert.equal(checkCommand(ios, 'sho int Gi0/1').text, 'show interfaces Gi0/1');
    assert.equal(checkCommand(ios, 'sh ver | i uptime').text, 'show version | include uptime');
    assert.equal(checkCommand(nxos, 'sh int eth1/1 | json').text, 'show interface eth1/1 | json');
    assert.equal(checkCommand(junos, 'sh int te').text, 'show interfaces terse');
    assert.equal(checkCommand(junos, 'show route | match "10.0|10.1"').text, 'show route | match "10.0|10.1"');
    const c = checkCommand(ios, 'show ip route 10.0.0.0');
    assert.deepEqual([c.resolved, c.args], ['show ip route', ['10.0.0.0']]);
  });

  it('refuses newlines, control characters and separators before anything is sent', () => {
    refused(ios, 'show version\nreload', /newline/);
    refused(ios, 'show version\rreload', /newline/);
    refused(ios, 'show version\x1a', /control character/);
    refused(ios, 'show version\x03', /control character/);
    refused(ios, 'show version ; reload', /";"/);
    refused(nxos, 'show version ; reload', /";"/);
    refused(nxos, 'show running-config > bootflash:x', /">"/);
    refused(linux, 'uname -a; rm -rf /', /";"/);
    refused(linux, 'uname $(id)', /"\$"/);
    refused(linux, 'cat /etc/shadow', /not an allowed read-only command/);
    refused(linux, 'uname `id`', /"`"/);
    refused(ios, 'x'.repeat(600), /longer than 512/);
  });

  it('refuses configuration and session-changing commands, abbreviated or not', () => {
    refused(ios, 'conf t', /changes the device.*config_apply/s);
    refused(ios, 'configure terminal', /config_apply/);
    refused(ios, 'reload', /changes the device/);
    refused(ios, 'copy run start', /changes the device/);
    refused(ios, 'wr mem', /changes the device/);
    refused(ios, 'term len 0', /changes the device/);
    refused(ios, 'debug ip packet', /changes the device/);
    refused(ios, 'clear counters', /changes the device/);
    refused(junos, 'configure', /config_apply/);
    refused(junos, 'request system reboot', /changes the device/);
    refused(junos, 'start shell', /changes the device/);
    refused(junos, 'set cli screen-length 10', /config_apply/);
    refused(nxos, 'run bash id', /changes the device/);
    refused(linux, 'rm -rf /tmp/x', /changes the device/);
    refused(linux, 'hostname evil', /not an allowed read-only command|allowed words/);
  });

  it('refuses pipes that write files or are not allowed, and ambiguous words', () => {
    refused(ios, 'show run | redirect tftp://10.0.0.1/x', /writes files/);
    refused(ios, 'show run | tee flash:x', /writes files/);
    refused(ios, 'show run | append flash:x', /writes files/);
    refused(junos, 'show configuration | save /tmp/x', /writes files/);
    refused(linux, 'ps aux | grep x', /"\|"/);
    refused(ios, 'show version | frobnicate', /unknown filter/);
    refused(ios, 'c', /ambiguous/);
    refused(ios, 'show i', /ambiguous/);
    refused(ios, 'show', /incomplete/);
    refused(ios, 'show foo', /not an allowed read-only command/);
    refused(ios, 'show run view full', /clear text/);
    refused(linux, 'ss -tlnK', /kills sockets/);
  });
});
