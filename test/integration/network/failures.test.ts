// Failures a network server must meet precisely: a changed host key (hard error, nothing sent,
// nothing overwritten), wrong password, wrong enable secret, a missing secret, an unreachable
// device, legacy-only SSH algorithms, and idle sessions closing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateHostKey, startDevice, type SimDevice } from '../../fixtures/network-sim/simulator';
import { startHarness, type Harness } from './harness';

let h: Harness;
let replaced: SimDevice | undefined;

before(async () => {
  h = await startHarness(
    [
      { name: 'k1', platform: 'cisco_ios' },
      { name: 'e1', platform: 'cisco_ios', enableSecret: 'en-secret' },
      { name: 'lg', platform: 'cisco_ios', legacyOnly: true },
      { name: 'i1', platform: 'cisco_nxos' },
      { name: 's1', platform: 'cisco_ios', slow: { command: 'show tech-support', ms: 1500 } },
    ],
    {
      extraCredentials: ['  wrongpass:', '    username: admin', '    password: ${secret:wrong-pass}', '  wrongenable:', '    username: admin', '    password: ${secret:lab-pass}', '    enable: ${secret:wrong-enable}', '  unset:', '    username: admin', '    password: ${secret:never-set}'].join('\n'),
      extraDevices: '',
      env: { MCPCP_SECRET_WRONG_PASS: 'wrong-password-1', MCPCP_SECRET_WRONG_ENABLE: 'wrong-enable-1' },
      options: { idleMs: 300 },
    },
  );
  // Extra inventory entries pointing at the same simulated devices with other settings.
  const port = (n: string): number => h.sim.device(n).port;
  const extra = [
    ['badpass', port('e1'), 'cisco_ios', 'wrongpass', false],
    ['badenable', port('e1'), 'cisco_ios', 'wrongenable', false],
    ['nosecret', port('e1'), 'cisco_ios', 'unset', false],
    ['lg-strict', port('lg'), 'cisco_ios', 'lab', false],
    ['closed', 1, 'cisco_ios', 'lab', false],
  ]
    .map(([name, p, platform, cred]) => `  - name: ${String(name)}\n    host: 127.0.0.1\n    port: ${String(p)}\n    platform: ${String(platform)}\n    credential: ${String(cred)}`)
    .join('\n');
  const { appendFileSync } = await import('node:fs');
  appendFileSync(h.inventoryFile, `${extra}\n`);
});
after(async () => {
  await replaced?.close();
  await h.close();
});

describe('network failures', () => {
  it('records a host key on first use, then refuses a changed key naming the device, without overwriting it', async () => {
    const ok = await h.call('device_command', { device: 'k1', command: 'show clock' });
    assert.equal(ok.isError, undefined, h.text(ok));
    const k1 = h.sim.device('k1');
    const known = readFileSync(h.knownHostsFile, 'utf8');
    assert.ok(known.includes(`[127.0.0.1]:${k1.port} ${k1.hostPublicKey}`));
    const port = k1.port;
    await k1.close();
    replaced = await startDevice({ name: 'k1', platform: 'cisco_ios', port, hostKey: generateHostKey().private });
    for (let i = 0; i < 2; i++) {
      const r = await h.call('device_command', { device: 'k1', command: 'show clock' });
      assert.equal(r.isError, true);
      assert.match(h.text(r), new RegExp(`^HOST KEY CHANGED for device k1 \\(\\[127\\.0\\.0\\.1\\]:${port}\\): it presented ssh-ed25519 SHA256:\\S+, but ssh-ed25519 SHA256:\\S+ is on record\\. Nothing was sent to it\\.\\n.*remove the line for \\[127\\.0\\.0\\.1\\]:${port} from`));
    }
    assert.equal(replaced.logins(), 0, 'no authentication was attempted');
    assert.equal(readFileSync(h.knownHostsFile, 'utf8'), known);
  });

  it('maps authentication, enable and secret problems to precise errors', async () => {
    const auth = await h.call('device_command', { device: 'badpass', command: 'show clock' });
    assert.match(h.text(auth), /^badpass \(127\.0\.0\.1:\d+\): authentication failed for user "admin"\nCheck the credential of badpass/);
    const enable = await h.call('device_command', { device: 'badenable', command: 'show clock' });
    assert.match(h.text(enable), /^badenable: the enable secret was not accepted/);
    assert.doesNotMatch(h.text(enable), /wrong-enable-1/);
    const missing = await h.call('device_command', { device: 'nosecret', command: 'show clock' });
    assert.match(h.text(missing), /^nosecret: the secret "never-set" \(password\) is not available to the server\n.*MCPCP_SECRET_NEVER_SET/);
    const unknown = await h.call('device_command', { device: 'nope', command: 'show clock' });
    assert.match(h.text(unknown), /^Invalid "device": no device "nope" in the inventory\nKnown devices: k1, e1, lg, i1, s1/);
  });

  it('reports an unreachable device and remembers it in devices_list', async () => {
    const r = await h.call('device_command', { device: 'closed', command: 'show clock' });
    assert.match(h.text(r), /^closed \(127\.0\.0\.1:1\): connection refused/);
    const list = await h.call('devices_list', {});
    assert.match(h.text(list), /closed\s+127\.0\.0\.1:1\s+cisco_ios\s+-\s+-\s+UNREACHABLE \(\d+s ago\): closed \(127\.0\.0\.1:1\): connection refused/);
  });

  it('offers legacy algorithms only to devices that enable them', async () => {
    const strict = await h.call('device_command', { device: 'lg-strict', command: 'show clock' });
    assert.equal(strict.isError, true);
    assert.match(h.text(strict), /no common SSH algorithm.*\nOld devices need legacy algorithms: set "legacyAlgorithms: true" on lg-strict/s);
    const legacy = await h.call('device_command', { device: 'lg', command: 'show clock' });
    assert.equal(legacy.isError, undefined, h.text(legacy));
  });

  it('a command past its timeout is an error; the session is not reused', async () => {
    const s1 = h.sim.device('s1');
    const r = await h.call('device_command', { device: 's1', command: 'show tech-support', timeoutSeconds: 1 });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /^s1: "show tech-support": no prompt within 1 s/);
    const next = await h.call('device_command', { device: 's1', command: 'show clock' });
    assert.equal(next.isError, undefined, h.text(next));
    assert.equal(s1.logins(), 2);
  });

  it('closes idle sessions and reconnects on next use', async () => {
    const i1 = h.sim.device('i1');
    await h.call('device_command', { device: 'i1', command: 'show clock' });
    assert.equal(i1.connections(), 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(i1.connections(), 0);
    await h.call('device_command', { device: 'i1', command: 'show clock' });
    assert.equal(i1.logins(), 2);
  });

  it('a bad inventory is an error naming the line and field; fixing it takes effect on the next call', async () => {
    const { readFileSync: read, writeFileSync } = await import('node:fs');
    const good = read(h.inventoryFile, 'utf8');
    writeFileSync(h.inventoryFile, good.replace('platform: cisco_nxos', 'platform: nexus'));
    const r = await h.call('devices_list', {});
    assert.match(h.text(r), /inventory\.yaml:\d+:5: devices\[3\]\.platform: must be one of cisco_ios, cisco_xe, cisco_nxos, juniper_junos, linux\nFix the inventory file/);
    writeFileSync(h.inventoryFile, good);
    assert.equal((await h.call('devices_list', {})).isError, undefined);
  });
});
