import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter, tokenMatches } from '../../../src/core/gateway/http-util';
import { Metrics, percentile } from '../../../src/core/metrics/metrics';
import { ServerLog, type LogLine } from '../../../src/core/supervisor/server-log';

describe('gateway parts', () => {
  it('accepts only the exact bearer token', () => {
    assert.equal(tokenMatches('Bearer abc', 'abc'), true);
    assert.equal(tokenMatches('bearer abc', 'abc'), true);
    for (const header of [undefined, '', 'Bearer', 'Bearer abcd', 'Bearer ab', 'Basic abc', 'abc', 'Bearer abc extra']) {
      assert.equal(tokenMatches(header, 'abc'), false, String(header));
    }
    assert.equal(tokenMatches('Bearer ', ''), false, 'an empty token never matches');
  });

  it('rate-limits with a token bucket', () => {
    let now = 0;
    const limiter = new RateLimiter(5, () => now);
    assert.deepEqual(Array.from({ length: 7 }, () => limiter.take()), [true, true, true, true, true, false, false]);
    now += 200;
    assert.equal(limiter.take(), true);
    assert.equal(limiter.take(), false);
  });

  it('renders Prometheus counters and cumulative histograms', () => {
    const m = new Metrics();
    m.record('git', 'repo_status', 3, 'ok', 1);
    m.record('git', 'repo_status', 40, 'ok', 2);
    m.record('git', 'push', 2, 'denied', 3);
    const text = m.prometheus();
    assert.match(text, /^mcpcp_calls_total\{server="git",tool="repo_status",outcome="ok"\} 2$/m);
    assert.match(text, /^mcpcp_calls_total\{server="git",tool="push",outcome="denied"\} 1$/m);
    assert.match(text, /^mcpcp_call_duration_seconds_bucket\{server="git",tool="repo_status",le="0.005"\} 1$/m);
    assert.match(text, /^mcpcp_call_duration_seconds_bucket\{server="git",tool="repo_status",le="0.05"\} 2$/m);
    assert.match(text, /^mcpcp_call_duration_seconds_count\{server="git",tool="repo_status"\} 2$/m);
    assert.deepEqual(m.recent(2).map((s) => s.tool), ['repo_status', 'push']);
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
    assert.equal(percentile([5, 1, 3, 2, 4], 99), 5);
    assert.equal(percentile([], 50), 0);
  });

  it('keeps a bounded log of whole lines', () => {
    const sunk: LogLine[] = [];
    const log = new ServerLog('fx', (l) => sunk.push(l), (t) => t.replace('secret', '[REDACTED]'), 3, 10);
    log.note('secret!');
    assert.equal(sunk[0]!.text, '[REDACTED]!');
    sunk.length = 0;
    log.write('one\ntw');
    log.write('o\nthree\nfour\n');
    log.write('x'.repeat(25));
    log.flush();
    assert.deepEqual(log.recent().map((l) => l.text), ['three', 'four', `${'x'.repeat(10)}… [line truncated]`]);
    assert.equal(sunk.length, 5);
  });
});
