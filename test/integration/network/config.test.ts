// The configuration tools through a real MCP client, checked against the simulator's real state:
// reading (secrets removed), diffs, previews that change nothing, safe applies per platform,
// device errors in the middle of an apply (rolled back, applied lines reported), failed
// post-checks, an unconfirmed Junos commit rolling itself back, rollback and save, templates.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CiscoDevice, JunosDevice } from '../../fixtures/network-sim/simulator';
import { startHarness, type Harness } from './harness';

let h: Harness;
const ios = (): CiscoDevice => h.sim.device('r1').state as CiscoDevice;
const nx = (): CiscoDevice => h.sim.device('n1').state as CiscoDevice;
const jun = (name = 'j1'): JunosDevice => h.sim.device(name).state as JunosDevice;

before(async () => {
  h = await startHarness(
    [
      { name: 'r1', platform: 'cisco_ios', enableSecret: 'en-secret' },
      { name: 'n1', platform: 'cisco_nxos' },
      { name: 'j1', platform: 'juniper_junos' },
      // Drops the connection at the confirming `commit check` (the second one), after commit confirmed.
      { name: 'j2', platform: 'juniper_junos', minuteMs: 100, dropOn: { command: 'commit check', skip: 1, times: 1 } },
      // Drops the connection at `configure confirm`: the revert timer must restore the device.
      { name: 'r2', platform: 'cisco_ios', minuteMs: 100, dropOn: { command: 'configure confirm', times: 1 } },
    ],
    { options: { confirmMinutes: 1 } },
  );
  mkdirSync(join(h.dir, 'templates'), { recursive: true });
  writeFileSync(
    join(h.dir, 'templates', 'loopback.j2'),
    'interface Loopback{{ id }}\n description {{ description }}\n{% for a in addresses %}\n ip address {{ a }} 255.255.255.255{{ " secondary" if not loop.first }}\n{% endfor %}\n',
  );
});
after(() => h.close());

/**
 * The "commands sent" of a one-device apply report, and the command lines the device received on
 * the session that made the change, from the line matching `first` on (both trimmed).
 */
function sentAndReceived(report: string, device: string, first: RegExp): { reported: string[]; received: string[] } {
  const block = report.split('\ncommands sent:\n')[1] ?? '';
  const reported = block
    .split('\n')
    .filter((l) => l.startsWith('  ') && !l.startsWith('  ('))
    .map((l) => (l.split('  -> ')[0] ?? '').trim());
  const all = h.sim.device(device).received();
  let start = all.length - 1;
  while (start >= 0 && !first.test(all[start]!.line)) start--;
  assert.ok(start >= 0, `${device} received no line matching ${first}`);
  const session = all[start]!.session;
  return { reported, received: all.slice(start).filter((r) => r.session === session).map((r) => r.line) };
}

