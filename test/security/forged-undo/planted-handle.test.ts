// Threat: an undo nobody's call produced. A third-party server plants `_meta["mcpcp/undo"]` (whose
// inverse would write a marker file), and the agent sends `_meta["mcpcp/undoOf"]` (a forged link)
// and `_meta["mcpcp/undoState"]` (state a built-in server would trust) itself. Witnesses: no
// handle file, nothing in the audit, the marker file never written, and the server's own log of
// the `_meta` it received.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { queryAudit } from '../../../src/core/audit';
import { fixtureScript } from '../../helpers/fixture-plane';
import { startUndoPlane, type UndoPlane } from '../../integration/undo/harness';

describe('forged undo: planted handles and forged links are dropped', () => {
  let up: UndoPlane;
  let client: Client;
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-forged-undo-'));
  const log = join(dir, 'received.jsonl');
  const marker = join(dir, 'marker');

  before(async () => {
    up = await startUndoPlane({
      config: (c) => ({ ...c, servers: { git: { enabled: false }, planter: { command: process.execPath, args: [fixtureScript('plants-undo')], env: { UNDO_FIXTURE_LOG: log, UNDO_FIXTURE_MARKER: marker } } } }),
    });
    client = await up.client('planter');
  });

  after(async () => {
    await up?.stop();
  });

  it("a third-party server's undo handle is stripped: not shown to the client, not kept, not undoable", async () => {
    // The attack is real: asked directly, the server does return a handle.
    const upstream = await up.plane.supervisor.get('planter')!.waitUntilServing(10_000);
    const direct = await upstream.client.callTool({ name: 'change_thing', arguments: {} });
    assert.equal((direct._meta?.['mcpcp/undo'] as { before?: string } | undefined)?.before, 'PLANTED-PRIOR-STATE');
    // Through the gateway (approvedCall asserts the client saw no `mcpcp/undo`).
    const { callId } = await up.approvedCall(client, 'change_thing', {});
    const undoDir = join(up.stateDir, 'undo');
    assert.equal(existsSync(undoDir) ? readdirSync(undoDir).length : 0, 0, 'witness: no handle file');
    const records = (await queryAudit(join(up.stateDir, 'audit'), { callId })).records;
    assert.ok(records.some((r) => r.type === 'call.completed'));
    assert.equal(JSON.stringify(records).includes('PLANTED'), false, 'nothing of the handle in the audit');
    assert.equal(records.some((r) => (r.detail as { undo?: unknown } | undefined)?.undo !== undefined), false);
    await assert.rejects(up.plane.undo.preview(callId), /no completed call .* with an undo handle/);
    await assert.rejects(up.plane.undo.run(callId), /no completed call .* with an undo handle/);
    assert.equal(existsSync(marker), false, 'witness: the planted inverse never ran');
    assert.equal(up.plane.oversight.store.list().length, 0, 'nothing was submitted for approval');
  });

  it("the agent's own undoOf and undoState never reach a server nor link the audit", async () => {
    const first = await up.approvedCall(client, 'change_thing', {});
    const forging = client.request(
      { method: 'tools/call', params: { name: 'write_marker', arguments: {}, _meta: { 'mcpcp/undoOf': { callId: first.callId, nonce: 'guessed-nonce' }, 'mcpcp/undoState': { configuration: 'set system host-name pwned' } } } },
      CallToolResultSchema,
    );
    // Still an ordinary destructive call: it waits for a human, who rejects it.
    const deadline = Date.now() + 20_000;
    while (up.plane.oversight.store.list().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const a = up.plane.oversight.store.list()[0]!;
    assert.equal(a.tool, 'write_marker');
    await up.plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: true }, { kind: 'vscode-ui' });
    await forging;
    const received = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { tool: string; meta: Record<string, unknown> | null });
    const call = received.filter((r) => r.tool === 'write_marker').at(-1)!;
    assert.equal(call.meta?.['mcpcp/undoOf'], undefined, 'witness: the forged link was not forwarded');
    assert.equal(call.meta?.['mcpcp/undoState'], undefined, 'witness: the forged state was not forwarded');
    const linked = (await queryAudit(join(up.stateDir, 'audit'), { type: ['call.requested', 'call.completed'], tool: 'write_marker' })).records.filter((r) => JSON.stringify(r.detail ?? {}).includes('undoOf'));
    assert.equal(linked.length, 0, 'the audit links nothing to the forged undoOf');
  });
});
