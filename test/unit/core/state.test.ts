import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeStatus, formatDuration, isServing, type ServerStatus } from '../../../src/core/supervisor/state';

const base = { name: 'git', builtin: true, restarts: 0, toolCount: 3 };

describe('server state', () => {
  it('describes each state in one line', () => {
    const now = 1_000_000;
    const cases: Array<[ServerStatus, string]> = [
      [{ ...base, state: { kind: 'running', pid: 1, startedAt: now - 62_000, toolCount: 3 } }, 'running · up 1m 2s'],
      [{ ...base, restarts: 1, state: { kind: 'unhealthy', pid: 1, startedAt: now - 5_000, toolCount: 3, missedPings: 1 } }, 'unhealthy · up 5s · 1 restart'],
      [{ ...base, restarts: 2, state: { kind: 'restarting', attempt: 2, delayMs: 900, nextStartAt: now + 900 } }, 'restarting · retry in 0s · 2 restarts'],
      [{ ...base, restarts: 4, state: { kind: 'crash-looping', crashes: 5, since: now } }, 'crash-looping · 4 restarts'],
      [{ ...base, state: { kind: 'failed', error: 'ENOENT', code: 'SPAWN_FAILED' } }, 'failed'],
      [{ ...base, state: { kind: 'stopped' } }, 'stopped'],
      [{ ...base, state: { kind: 'starting', since: now } }, 'starting'],
    ];
    for (const [status, text] of cases) assert.equal(describeStatus(status, now), text);
  });
  it('only running and unhealthy servers serve', () => {
    assert.equal(isServing({ kind: 'running', pid: 1, startedAt: 0, toolCount: 0 }), true);
    assert.equal(isServing({ kind: 'unhealthy', pid: 1, startedAt: 0, toolCount: 0, missedPings: 1 }), true);
    for (const kind of ['stopped', 'starting', 'restarting', 'crash-looping', 'failed'] as const) {
      const state = { kind, since: 0, attempt: 0, delayMs: 0, nextStartAt: 0, crashes: 0, error: '', code: '' } as never;
      assert.equal(isServing(state), false, kind);
    }
  });
  it('formats durations', () => {
    assert.deepEqual([0, 59_999, 60_000, 3_600_000, 49 * 3_600_000].map(formatDuration), ['0s', '59s', '1m 0s', '1h 0m', '2d 1h']);
  });
});
