// A real OpenSSH server (Debian openssh-server, its own sshd on a loopback port) as the `linux`
// device, reached with a key from the secret store, and as a jump host in front of a simulated
// router (ssh2 forwarding through a real sshd).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { openSshAvailable, startOpenSsh, type OpenSshServer } from '../../fixtures/network-sim/openssh';
import { startHarness, type Harness } from './harness';

let sshd: OpenSshServer;
let h: Harness;

describe('OpenSSH: linux device and jump host', { skip: !openSshAvailable() && 'openssh-server not installed (scripts/setup-network-tests.sh)' }, () => {
  before(async () => {
    sshd = await startOpenSsh({ allowTcpForwarding: true });
    h = await startHarness([{ name: 'r9', platform: 'cisco_ios' }], {
      extraCredentials: `  linuxkey:\n    username: ${sshd.username}\n    privateKey: \${secret:linux-key}`,
      extraTop: `jumpHosts:\n  bastion:\n    host: 127.0.0.1\n    port: ${sshd.port}\n    credential: linuxkey`,
      extraDevices: '',
      env: { MCPCP_SECRET_LINUX_KEY: sshd.clientKey },
    });
    const { appendFileSync } = await import('node:fs');
    appendFileSync(
      h.inventoryFile,
      [
        `  - name: host1\n    host: 127.0.0.1\n    port: ${sshd.port}\n    platform: linux\n    credential: linuxkey`,
        `  - name: behind\n    host: 127.0.0.1\n    port: ${h.sim.device('r9').port}\n    platform: cisco_ios\n    credential: lab\n    jumpHost: bastion`,
      ].join('\n') + '\n',
    );
  });
  after(async () => {
    await h?.close();
    await sshd?.stop();
  });

  it('runs allowed commands on the linux device over exec channels, records its host key', async () => {
    const r = await h.call('device_command', { device: 'host1', command: 'uname -s' });
    assert.equal(h.text(r), 'host1 (Linux host (OpenSSH)) > uname -s\nLinux');
    assert.ok(readFileSync(h.knownHostsFile, 'utf8').includes(`[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}`));
    const facts = await h.call('device_facts', { device: 'host1' });
    assert.equal(facts.structuredContent?.['vendor'], 'Linux');
    assert.match(String(facts.structuredContent?.['osVersion']), /Linux/);
    assert.match(String(facts.structuredContent?.['uptime']), /^\d+ days, \d+ hours, \d+ minutes$/);
  });

  it('refuses shell syntax and anything outside the read-only list on the linux device', async () => {
    for (const [command, why] of [
      ['uname -a; id', /";"/],
      ['uname -a && id', /"&"/],
      ['cat /etc/shadow', /not an allowed read-only command/],
      ['ls $(id)', /"\$"/],
      ['ps aux | head', /"\|"/],
    ] as const) {
      const r = await h.call('device_command', { device: 'host1', command });
      assert.equal(r.isError, true, command);
      assert.match(h.text(r), why, command);
    }
    const exitCode = await h.call('device_command', { device: 'host1', command: 'ls /nonexistent-dir' });
    assert.equal(exitCode.isError, true);
    assert.match(h.text(exitCode), /host1 rejected "ls \/nonexistent-dir":\nexit code 2: .*No such file/);
    const apply = await h.call('config_apply', { devices: ['host1'], lines: 'anything', dryRun: true });
    assert.match(h.text(apply), /Linux hosts are read-only for this server/);
  });

  it('reaches a device through the jump host', async () => {
    const logins = h.sim.device('r9').logins();
    const r = await h.call('device_command', { device: 'behind', command: 'show version | include uptime' });
    assert.equal(h.text(r), 'behind (Cisco IOS) > show version | include uptime\nr9 uptime is 3 days, 4 hours, 5 minutes');
    assert.equal(h.sim.device('r9').logins(), logins + 1);
  });
});
