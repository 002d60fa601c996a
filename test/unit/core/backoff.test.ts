import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffCeiling, backoffDelay } from '../../../src/core/supervisor/backoff';

describe('restart backoff: exponential with full jitter', () => {
  const options = { baseMs: 500, capMs: 30_000 };
  it('ceilings double from the base up to the cap', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 40].map((a) => backoffCeiling(a, options)), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
  it('delays stay within [0, ceiling] at the extremes of the random source', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = backoffCeiling(attempt, options);
      assert.equal(backoffDelay(attempt, options, () => 0), 0);
      assert.equal(backoffDelay(attempt, options, () => 0.999999999), ceiling);
    }
  });
  it('spreads delays over the whole range (full jitter, not equal jitter)', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const samples = Array.from({ length: 2000 }, () => backoffDelay(3, options, random));
    assert.ok(Math.min(...samples) < 400, 'some restarts come early');
    assert.ok(Math.max(...samples) > 3600, 'some come late');
    assert.ok(samples.every((d) => d >= 0 && d <= 4000));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    assert.ok(Math.abs(mean - 2000) < 200, `mean ${mean} near half the ceiling`);
  });
});
