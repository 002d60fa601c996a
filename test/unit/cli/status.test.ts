import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatusBody } from '../../../src/cli/control';
import { degradedReasons } from '../../../src/cli/ops-commands';

const instance = { pid: 1, port: 2, token: 't', startedAt: '2026-01-01T00:00:00Z', cwd: '/' };
const running: StatusBody['servers'][number] = { name: 'fx', builtin: false, state: { kind: 'running', startedAt: 1, toolCount: 3 }, restarts: 0, toolCount: 3 };

describe('mcpcp status: degraded or healthy', () => {
  it('healthy only when every server runs, no entry failed, the audit log is writable and the instance is ready', () => {
    const body: StatusBody = { pid: 1, port: 2, servers: [running], audit: { state: 'ok' }, readiness: { ready: true, reasons: [] } };
    assert.deepEqual(degradedReasons({ instance, body }), []);
    assert.deepEqual(degradedReasons({ instance, body: { ...body, servers: [{ ...running, state: { kind: 'unhealthy', startedAt: 1, toolCount: 3, missedPings: 1 } }] } }), ['fx is unhealthy (not answering pings)']);
    assert.deepEqual(degradedReasons({ instance, body: { ...body, problems: [{ server: 'gti', message: 'servers.gti: no built-in server "gti"' }] } }), ['configuration: servers.gti: no built-in server "gti"']);
    // Listed as a failed server too: said once.
    const gti: StatusBody['servers'][number] = { name: 'gti', builtin: false, state: { kind: 'failed', error: 'not built in', code: 'CONFIG_INVALID' }, restarts: 0, toolCount: 0, lastError: 'not built in' };
    assert.deepEqual(degradedReasons({ instance, body: { ...body, servers: [running, gti], problems: [{ server: 'gti', message: 'not built in' }] } }), ['gti has failed (not built in)']);
    const failing: StatusBody['audit'] = { state: 'failing', since: 0, refusedCount: 3, lostRecords: 1, lastError: 'ENOSPC: no space left on device' };
    assert.deepEqual(degradedReasons({ instance, body: { ...body, audit: failing, readiness: { ready: false, reasons: ['audit log cannot be written'] } } }), [
      'the audit log cannot be written (ENOSPC: no space left on device): calls are refused',
    ]);
    assert.deepEqual(degradedReasons({ instance, body: { ...body, readiness: { ready: false, reasons: ['draining'] } } }), ['not ready: draining']);
    assert.deepEqual(degradedReasons({ instance, error: 'ECONNREFUSED' }), ['instance pid 1 is not answering: ECONNREFUSED']);
  });
});
