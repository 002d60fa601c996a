// Audit log throughput: how many records per second the hash-chained, redacted, fsync'd log sustains,
// with group commit on and off, against a baseline without fsync.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, newAuditKeyring, verifyAudit, type AuditEvent } from '../../src/core/audit';

const keys = newAuditKeyring();
import { Redactor } from '../../src/core/redact';

interface Config {
  readonly label: string;
  readonly fsync: boolean;
  readonly groupCommit: boolean;
  readonly concurrency: number;
}

interface Result {
  readonly config: Config;
  readonly records: number;
  readonly seconds: number;
  readonly writes: number;
  readonly p50: number;
  readonly p99: number;
  readonly verified: boolean;
}

const DURATION_MS = 2500;

function event(i: number): AuditEvent {
  return {
    type: 'call.completed',
    callId: `call-${i}`,
    kind: 'tool',
    server: 'kubernetes',
    tool: 'pods_list',
    client: { name: 'Visual Studio Code', version: '1.101.0' },
    outcome: 'ok',
    durationMs: 12.5,
    resultBytes: 4096,
    detail: { args: { namespace: 'default', labelSelector: 'app=web', context: 'dev-1' }, note: 'Authorization: Bearer abcdefghijklmnop' },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(config: Config): Promise<Result> {
  const parent = mkdtempSync(join(tmpdir(), 'mcpcp-audit-bench-'));
  // The checkpoint goes next to the audit folder: both inside this run's own directory.
  const dir = join(parent, 'audit');
  try {
    const redactor = new Redactor({ secrets: ['a-known-gateway-token-value'] });
    const log = await AuditLog.open({ dir, instanceId: 'bench', redactor, keys, fsync: config.fsync, groupCommit: config.groupCommit });
    const latencies: number[] = [];
    let n = 0;
    const started = performance.now();
    const deadline = started + DURATION_MS;
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await log.append(event(n++));
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const { records, writes } = log.stats;
    await log.close();
    const verified = (await verifyAudit(dir, { keys })).ok;
    latencies.sort((a, b) => a - b);
    return { config, records, seconds, writes, p50: percentile(latencies, 50), p99: percentile(latencies, 99), verified };
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

export async function run(): Promise<string> {
  const configs: Config[] = [
    { label: 'fsync, group commit, 64 concurrent appenders', fsync: true, groupCommit: true, concurrency: 64 },
    { label: 'fsync, no group commit, 64 concurrent appenders', fsync: true, groupCommit: false, concurrency: 64 },
    { label: 'fsync, group commit, 1 appender at a time', fsync: true, groupCommit: true, concurrency: 1 },
    { label: 'baseline: no fsync, group commit, 64 appenders', fsync: false, groupCommit: true, concurrency: 64 },
  ];
  const results: Result[] = [];
  for (const config of configs) results.push(await measure(config));
  const grouped = results[0];
  const single = results[1];
  const rate = (r: Result): number => r.records / r.seconds;
  const rows = results.map(
    (r) =>
      `| ${r.config.label} | ${Math.round(rate(r)).toLocaleString('en-US')} | ${Math.round(r.writes / r.seconds).toLocaleString('en-US')} | ${(r.records / Math.max(1, r.writes)).toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.verified ? 'yes' : '**no**'} |`,
  );
  const ratio = grouped !== undefined && single !== undefined ? (rate(grouped) / rate(single)).toFixed(1) : '?';
  return [
    '## Audit log',
    '',
    `Sustained appends through \`AuditLog\` (redaction, canonical JSON, HMAC-SHA256 chain, write, fdatasync; checkpoint at most once a second) for ${DURATION_MS / 1000} s each, ` +
      'on the temp directory\'s file system; ~450-byte records. "Writes/s" counts write+fdatasync pairs; a record is acknowledged only after its fdatasync. ' +
      `Group commit is ${ratio}× the throughput of one fsync per record at 64 concurrent appenders.`,
    '',
    '| Configuration | Records/s | Writes (fsyncs)/s | Records per write | p50 append ms | p99 append ms | Chain verifies |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}
