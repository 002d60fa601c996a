import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics, SERVER_STATES } from '../../../src/core/metrics/metrics';
import { CALL_OUTCOMES, OUTCOME_CLASS, outcomeClass } from '../../../src/core/outcome';
import type { ServerStatus } from '../../../src/core/supervisor/state';

describe('Metrics (Prometheus text)', () => {
  it('server gauges: up, one state at 1 of every state, restarts; label values escaped', () => {
    const m = new Metrics();
    const statuses: ServerStatus[] = [
      { name: 'a"b', builtin: false, state: { kind: 'unhealthy', startedAt: 1, toolCount: 1, missedPings: 1 }, restarts: 2, toolCount: 1 },
      { name: 'down', builtin: true, state: { kind: 'crash-looping', crashes: 5, since: 1 }, restarts: 5, toolCount: 0 },
    ];
    m.setServerSource(() => statuses);
    const text = m.prometheus();
    assert.match(text, /^mcp_server_up\{server="a\\"b"\} 1$/m);
    assert.match(text, /^mcp_server_up\{server="down"\} 0$/m);
    for (const state of SERVER_STATES) {
      assert.match(text, new RegExp(`^mcp_server_state\\{server="down",state="${state}"\\} ${state === 'crash-looping' ? 1 : 0}$`, 'm'));
    }
    assert.match(text, /^mcp_server_restarts_total\{server="down"\} 5$/m);
    assert.equal(SERVER_STATES.length, 7);
  });

  it('a refused call is counted without a latency; the approval wait has its own cumulative histogram', () => {
    const m = new Metrics();
    m.record('fx', 'del', undefined, 'rejected');
    m.record('fx', 'del', 20, 'ok');
    m.recordApprovalWait('fx', 'del', 29_000, 'approved');
    m.recordApprovalWait('fx', 'del', 4_000, 'rejected');
    const text = m.prometheus();
    assert.match(text, /^mcpcp_calls_total\{server="fx",tool="del",outcome="rejected"\} 1$/m);
    assert.match(text, /^mcpcp_call_duration_seconds_count\{server="fx",tool="del"\} 1$/m);
    assert.match(text, /^mcpcp_call_duration_seconds_sum\{server="fx",tool="del"\} 0\.02$/m);
    assert.match(text, /^mcpcp_approval_wait_seconds_bucket\{server="fx",tool="del",result="approved",le="10"\} 0$/m);
    assert.match(text, /^mcpcp_approval_wait_seconds_bucket\{server="fx",tool="del",result="approved",le="30"\} 1$/m);
    assert.match(text, /^mcpcp_approval_wait_seconds_bucket\{server="fx",tool="del",result="rejected",le="5"\} 1$/m);
    assert.match(text, /^# TYPE mcpcp_approval_wait_seconds histogram$/m);
    assert.deepEqual(m.recent(0).map((s) => s.durationMs), [undefined, 20]);
    assert.equal(m.totals().rejected, 1);
    assert.equal(m.totals().ok, 1);
  });

  it('every outcome has a class; only tool, server and control-plane failures are errors', () => {
    assert.deepEqual(Object.keys(OUTCOME_CLASS).sort(), [...CALL_OUTCOMES].sort());
    assert.deepEqual(CALL_OUTCOMES.filter((o) => OUTCOME_CLASS[o] === 'error').sort(), ['failed', 'stopped', 'tool-error']);
    assert.deepEqual(CALL_OUTCOMES.filter((o) => OUTCOME_CLASS[o] === 'refused').sort(), ['denied', 'expired', 'rejected']);
    assert.equal(outcomeClass('something-new'), 'error');
  });
});
