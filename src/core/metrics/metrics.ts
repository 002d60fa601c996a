import type { CallOutcome } from '../outcome';

export type { CallOutcome };

/** Latency buckets in seconds (Prometheus `le` bounds). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

interface Series {
  server: string;
  tool: string;
  counts: Map<CallOutcome, number>;
  buckets: number[];
  sum: number;
  count: number;
}

/** A point of the per-call window the dashboard reads. */
export interface CallSample {
  at: number;
  server: string;
  tool: string;
  durationMs: number;
  outcome: CallOutcome;
}

/**
 * Call counters and latency histograms per server and tool, rendered as Prometheus text, plus a
 * bounded window of recent samples for percentiles over a chosen period.
 */
export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly samples: CallSample[] = [];

  constructor(private readonly maxSamples = 50_000) {}

  record(server: string, tool: string, durationMs: number, outcome: CallOutcome, at = Date.now()): void {
    const key = `${server}\u0000${tool}`;
    let s = this.series.get(key);
    if (!s) {
      s = { server, tool, counts: new Map(), buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    s.counts.set(outcome, (s.counts.get(outcome) ?? 0) + 1);
    const seconds = durationMs / 1000;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
    this.samples.push({ at, server, tool, durationMs, outcome });
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  /** Samples newer than `since` (ms epoch). */
  recent(since: number): CallSample[] {
    let lo = 0;
    let hi = this.samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.samples[mid]!.at < since) lo = mid + 1;
      else hi = mid;
    }
    return this.samples.slice(lo);
  }

  /** Prometheus text exposition format 0.0.4. */
  prometheus(): string {
    const lines: string[] = [
      '# HELP mcpcp_calls_total Calls through the gateway by server, tool and outcome.',
      '# TYPE mcpcp_calls_total counter',
    ];
    const all = [...this.series.values()].sort((a, b) => a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool));
    for (const s of all) {
      for (const [outcome, n] of [...s.counts].sort()) lines.push(`mcpcp_calls_total{server="${esc(s.server)}",tool="${esc(s.tool)}",outcome="${outcome}"} ${n}`);
    }
    lines.push('# HELP mcpcp_call_duration_seconds Latency of calls through the gateway.', '# TYPE mcpcp_call_duration_seconds histogram');
    for (const s of all) {
      const labels = `server="${esc(s.server)}",tool="${esc(s.tool)}"`;
      LATENCY_BUCKETS.forEach((le, i) => lines.push(`mcpcp_call_duration_seconds_bucket{${labels},le="${le}"} ${s.buckets[i]}`));
      lines.push(`mcpcp_call_duration_seconds_bucket{${labels},le="+Inf"} ${s.count}`);
      lines.push(`mcpcp_call_duration_seconds_sum{${labels}} ${s.sum}`);
      lines.push(`mcpcp_call_duration_seconds_count{${labels}} ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function esc(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The p-th percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
