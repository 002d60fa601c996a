// Honest metrics through a real `mcpcp serve`: the tool's latency leaves out the human's approval
// wait (its own histogram), rejections are refusals and not errors, the servers' up/state gauges
// and restart counters are on /metrics, and the dashboard's counts equal /metrics'.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalView, DashboardState } from '../../../src/protocol/ui';
import { REPO_ROOT, connectClient, firstText, fixtureScript, startPlane, waitFor } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const HOLD_MS = 1_500;

/** The value of one Prometheus sample, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || l.startsWith(`${name}{${labels},`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function sumOf(text: string, name: string, filter: (labels: string) => boolean = () => true): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m && filter(m[1]!)) total += Number(m[2]);
  }
  return total;
}

describe('metrics (/metrics and the dashboard)', () => {
  it('latency without approval wait, refusals apart from errors, server up/state/restarts, and the dashboard agrees with /metrics', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-metrics-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    const entry = (name: string, fixture: string, extra = ''): string => `  ${name}: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript(fixture))}]${extra} }`;
    writeFileSync(
      config,
      [
        'policy:',
        '  rules:',
        '    - { server: fx, tool: noop, decision: deny, reason: "not here" }',
        '    - { server: fx, tool: crash, decision: allow }',
        'servers:',
        '  git: { enabled: false }',
        entry('fx', 'well-behaved'),
        entry('broken', 'exit-at-start', ', retries: 1'),
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', dataDir, '--print-client-config'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
      });
      const fx = (JSON.parse(line) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['fx']!;
      const base = new URL(fx.url).origin;
      const credential = spawnSync(process.execPath, [CLI, 'approver-credential', 'rotate', '--data-dir', dataDir], { encoding: 'utf8' }).stdout.trim();
      const approverHeaders = { 'x-approver-credential': credential, 'content-type': 'application/json' };
      const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`, { headers: fx.headers })).text();

      const client = new Client({ name: 'metrics-test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
      for (let i = 0; i < 5; i++) assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: `e${i}` } })), `e${i}`);
      assert.equal(((await client.callTool({ name: 'noop', arguments: {} })) as CallToolResult).isError, true);

      // Two calls wait for a human for HOLD_MS each: one rejected, one approved.
      const decide = async (approve: boolean): Promise<CallToolResult> => {
        const call = client.callTool({ name: 'delete_thing', arguments: { name: approve ? 'yes' : 'no' } }) as Promise<CallToolResult>;
        let pending: ApprovalView | undefined;
        await waitFor(async () => {
          const list = (await (await fetch(`${base}/ui/api/approvals`, { headers: approverHeaders })).json()) as { approvals: ApprovalView[] };
          pending = list.approvals[0];
          return pending !== undefined;
        }, 10_000, 'the approval');
        await new Promise((r) => setTimeout(r, HOLD_MS));
        const res = await fetch(`${base}/ui/api/approvals/${pending!.id}`, { method: 'POST', headers: approverHeaders, body: JSON.stringify({ approve, digest: pending!.digest }) });
        assert.equal(res.status, 200, await res.clone().text());
        return call;
      };
      assert.equal((await decide(false)).isError, true);
      assert.equal(firstText(await decide(true)), 'deleted yes; deleted so far: yes');

      // A crash mid-call: an error, and a restart.
      assert.equal(((await client.callTool({ name: 'crash', arguments: { afterMs: 10 } })) as CallToolResult).isError, true);
      await waitFor(async () => sample(await metrics(), 'mcp_server_restarts_total', 'server="fx"') === 1 && sample(await metrics(), 'mcp_server_up', 'server="fx"') === 1, 15_000, 'fx restarted');
      await waitFor(async () => sample(await metrics(), 'mcp_server_state', 'server="broken",state="crash-looping"') === 1, 15_000, 'broken crash-looping');
      await client.close();

      const text = await metrics();
      // Server gauges: one state per server is 1, the others 0.
      assert.equal(sample(text, 'mcp_server_up', 'server="fx"'), 1);
      assert.equal(sample(text, 'mcp_server_up', 'server="broken"'), 0);
      assert.equal(sample(text, 'mcp_server_state', 'server="fx",state="running"'), 1);
      assert.equal(sample(text, 'mcp_server_state', 'server="fx",state="crash-looping"'), 0);
      assert.equal(sumOf(text, 'mcp_server_state', (l) => l.startsWith('server="broken"')), 1);
      assert.match(text, /^# TYPE mcp_server_restarts_total counter$/m);

      // Outcomes from the core enum.
      assert.equal(sample(text, 'mcpcp_calls_total', 'server="fx",tool="echo",outcome="ok"'), 5);
      assert.equal(sample(text, 'mcpcp_calls_total', 'server="fx",tool="noop",outcome="denied"'), 1);
      assert.equal(sample(text, 'mcpcp_calls_total', 'server="fx",tool="delete_thing",outcome="rejected"'), 1);
      assert.equal(sample(text, 'mcpcp_calls_total', 'server="fx",tool="delete_thing",outcome="ok"'), 1);
      assert.equal(sample(text, 'mcpcp_calls_total', 'server="fx",tool="crash",outcome="failed"'), 1);

      // The approved call's latency is the tool's, not the human's: under a second, while it waited HOLD_MS.
      assert.equal(sample(text, 'mcpcp_call_duration_seconds_count', 'server="fx",tool="delete_thing"'), 1, 'the rejected call never ran: no latency');
      assert.equal(sample(text, 'mcpcp_call_duration_seconds_bucket', 'server="fx",tool="delete_thing",le="1"'), 1);
      const toolSeconds = sample(text, 'mcpcp_call_duration_seconds_sum', 'server="fx",tool="delete_thing"')!;
      assert.ok(toolSeconds < HOLD_MS / 1000, `tool latency ${toolSeconds} s`);
      assert.equal(sample(text, 'mcpcp_approval_wait_seconds_count', 'server="fx",tool="delete_thing",result="approved"'), 1);
      assert.equal(sample(text, 'mcpcp_approval_wait_seconds_count', 'server="fx",tool="delete_thing",result="rejected"'), 1);
      const waited = sumOf(text, 'mcpcp_approval_wait_seconds_sum');
      assert.ok(waited >= (2 * HOLD_MS) / 1000, `approval wait ${waited} s`);

      // The dashboard (the /ui backend the webview and the browser read) says the same.
      const res = await fetch(`${base}/ui/api/request`, { method: 'POST', headers: approverHeaders, body: JSON.stringify({ type: 'ready', view: 'dashboard' }) });
      assert.equal(res.status, 200);
      const state = ((await res.json()) as { state: DashboardState }).state;
      const callsTotal = sumOf(text, 'mcpcp_calls_total');
      const errorTotal = sumOf(text, 'mcpcp_calls_total', (l) => /outcome="(tool-error|failed|stopped)"/.test(l));
      const refusedTotal = sumOf(text, 'mcpcp_calls_total', (l) => /outcome="(denied|rejected|expired)"/.test(l));
      assert.equal(state.totals.calls, callsTotal);
      assert.equal(state.totals.errors, errorTotal);
      assert.equal(state.totals.refused, refusedTotal);
      assert.deepEqual([callsTotal, errorTotal, refusedTotal], [9, 1, 2]);
      const del = state.tools.find((x) => x.tool === 'delete_thing')!;
      assert.deepEqual([del.calls, del.errors, del.refused], [2, 0, 1]);
      assert.ok(del.p95Ms < HOLD_MS, `dashboard p95 of delete_thing ${del.p95Ms} ms excludes the ${HOLD_MS} ms wait`);
      for (const s of state.servers) assert.equal(s.state === 'running' ? 1 : 0, sample(text, 'mcp_server_up', `server="${s.name}"`));
      // The audit record's duration (the dashboard's Recent calls) is the tool's time too.
      const completed = spawnSync(process.execPath, [CLI, 'audit', 'query', '--type', 'call.completed', '--tool', 'delete_thing', '--data-dir', dataDir], { encoding: 'utf8' }).stdout.trim().split('\n').map((l) => JSON.parse(l) as { durationMs: number });
      assert.equal(completed.length, 1);
      assert.ok(completed[0]!.durationMs < HOLD_MS, `audited duration ${completed[0]!.durationMs} ms`);
      t.diagnostic(`delete_thing: tool latency ${(toolSeconds * 1000).toFixed(0)} ms, approval wait ${(waited * 1000).toFixed(0)} ms over 2 calls; dashboard p95 ${del.p95Ms} ms`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('an approval nobody decides is counted as expired, a refusal, with its wait', async () => {
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved', builtin: false }], { oversight: { approvals: { expiryMs: 400 } } });
    try {
      const client = await connectClient(plane, 'fx');
      const result = (await client.callTool({ name: 'delete_thing', arguments: { name: 'x' } })) as CallToolResult;
      assert.equal(result.isError, true);
      assert.match(firstText(result), /nobody decided within/);
      const text = plane.gateway.metrics.prometheus();
      assert.equal(sample(text, 'mcpcp_calls_total', 'server="fx",tool="delete_thing",outcome="expired"'), 1);
      assert.equal(sample(text, 'mcpcp_approval_wait_seconds_count', 'server="fx",tool="delete_thing",result="expired"'), 1);
      assert.equal(sample(text, 'mcpcp_call_duration_seconds_count', 'server="fx",tool="delete_thing"'), 0, 'it never ran');
      const state = await plane.oversight!.state(3_600_000);
      assert.deepEqual([state.totals.calls, state.totals.errors, state.totals.refused], [1, 0, 1]);
      await client.close();
    } finally {
      await plane.stop();
    }
  });
});
