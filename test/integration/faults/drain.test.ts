// SIGTERM to a real `mcpcp serve` with 50 calls in flight: every call is answered (its result, or
// a JSON-RPC error naming the stop after the drain timeout), and the audit says so.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { REPO_ROOT, fixtureScript, waitFor } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const CALLS = 50;

interface Run {
  answered: number;
  results: number;
  stopErrors: number;
  otherErrors: string[];
  /** From SIGTERM to the last answer (ms). */
  lastAnswerMs: number;
  exitCode: number | null;
  exitMs: number;
  audit: Array<{ type: string; tool?: string; outcome?: string; error?: string }>;
  stderr: string;
}

async function sigtermWithCallsInFlight(opts: { slowMs: number; drainTimeoutMs?: number; clientTimeoutMs: number }): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-drain-'));
  const dataDir = join(dir, 'data');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      'gateway:',
      '  maxConcurrentPerSession: 64',
      ...(opts.drainTimeoutMs !== undefined ? [`  drainTimeoutMs: ${opts.drainTimeoutMs}`] : []),
      'servers:',
      '  git: { enabled: false }',
      '  fx:',
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: [${JSON.stringify(fixtureScript('well-behaved'))}]`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', dataDir, '--print-client-config'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      void exited.then((code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
    });
    const fx = (JSON.parse(line) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['fx']!;
    const client = new Client({ name: 'drain-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
    let signalledAt = 0;
    const answers: number[] = [];
    // Every call reports progress from the server once it runs there: the stop comes when all 50 do.
    const running = new Set<number>();
    const calls = Array.from({ length: CALLS }, (_, i) =>
      client.callTool({ name: 'slow', arguments: { ms: opts.slowMs, steps: Math.max(1, Math.round(opts.slowMs / 500)) } }, undefined, { timeout: opts.clientTimeoutMs, onprogress: () => void running.add(i) }).then(
        (r) => {
          answers.push(Date.now());
          return { ok: true as const, isError: r.isError === true, text: JSON.stringify(r.content) };
        },
        (err: Error & { code?: number }) => {
          // The SDK's own timeout (-32001) means no answer came.
          if (err.code !== -32001) answers.push(Date.now());
          return { ok: false as const, code: err.code, text: err.message };
        },
      ),
    );
    await waitFor(() => running.size === CALLS, 15_000, 'all 50 calls running in the server');
    signalledAt = Date.now();
    child.kill('SIGTERM');
    const outcomes = await Promise.all(calls);
    const exitCode = await exited;
    const exitMs = Date.now() - signalledAt;
    await client.close().catch(() => undefined);
    const auditDir = join(dataDir, 'audit');
    const audit = readdirSync(auditDir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(auditDir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as Run['audit'][number]);
    const stopErrors = outcomes.filter((o) => !o.ok && /control plane (is )?stop/i.test(o.text)).length;
    return {
      answered: answers.length,
      results: outcomes.filter((o) => o.ok && !o.isError).length,
      stopErrors,
      otherErrors: outcomes.filter((o) => (o.ok && o.isError) || (!o.ok && !/control plane (is )?stop/i.test(o.text))).map((o) => o.text),
      lastAnswerMs: answers.length > 0 ? Math.max(...answers) - signalledAt : -1,
      exitCode,
      exitMs,
      audit,
      stderr,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('stopping drains (SIGTERM to mcpcp serve)', () => {
  it('50 calls in flight that finish within the drain time all get their result; the audit records them completed', async (t) => {
    const run = await sigtermWithCallsInFlight({ slowMs: 2_000, clientTimeoutMs: 20_000 });
    t.diagnostic(`calls answered ${run.answered}/${CALLS} (results ${run.results}), last answer ${run.lastAnswerMs} ms after SIGTERM, exit ${run.exitCode} after ${run.exitMs} ms`);
    assert.equal(run.answered, CALLS, run.stderr);
    assert.equal(run.results, CALLS, run.otherErrors.join('\n'));
    assert.equal(run.exitCode, 0);
    // Within the drain time (10 s by default): they were not cut short.
    assert.ok(run.lastAnswerMs < 10_000, `last answer after ${run.lastAnswerMs} ms`);
    const completed = run.audit.filter((r) => r.type === 'call.completed' && r.tool === 'slow');
    assert.equal(completed.length, CALLS);
    assert.ok(completed.every((r) => r.outcome === 'ok'));
    assert.deepEqual(run.audit.filter((r) => r.type === 'call.failed'), []);
  });

  it('50 calls that outlast the drain time get a JSON-RPC error naming the stop when it ends; audited as stopped', async (t) => {
    const run = await sigtermWithCallsInFlight({ slowMs: 60_000, drainTimeoutMs: 1_000, clientTimeoutMs: 20_000 });
    t.diagnostic(`calls answered ${run.answered}/${CALLS} (stop errors ${run.stopErrors}), last answer ${run.lastAnswerMs} ms after SIGTERM, exit ${run.exitCode} after ${run.exitMs} ms`);
    assert.equal(run.answered, CALLS, run.stderr);
    assert.equal(run.stopErrors, CALLS, run.otherErrors.join('\n'));
    // When the 1 s drain ends, not at the client's 20 s timeout.
    assert.ok(run.lastAnswerMs >= 900 && run.lastAnswerMs < 4_000, `answered ${run.lastAnswerMs} ms after SIGTERM`);
    assert.equal(run.exitCode, 0);
    const failed = run.audit.filter((r) => r.type === 'call.failed' && r.tool === 'slow');
    assert.equal(failed.length, CALLS);
    assert.ok(failed.every((r) => r.outcome === 'stopped'), JSON.stringify(failed[0]));
    assert.match(failed[0]!.error!, /control plane stopped \(SIGTERM\)/);
  });
});


