import { OUTCOME_CLASS, type CallOutcome } from '../outcome';
import type { ServerStateKind, ServerStatus } from '../supervisor/state';

export type { CallOutcome };

/** Every server state, so that `mcp_server_state` has a 0 or 1 series for each. */
export const SERVER_STATES: readonly ServerStateKind[] = ['starting', 'running', 'unhealthy', 'restarting', 'crash-looping', 'stopped', 'failed'];

/** How a human's approval wait ended. */
export type ApprovalWaitResult = 'approved' | 'rejected' | 'expired' | 'caller-disconnected' | 'denied' | 'stopped';

/** Buckets of the approval wait histogram in seconds: humans take seconds to minutes. */
export const APPROVAL_WAIT_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] as const;

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
  /** The tool's latency, approval wait excluded; absent for a call refused before the server. */
  durationMs?: number;
  outcome: CallOutcome;
}

interface WaitSeries {
  server: string;
  tool: string;
  result: ApprovalWaitResult;
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Call counters and latency histograms per server and tool, the approval wait histogram and the
 * servers' state gauges, rendered as Prometheus text, plus a bounded window of recent samples for
 * percentiles over a chosen period (the dashboard). Both read the same records, so they agree.
 */
export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly waits = new Map<string, WaitSeries>();
  private readonly samples: CallSample[] = [];
  private servers: () => readonly ServerStatus[] = () => [];

  constructor(private readonly maxSamples = 50_000) {}

  /** Where `mcp_server_up`, `mcp_server_state` and `mcp_server_restarts_total` come from. */
  setServerSource(source: () => readonly ServerStatus[]): void {
    this.servers = source;
  }

  /**
   * One call and how it ended. `durationMs` is the time in the gateway and the server, approval
   * wait excluded; `undefined` for a call refused before it reached the server (no latency).
   */
  record(server: string, tool: string, durationMs: number | undefined, outcome: CallOutcome, at = Date.now()): void {
    const key = `${server}\u0000${tool}`;
    let s = this.series.get(key);
    if (!s) {
      s = { server, tool, counts: new Map(), buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    s.counts.set(outcome, (s.counts.get(outcome) ?? 0) + 1);
    if (durationMs !== undefined) {
      const seconds = durationMs / 1000;
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) s.buckets[i]!++;
      s.sum += seconds;
      s.count++;
    }
    this.samples.push({ at, server, tool, ...(durationMs !== undefined ? { durationMs } : {}), outcome });
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  /** How long a human took to decide on a call that needed approval. */
  recordApprovalWait(server: string, tool: string, waitMs: number, result: ApprovalWaitResult): void {
    const key = `${server}\u0000${tool}\u0000${result}`;
    let w = this.waits.get(key);
    if (!w) {
      w = { server, tool, result, buckets: APPROVAL_WAIT_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.waits.set(key, w);
    }
    const seconds = waitMs / 1000;
    for (let i = 0; i < APPROVAL_WAIT_BUCKETS.length; i++) if (seconds <= APPROVAL_WAIT_BUCKETS[i]!) w.buckets[i]!++;
    w.sum += seconds;
    w.count++;
  }

  /** Calls recorded since start, by outcome (what `mcpcp_calls_total` sums to). */
  totals(): Record<CallOutcome, number> {
    const out = Object.fromEntries(Object.keys(OUTCOME_CLASS).map((o) => [o, 0])) as Record<CallOutcome, number>;
    for (const s of this.series.values()) for (const [o, n] of s.counts) out[o] += n;
    return out;
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
      '# HELP mcp_server_up 1 when the server answers requests (running or unhealthy), else 0.',
      '# TYPE mcp_server_up gauge',
    ];
    const servers = [...this.servers()].sort((a, b) => a.name.localeCompare(b.name));
    for (const s of servers) lines.push(`mcp_server_up{server="${esc(s.name)}"} ${s.state.kind === 'running' || s.state.kind === 'unhealthy' ? 1 : 0}`);
    lines.push('# HELP mcp_server_state 1 for the state the server is in, 0 for the others.', '# TYPE mcp_server_state gauge');
    for (const s of servers) for (const state of SERVER_STATES) lines.push(`mcp_server_state{server="${esc(s.name)}",state="${state}"} ${s.state.kind === state ? 1 : 0}`);
    lines.push('# HELP mcp_server_restarts_total Restarts of the server by the supervisor (crashes, missed pings) since it was configured.', '# TYPE mcp_server_restarts_total counter');
    for (const s of servers) lines.push(`mcp_server_restarts_total{server="${esc(s.name)}"} ${s.restarts}`);
    lines.push(
      '# HELP mcpcp_calls_total Calls through the gateway by server, tool and outcome (denied, rejected and expired are refusals, not errors).',
      '# TYPE mcpcp_calls_total counter',
    );
    const all = [...this.series.values()].sort((a, b) => a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool));
    for (const s of all) {
      for (const [outcome, n] of [...s.counts].sort()) lines.push(`mcpcp_calls_total{server="${esc(s.server)}",tool="${esc(s.tool)}",outcome="${outcome}"} ${n}`);
    }
    lines.push(
      '# HELP mcpcp_call_duration_seconds Latency of calls forwarded to a server, without the approval wait (see mcpcp_approval_wait_seconds).',
      '# TYPE mcpcp_call_duration_seconds histogram',
    );
    for (const s of all) {
      const labels = `server="${esc(s.server)}",tool="${esc(s.tool)}"`;
      LATENCY_BUCKETS.forEach((le, i) => lines.push(`mcpcp_call_duration_seconds_bucket{${labels},le="${le}"} ${s.buckets[i]}`));
      lines.push(`mcpcp_call_duration_seconds_bucket{${labels},le="+Inf"} ${s.count}`);
      lines.push(`mcpcp_call_duration_seconds_sum{${labels}} ${s.sum}`);
      lines.push(`mcpcp_call_duration_seconds_count{${labels}} ${s.count}`);
    }
    lines.push('# HELP mcpcp_approval_wait_seconds Time a call waited for a human decision, by how the wait ended.', '# TYPE mcpcp_approval_wait_seconds histogram');
    const waits = [...this.waits.values()].sort((a, b) => a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool) || a.result.localeCompare(b.result));
    for (const w of waits) {
      const labels = `server="${esc(w.server)}",tool="${esc(w.tool)}",result="${w.result}"`;
      APPROVAL_WAIT_BUCKETS.forEach((le, i) => lines.push(`mcpcp_approval_wait_seconds_bucket{${labels},le="${le}"} ${w.buckets[i]}`));
      lines.push(`mcpcp_approval_wait_seconds_bucket{${labels},le="+Inf"} ${w.count}`);
      lines.push(`mcpcp_approval_wait_seconds_sum{${labels}} ${w.sum}`);
      lines.push(`mcpcp_approval_wait_seconds_count{${labels}} ${w.count}`);
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
