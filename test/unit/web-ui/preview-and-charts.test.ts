// The UI's pure helpers (media/src): preview classification, chart geometry, formatting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barLayout, bucketSeries, linePoints, niceMax } from '../../../media/src/chart-geometry';
import { classifyPreview, looksLikeUnifiedDiff } from '../../../media/src/diff';
import { formatCountdown, formatMs, formatPercent, formatRule, formatWindow } from '../../../media/src/format';

describe('preview classification', () => {
  it('a git diff: additions, deletions, hunks and file headers', () => {
    const text = [
      'diff --git a/app.yaml b/app.yaml',
      'index 83db48f..bf269f4 100644',
      '--- a/app.yaml',
      '+++ b/app.yaml',
      '@@ -1,3 +1,3 @@',
      ' kind: Deployment',
      '-replicas: 2',
      '+replicas: 3',
      ' image: web:1.2',
    ].join('\n');
    const c = classifyPreview(text);
    assert.equal(c.diff, true);
    assert.deepEqual(c.lines.map((l) => l.kind), ['meta', 'meta', 'meta', 'meta', 'hunk', 'context', 'del', 'add', 'context']);
    assert.deepEqual([c.added, c.removed], [1, 1]);
  });

  it('inside a hunk, a deleted line that starts with "-- " is a deletion, not a file header', () => {
    const c = classifyPreview(['--- a/x.sql', '+++ b/x.sql', '@@ -1,2 +1,1 @@', '--- drop the table', ' select 1;', '--- a/y', '+++ b/y'].join('\n'));
    assert.deepEqual(c.lines.map((l) => l.kind), ['meta', 'meta', 'hunk', 'del', 'context', 'meta', 'meta']);
  });

  it('a list of affected objects is not a diff, even with "- " bullets', () => {
    const text = 'Would delete 2 pods:\n- web-1\n- web-2\n+ nothing else';
    assert.equal(looksLikeUnifiedDiff(text), false);
    const c = classifyPreview(text);
    assert.equal(c.diff, false);
    assert.ok(c.lines.every((l) => l.kind === 'context'));
    assert.equal(c.lines.length, 4);
  });
});

describe('chart geometry', () => {
  it('niceMax rounds up to 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual([0, 0.3, 1, 3, 7, 12, 20.5, 999, 1001].map(niceMax), [1, 0.5, 1, 5, 10, 20, 50, 1000, 2000]);
  });

  it('bars fill the width, stand on the baseline, and a non-zero bar is never invisible', () => {
    const bars = barLayout([0, 1, 100], 300, 100, 100);
    assert.equal(bars.length, 3);
    assert.deepEqual(bars.map((b) => b.height), [0, 1, 100]);
    for (const b of bars) assert.equal(b.y + b.height, 100);
    assert.equal(bars[2]!.x + bars[2]!.width, 299.5);
  });

  it('line points span the width and clamp to the maximum', () => {
    assert.equal(linePoints([0, 50, 200], 100, 10, 100), '0,10 50,5 100,0');
    assert.equal(linePoints([5], 100, 10, 10), '50,5');
  });

  it('a long series is bucketed: calls and errors summed, p95 the worst, p50 weighted by calls', () => {
    const series = Array.from({ length: 6 }, (_, i) => ({ t: i * 60_000, calls: i, errors: i % 2, p50Ms: 10 * i, p95Ms: 100 * i }));
    const out = bucketSeries(series, 3);
    assert.equal(out.length, 3);
    assert.deepEqual(out[1], { t: 120_000, calls: 5, errors: 1, p50Ms: (20 * 2 + 30 * 3) / 5, p95Ms: 300 });
    assert.equal(bucketSeries(series, 10).length, 6);
  });
});

describe('formatting', () => {
  it('durations, rates, windows, countdowns and rules read naturally', () => {
    assert.deepEqual([0, 0.42, 12.4, 1500, 125_000].map(formatMs), ['0 ms', '0.4 ms', '12 ms', '1.5 s', '2m 5s']);
    assert.deepEqual([0, 0.025, 0.4].map(formatPercent), ['0%', '2.5%', '40%']);
    assert.deepEqual([900_000, 3_600_000, 86_400_000].map(formatWindow), ['15 min', '1 h', '24 h']);
    assert.equal(formatCountdown(247_001), '4:08');
    assert.equal(formatCountdown(-5), '0:00');
    assert.equal(formatRule({ source: 'workspace', index: 2, id: 'no-prod' }), 'workspace #3 (no-prod)');
  });
});
