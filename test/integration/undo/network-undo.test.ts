// Undo of config_apply against the device simulator (IOS and Junos), through the real control
// plane, gateway and built network server: the undo restores the whole prior configuration (not a
// rollback number), a secret the change removed comes back although the undo's arguments carry it
// masked, and drift (a later change) is shown with the three-way difference.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { queryAudit } from '../../../src/core/audit';
import { startSimulator, type Simulator } from '../../fixtures/network-sim/simulator';
import { firstText } from '../../helpers/fixture-plane';
import { ENABLE, PASSWORD, inventoryYaml } from '../network/harness';
import { startUndoPlane, type UndoPlane } from './harness';

const COMMUNITY = 'Undo-Comm-7319';

describe('undo on network devices (simulator)', () => {
  let sim: Simulator;
  let up: UndoPlane;
  let client: Client;

  const running = async (device: string): Promise<string> => {
    const r = await client.callTool({ name: 'config_get', arguments: { device, ...(device === 'j1' ? { format: 'set' } : {}) } });
    assert.equal(r.isError, undefined, firstText(r));
    // Without the header and the lines a device stamps on every change (time, size).
    return firstText(r).split('\n').slice(1).filter((l) => !/^(! Last configuration change|Current configuration :)/.test(l)).join('\n');
  };

  before(async () => {
    sim = await startSimulator([
      { name: 'r1', platform: 'cisco_ios', enableSecret: ENABLE },
      { name: 'j1', platform: 'juniper_junos' },
    ]);
    // The user's own inventory (the data directory's), whose devices need no consent.
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-undo-net-'));
    writeFileSync(join(stateDir, 'inventory.yaml'), inventoryYaml(sim, {}));
    up = await startUndoPlane({ secrets: { 'lab-pass': PASSWORD, 'lab-enable': ENABLE }, stateDir });
    client = await up.client('network');
  });

  after(async () => {
    await up?.stop();
    await sim?.close();
  });

  it('IOS: config_apply → undo restores the configuration, secrets included, masked in its arguments', async () => {
    await up.approvedCall(client, 'config_apply', { devices: ['r1'], lines: `snmp-server community ${COMMUNITY} RO` });
    const before = await running('r1');
    const { callId } = await up.approvedCall(client, 'config_apply', { devices: ['r1'], lines: `no snmp-server community ${COMMUNITY} RO\ninterface Loopback7\n description added-by-agent` });
    assert.notEqual(await running('r1'), before);

    const raw = readFileSync(join(up.stateDir, 'undo', `${callId}.bin`));
    assert.equal(raw.includes(Buffer.from(COMMUNITY)), false, 'the handle file holds no plaintext');

    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.drift.changed, false, preview.text);
    assert.equal(preview.inverse.tool, 'config_rollback');
    assert.equal(preview.text.includes(COMMUNITY), false);
    const done = await up.approvedUndo(callId, { digest: preview.digest });
    assert.equal(done.approvalTool, 'config_rollback');
    assert.equal(done.ok, true, done.text);
    assert.equal(await running('r1'), before, 'the whole prior configuration is back');
    assert.ok(sim.device('r1').received().some((l) => l.line.includes(`snmp-server community ${COMMUNITY} RO`) && !l.line.startsWith('no ')), 'the secret line was sent back');
    // The undo's own call, as audited: linked, and with the community masked.
    const undoCall = (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.requested'], tool: 'config_rollback' })).records.find((r) => (r.detail as { undoOf?: string }).undoOf === callId);
    assert.ok(undoCall, 'the undo is audited with undoOf');
    assert.equal(JSON.stringify(undoCall).includes(COMMUNITY), false);
  });

  it('Junos: config_apply → undo restores; a later change is drift, shown three ways', async () => {
    const before = await running('j1');
    const { callId } = await up.approvedCall(client, 'config_apply', { devices: ['j1'], lines: 'set interfaces ge-0/0/5 description agent-change' });
    assert.match(await running('j1'), /ge-0\/0\/5 description agent-change/);
    await up.approvedCall(client, 'config_apply', { devices: ['j1'], lines: 'set interfaces ge-0/0/5 description changed-by-someone-else' });
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.drift.changed, true);
    assert.match(preview.text, /CHANGED SINCE THE CALL/);
    assert.match(preview.text, /changed-by-someone-else/);
    console.log(`--- network undo preview with drift ---\n${preview.text}`);
    const done = await up.approvedUndo(callId);
    assert.equal(done.ok, true, done.text);
    assert.equal(await running('j1'), before);
  });

  it('Junos: config_rollback → undo puts back the configuration the rollback replaced', async () => {
    await up.approvedCall(client, 'config_apply', { devices: ['j1'], lines: 'set interfaces ge-0/0/6 description kept-by-undo' });
    const withChange = await running('j1');
    const { callId } = await up.approvedCall(client, 'config_rollback', { device: 'j1', rollback: 1 });
    assert.doesNotMatch(await running('j1'), /kept-by-undo/, 'the rollback removed the change');
    const preview = await up.plane.undo.preview(callId);
    assert.equal(preview.inverse.tool, 'config_rollback');
    assert.equal(preview.drift.changed, false, preview.text);
    const done = await up.approvedUndo(callId, { digest: preview.digest });
    assert.equal(done.approvalTool, 'config_rollback');
    assert.equal(done.ok, true, done.text);
    assert.equal(await running('j1'), withChange, 'the configuration before the rollback is back');
  });

  it('handle files are encrypted: no configuration text in any of them', () => {
    for (const f of readdirSync(join(up.stateDir, 'undo'))) {
      const raw = readFileSync(join(up.stateDir, 'undo', f));
      assert.equal(raw.includes(Buffer.from('interfaces')) || raw.includes(Buffer.from('hostname')), false, f);
    }
  });
});
