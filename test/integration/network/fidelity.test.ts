// Fidelity of the test fixtures, checked by real clients: netmiko's own cisco_ios, cisco_nxos
// and juniper_junos drivers (Debian python3-netmiko, system /usr/bin/python3) log in to each
// simulator personality, run `show version` and make a configuration change; a real OpenSSH
// client logs in to the OpenSSH harness that plays the `linux` device.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CiscoDevice, JunosDevice, startSimulator, type Simulator } from '../../fixtures/network-sim/simulator';
import { openSshAvailable, startOpenSsh } from '../../fixtures/network-sim/openssh';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(__dirname, '../../fixtures/network-sim/netmiko-check.py');
const netmikoAvailable = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import netmiko'], { stdio: 'ignore' }).status === 0;

interface NetmikoResult {
  prompt: string;
  version: string;
  config_output: string;
  commit_output?: string;
  show_after: string;
}

async function netmiko(args: Record<string, unknown>): Promise<NetmikoResult> {
  const { stdout } = await run(PYTHON, [SCRIPT, JSON.stringify(args)], { timeout: 60_000 });
  return JSON.parse(stdout) as NetmikoResult;
}

describe('simulator fidelity: netmiko drivers', { skip: !netmikoAvailable && 'python3-netmiko not installed (scripts/setup-network-tests.sh)' }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator([
      {
        name: 'ios-edge-router-with-a-long-name',
        platform: 'cisco_ios',
        enableSecret: 'en-secret',
        banner: 'Authorized use only. Policy: https://corp.example/#acceptable-use\n',
        motd: '#################\n# lab router #1 # see http://wiki.example/r1#notes >\n#################',
      },
      { name: 'nx1', platform: 'cisco_nxos', motd: 'Nexus lab # https://example.test/#nx' },
      { name: 'j1', platform: 'juniper_junos', banner: 'Junos lab # https://example.test/#j\n' },
    ]);
  });
  after(async () => sim.close());

  it('cisco_ios, cisco_nxos and juniper_junos drivers run show version and a config set', async () => {
    const base = (name: string) => ({ host: '127.0.0.1', port: sim.device(name).port, username: 'admin', password: 'admin-pass' });
    const [ios, nxos, junos] = await Promise.all([
      netmiko({
        ...base('ios-edge-router-with-a-long-name'),
        device_type: 'cisco_ios',
        secret: 'en-secret',
        config: ['interface Loopback9', 'description netmiko was here', 'ip address 10.9.9.9 255.255.255.255'],
        show_after: 'show ip interface brief',
      }),
      netmiko({
        ...base('nx1'),
        device_type: 'cisco_nxos',
        config: ['interface loopback9', 'description netmiko was here', 'ip address 10.9.9.9/32'],
        show_after: 'show ip interface brief',
      }),
      netmiko({
        ...base('j1'),
        device_type: 'juniper_junos',
        config: ['set interfaces ge-0/0/3 description "netmiko was here"', 'set interfaces ge-0/0/3 unit 0 family inet address 10.9.9.9/24'],
        show_after: 'show interfaces terse',
      }),
    ]);

    assert.equal(ios.prompt, 'ios-edge-router-with-a-long-name#');
    assert.match(ios.version, /^Cisco IOS Software, C2900 Software/);
    assert.match(ios.version, /Configuration register is 0x2102$/);
    // The config-mode prompt carries the hostname cut to 20 characters, as IOS does.
    assert.match(ios.config_output, /ios-edge-router-with\(config-if\)#description netmiko was here/);
    assert.match(ios.show_after, /Loopback9\s+10\.9\.9\.9\s+YES/);
    const iosState = sim.device('ios-edge-router-with-a-long-name').state as CiscoDevice;
    assert.match(iosState.configText(), /interface Loopback9\n description netmiko was here\n ip address 10\.9\.9\.9 255\.255\.255\.255/);

    assert.equal(nxos.prompt, 'nx1#');
    assert.match(nxos.version, /NXOS: version 9\.3\(8\)/);
    assert.match(nxos.show_after, /Lo9\s+10\.9\.9\.9/);
    assert.match((sim.device('nx1').state as CiscoDevice).configText(), /interface loopback9\n {2}description netmiko was here/);

    assert.equal(junos.prompt, 'admin@j1>');
    assert.match(junos.version, /Junos: 19\.4R1\.10/);
    assert.match(junos.commit_output ?? '', /commit complete/);
    assert.match(junos.show_after, /ge-0\/0\/3\.0\s+up\s+up\s+inet\s+10\.9\.9\.9\/24/);
    const j = sim.device('j1').state as JunosDevice;
    assert.ok(j.committed.includes('interfaces ge-0/0/3 description "netmiko was here"'));
    assert.equal(j.history.length, 2);
  });
});

describe('OpenSSH harness (linux device)', { skip: !openSshAvailable() && 'openssh-server not installed (scripts/setup-network-tests.sh)' }, () => {
  it('a second sshd on loopback accepts the generated key and runs commands for the OpenSSH client', async () => {
    const sshd = await startOpenSsh();
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-ssh-client-'));
    try {
      const key = join(dir, 'id');
      await writeFile(key, sshd.clientKey, { mode: 0o600 });
      await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
      const { stdout } = await run('/usr/bin/ssh', [
        '-F', '/dev/null', '-i', key, '-p', String(sshd.port),
        '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
        `${sshd.username}@127.0.0.1`, 'uname -s',
      ]);
      assert.equal(stdout.trim(), 'Linux');
    } finally {
      await rm(dir, { recursive: true, force: true });
      await sshd.stop();
    }
  });
});