describe('network config tools', () => {
  it('config_get returns running, startup and Junos candidate configurations without secrets', async () => {
    const run = await h.call('config_get', { device: 'r1' });
    assert.match(h.text(run), /^r1 running configuration \(Cisco IOS; secrets removed\): \d+ lines/);
    assert.match(h.text(run), /^username admin privilege 15 secret 9 <removed>$/m);
    assert.match(h.text(run), /^snmp-server community <removed> RO$/m);
    assert.doesNotMatch(h.text(run), /s3cr3t-community|\$9\$/);
    const section = await h.call('config_get', { device: 'r1', section: '^interface Loopback' });
    assert.equal(h.text(section).split('\n').slice(1).join('\n'), 'interface Loopback0\n ip address 192.0.2.1 255.255.255.255\n!');
    const startup = await h.call('config_get', { device: 'n1', source: 'startup' });
    assert.match(h.text(startup), /username admin password 5 <removed>/);
    const set = await h.call('config_get', { device: 'j1', format: 'set' });
    assert.match(h.text(set), /^set system root-authentication encrypted-password <removed>$/m);
    jun().shared = [...jun().committed, 'interfaces ge-0/0/7 description staged'];
    const cand = await h.call('config_get', { device: 'j1', source: 'candidate', format: 'set' });
    assert.match(h.text(cand), /set interfaces ge-0\/0\/7 description staged/);
    jun().shared = undefined;
    const bad = await h.call('config_get', { device: 'r1', source: 'candidate' });
    assert.equal(bad.isError, true);
    assert.match(h.text(bad), /Cisco IOS has no candidate configuration/);
  });

  it('config_diff computes changes locally (lines, and a full configuration)', async () => {
    const before = ios().configText();
    const r = await h.call('config_diff', { device: 'r1', lines: 'interface GigabitEthernet0/1\n description to core2\nno snmp-server community s3cr3t-community RO' });
    assert.equal(h.text(r), 'r1: 2 line(s) would change (computed locally; the device has the last word when applying)\n-snmp-server community <removed> RO\n interface GigabitEthernet0/1\n+ description to core2');
    const none = await h.call('config_diff', { device: 'r1', lines: 'hostname r1' });
    assert.match(h.text(none), /no change/);
    const full = await h.call('config_diff', { device: 'j1', config: 'set system host-name j1\nset system services ssh\n' });
    assert.match(h.text(full), /^- set interfaces ge-0\/0\/0 description "uplink to core"$/m);
    assert.equal(ios().configText(), before);
  });

  it('config_apply dryRun lists the exact commands and the diff, and changes nothing', async () => {
    const before = ios().configText();
    const r = await h.call('config_apply', { devices: ['r1', 'j1'], lines: 'interface Loopback9\n ip address 10.9.9.9 255.255.255.255', dryRun: true });
    assert.equal(r.isError, true, 'Junos refuses non-set lines before anything');
    assert.match(h.text(r), /line 1 "interface Loopback9" starts with "interface": only set, delete/);
    const ok = await h.call('config_apply', { devices: ['r1'], lines: 'interface Loopback9\n ip address 10.9.9.9 255.255.255.255', dryRun: true });
    assert.equal(
      h.text(ok).replace(/\d{8}-\d{6}-[0-9a-f]{4}/g, 'ID'),
      [
        'Dry run: 2 lines from lines on 1 device. Nothing was sent.',
        '== r1 (Cisco IOS): 2 line(s) would change',
        'safety: running config saved to flash first; revert timer 5 min (when the archive is configured); a rejected line or failed post-check restores the backup with configure replace.',
        'commands, in order:',
        '  copy running-config flash:mcpcp-<id>.cfg',
        '  configure terminal revert timer 5',
        '  interface Loopback9',
        '   ip address 10.9.9.9 255.255.255.255',
        '  end',
        '  (post-check over a new connection)',
        '  configure confirm',
        'diff (computed locally):',
        '+interface Loopback9',
        '+ ip address 10.9.9.9 255.255.255.255',
      ].join('\n').replace('revert timer 5 min', 'revert timer 1 min').replace('revert timer 5', 'revert timer 1'),
    );
    assert.equal(ios().configText(), before);
    assert.equal(ios().flash.size, 0);
  });

  it('config_apply on IOS: backup, revert timer, lines, post-check, configure confirm', async () => {
    const r = await h.call('config_apply', { devices: ['r1'], lines: 'interface Loopback9\n description added by test\n ip address 10.9.9.9 255.255.255.255' });
    assert.equal(r.isError, undefined, h.text(r));
    assert.match(h.text(r), /^Applied on 1 device\.\n== r1: APPLIED \(3\/3 lines applied; backup flash:mcpcp-\d{8}-\d{6}-\d{3}-[0-9a-f]{4}\.cfg\)/);
    assert.match(ios().configText(), /interface Loopback9\n description added by test\n ip address 10\.9\.9\.9 255\.255\.255\.255/);
    assert.equal(ios().revert, undefined, 'the revert timer was confirmed');
    assert.equal(ios().flash.size, 1);
    const { reported, received } = sentAndReceived(h.text(r), 'r1', /^copy running-config flash:mcpcp-/);
    assert.deepEqual(reported, received);
    assert.deepEqual(received.slice(1), ['configure terminal revert timer 1', 'interface Loopback9', 'description added by test', 'ip address 10.9.9.9 255.255.255.255', 'end', 'configure confirm']);
  });

  it('a device error in the middle of an IOS apply: stops, reports the applied lines, restores the backup', async () => {
    const before = ios().configText();
    const r = await h.call('config_apply', { devices: ['r1'], lines: 'interface Loopback10\n description half\n interfce typo\n ip address 10.10.10.10 255.255.255.255' });
    assert.equal(r.isError, true);
    const text = h.text(r);
    assert.match(text, /^FAILED: stopped at r1\.\n== r1: ROLLED-BACK \(2\/4 lines applied; backup flash:mcpcp-/);
    assert.match(text, /stopped at line 3: interfce typo\ndevice said: +\^ \| % Invalid input detected at '\^' marker\./);
    assert.match(text, /configure replace flash:mcpcp-\S+ force/);
    const { reported, received } = sentAndReceived(text, 'r1', /^copy running-config flash:mcpcp-/);
    assert.deepEqual(reported, received);
    assert.ok(received.includes('end'), received.join(' / '));
    assert.equal(ios().configText(), before);
    assert.equal(ios().revert, undefined);
  });

  it('NX-OS: checkpoint, lines; an error rolls back to the checkpoint', async () => {
    const ok = await h.call('config_apply', { devices: ['n1'], lines: 'interface loopback9\n  description via checkpoint' });
    assert.equal(ok.isError, undefined, h.text(ok));
    assert.match(nx().configText(), /interface loopback9\n {2}description via checkpoint/);
    const sent = sentAndReceived(h.text(ok), 'n1', /^checkpoint mcpcp-/);
    assert.deepEqual(sent.reported, sent.received);
    assert.deepEqual(sent.received.slice(1), ['configure terminal', 'interface loopback9', 'description via checkpoint', 'end']);
    const before = nx().configText();
    const bad = await h.call('config_apply', { devices: ['n1'], lines: 'interface loopback10\n  description x\n  bogus-command 1' });
    assert.equal(bad.isError, true);
    assert.match(h.text(bad), /ROLLED-BACK \(2\/3 lines applied; backup mcpcp-[\w-]+\)\nstopped at line 3: bogus-command 1\ndevice said: +\^ \| % Invalid command at '\^' marker\.\nthe device rejected a line; restored checkpoint/);
    assert.equal(nx().configText(), before);
    assert.equal(nx().checkpoints.size, 2);
  });

  it('Junos: private candidate, show | compare, commit check, commit confirmed, post-check, confirmation; then rollback 1', async () => {
    const history = jun().history.length;
    const r = await h.call('config_apply', { devices: ['j1'], lines: 'set interfaces ge-0/0/5 description "from mcp"\nset interfaces ge-0/0/5 unit 0 family inet address 10.5.5.1/24', comment: 'ticket 42' });
    assert.equal(r.isError, undefined, h.text(r));
    assert.match(h.text(r), /device diff \(show \| compare\):\n\[edit interfaces ge-0\/0\/5\]\n\+ {3}description "from mcp";\n\[edit interfaces ge-0\/0\/5 unit 0 family inet\]\n\+ {3}address 10\.5\.5\.1\/24;/);
    assert.match(h.text(r), /commit confirmed 1 comment "ticket 42"/);
    assert.ok(jun().committed.includes('interfaces ge-0/0/5 description "from mcp"'));
    assert.equal(jun().history.length, history + 1, 'the confirmation (commit check) adds no rollback point');
    assert.equal(jun().confirm, undefined, 'confirmed');
    const jBefore = [...jun().committed];
    const dry = await h.call('config_rollback', { device: 'j1', dryRun: true });
    assert.match(h.text(dry), /Dry run: rollback 1 on j1 would change \(device diff, show \| compare\):\n\[edit interfaces ge-0\/0\/5\]\n- {3}description "from mcp";/);
    assert.deepEqual(jun().committed, jBefore);
    const jr = await h.call('config_rollback', { device: 'j1' });
    assert.equal(jr.isError, undefined, h.text(jr));
    assert.ok(!jun().committed.some((l) => l.includes('ge-0/0/5')));
  });

  it('Junos: a rejected line discards the candidate; nothing is committed', async () => {
    const committed = [...jun().committed];
    const history = jun().history.length;
    const r = await h.call('config_apply', { devices: ['j1'], lines: 'set interfaces ge-0/0/6 description ok\nset interfacez ge-0/0/6 mtu 9000\nset system host-name never' });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /ROLLED-BACK \(1\/3 lines applied\)\nstopped at line 2: set interfacez ge-0\/0\/6 mtu 9000\ndevice said: +\^ \| syntax error\.\nthe device rejected a line; the private candidate was discarded, nothing was committed/);
    assert.deepEqual(jun().committed, committed);
    assert.equal(jun().history.length, history);
  });

  it('Junos: a failed post-check rolls back at once', async () => {
    const committed = [...jun().committed];
    const r = await h.call('config_apply', { devices: ['j1'], lines: 'set system host-name j1-new', postCheck: { command: 'show version', expect: 'Hostname: something-else' } });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /ROLLED-BACK .*\npost-check failed: "show version" output does not match \/Hostname: something-else\/; rolled back \(rollback 1\)/);
    assert.deepEqual([...jun().committed].sort(), [...committed].sort());
  });

  it('Junos: when the change cannot be confirmed, commit confirmed rolls the device back by itself', async () => {
    const committed = [...jun('j2').committed];
    const r = await h.call('config_apply', { devices: ['j2'], lines: 'set system host-name j2-unconfirmed' });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /ROLLBACK-PENDING .*\nthe change could not be confirmed \(.*dropped.*\): the device rolls back by itself within 1 min/);
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(jun('j2').committed, committed);
    assert.equal(jun('j2').history[0]?.how, 'confirmed-timeout');
    assert.equal(jun('j2').history[1]?.how, 'cli commit confirmed');
    assert.ok(jun('j2').history[1]?.lines.includes('system host-name j2-unconfirmed'));
  });

  it('IOS: when configure confirm cannot be sent, the revert timer restores the device', async () => {
    const r2 = h.sim.device('r2').state as CiscoDevice;
    const before = r2.configText();
    const r = await h.call('config_apply', { devices: ['r2'], lines: 'interface Loopback77\n description unconfirmed' });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /ROLLBACK-PENDING .*\nconfigure confirm failed \(.*dropped.*\): the revert timer restores the previous configuration within 1 min/);
    await new Promise((res) => setTimeout(res, 250));
    assert.equal(r2.configText(), before);
  });

  it('never shows the secret values it holds, even where no sanitizing pattern applies', async () => {
    const r = await h.call('config_diff', { device: 'r1', lines: 'interface Loopback1\n description admin-pass en-secret' });
    assert.match(h.text(r), /\+ description <secret> <secret>/);
    assert.doesNotMatch(JSON.stringify(r), /admin-pass|en-secret/);
  });

  it('config_rollback: IOS configure replace from the backup, NX-OS checkpoint (with dry runs)', async () => {
    const [oldest, newest] = [...ios().flash.keys()].sort();
    const latestDry = await h.call('config_rollback', { device: 'r1', dryRun: true });
    assert.match(h.text(latestDry), new RegExp(`Dry run: restoring ${newest} on r1 would change \\(computed locally\\):\\n\\(no difference\\)`));
    const iosDry = await h.call('config_rollback', { device: 'r1', backup: oldest, dryRun: true });
    assert.match(h.text(iosDry), /would change \(computed locally\):\n-interface Loopback9\n- description added by test/);
    const ir = await h.call('config_rollback', { device: 'r1', backup: oldest });
    assert.equal(ir.isError, undefined, h.text(ir));
    assert.doesNotMatch(ios().configText(), /Loopback9/);

    const nr = await h.call('config_rollback', { device: 'n1', backup: [...nx().checkpoints.keys()].sort()[0] });
    assert.equal(nr.isError, undefined, h.text(nr));
    assert.doesNotMatch(nx().configText(), /loopback9/);
    const unknown = await h.call('config_rollback', { device: 'n1', backup: 'mcpcp-nope' });
    assert.match(h.text(unknown), /no backup "mcpcp-nope" on n1/);
  });

  it('config_save copies running to startup (preview shows what startup gains); Junos has nothing to do', async () => {
    await h.call('config_apply', { devices: ['r1'], lines: 'interface Loopback11\n description to save' });
    const dry = await h.call('config_save', { devices: ['r1', 'j1'], dryRun: true });
    assert.match(h.text(dry), /== r1: would run "copy running-config startup-config"; startup would change by 2 lines\n\+interface Loopback11\n\+ description to save\n== j1: nothing to do/);
    assert.doesNotMatch(ios().startup, /Loopback11/);
    const r = await h.call('config_save', { devices: ['r1'] });
    assert.equal(h.text(r), '== r1: saved ([OK])');
    assert.equal(ios().startup, ios().configText());
  });

  it('renders templates from the trusted folder with validated variables', async () => {
    const dry = await h.call('config_apply', { devices: ['r1'], template: 'loopback.j2', variables: { id: 20, description: 'from template', addresses: ['10.20.0.1', '10.20.0.2'] }, dryRun: true });
    assert.equal(dry.isError, undefined, h.text(dry));
    assert.match(h.text(dry), /Dry run: 4 lines from template loopback\.j2 on 1 device\.[\s\S]*\+interface Loopback20\n\+ description from template\n\+ ip address 10\.20\.0\.1 255\.255\.255\.255\n\+ ip address 10\.20\.0\.2 255\.255\.255\.255 secondary/);
    const injected = await h.call('config_apply', { devices: ['r1'], template: 'loopback.j2', variables: { id: 21, description: 'x\nusername evil privilege 15 secret 0 x', addresses: [] }, dryRun: true });
    assert.equal(injected.isError, true);
    assert.match(h.text(injected), /must not contain newlines or control characters/);
    const missing = await h.call('config_apply', { devices: ['r1'], template: 'loopback.j2', variables: { id: 21 }, dryRun: true });
    assert.match(h.text(missing), /failed to render: .*undefined/);
    const outside = await h.call('config_apply', { devices: ['r1'], template: '../inventory.yaml', dryRun: true });
    assert.match(h.text(outside), /must be a path inside the templates folder/);
  });

  it('changes devices one after another and stops at the first failure', async () => {
    const nBefore = nx().configText();
    const rBefore = ios().configText();
    const r = await h.call('config_apply', { devices: ['n1', 'r1', 'r2'], lines: 'feature ospf' });
    assert.equal(r.isError, true);
    assert.match(h.text(r), /^FAILED: stopped at r1; not attempted: r2\.\n== n1: APPLIED \(1\/1 lines applied; backup mcpcp-[\w-]+\)[\s\S]*\n== r1: ROLLED-BACK \(0\/1 lines applied/);
    assert.match(nx().configText(), /^feature ospf$/m);
    assert.notEqual(nx().configText(), nBefore);
    assert.equal(ios().configText(), rBefore);
  });

  it('refuses lines that would leave configuration mode', async () => {
    for (const lines of ['interface Loopback1\nend\nreload', 'do reload']) {
      const r = await h.call('config_apply', { devices: ['r1'], lines, dryRun: true });
      assert.equal(r.isError, true);
      assert.match(h.text(r), /would leave configuration mode|runs an exec command/);
    }
    const j = await h.call('config_apply', { devices: ['j1'], lines: 'set system host-name x\nrun request system reboot' });
    assert.match(h.text(j), /line 2 "run request system reboot" starts with "run"/);
  });
});
