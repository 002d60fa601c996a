// A call's spans reach a local OTLP/HTTP collector through the gateway and into the built-in git
// server (a real child process), in one trace with the right parents; a client's traceparent is
// continued. Run `npm run build` first (dist/servers/git.js).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { configSchema } from '../../../src/core/config/schema';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, waitFor } from '../../helpers/fixture-plane';
import { cleanup, makeRepo, tempDir } from '../../unit/git/fixture';
import { startReceiver } from '../notify/receiver';
import { startOtlpReceiver, type ReceivedSpan } from './otlp-receiver';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

/** "name (service) <- parent name" lines, indented by depth: the tree a tracing backend shows. */
export function traceTree(spans: ReceivedSpan[]): string {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const lines: string[] = [];
  const walk = (s: ReceivedSpan, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${s.name} [${s.service}]${s.attributes['mcpcp.decision'] ? ` decision=${String(s.attributes['mcpcp.decision'])}` : ''}${s.attributes['mcpcp.outcome'] ? ` outcome=${String(s.attributes['mcpcp.outcome'])}` : ''}`);
    for (const c of spans.filter((x) => x.parentSpanId === s.spanId)) walk(c, depth + 1);
  };
  for (const root of spans.filter((s) => !byId.has(s.parentSpanId))) {
    if (root.parentSpanId) lines.push(`(client span ${root.parentSpanId}, from the request's _meta.traceparent)`);
    walk(root, root.parentSpanId ? 1 : 0);
  }
  return lines.join('\n');
}

describe('OpenTelemetry over OTLP/HTTP', () => {
  it('one trace from the client through the gateway (approval wait, forward) into the git server', async () => {
    assert.ok(existsSync(join(REPO_ROOT, 'dist/servers/git.js')), 'run `npm run build` first');
    const collector = await startOtlpReceiver();
    const teams = await startReceiver();
    const ws = tempDir('mcpcp-otel-ws-');
    const home = tempDir('mcpcp-otel-home-');
    makeRepo(join(ws, 'project'));
    const stateDir = tempDir('mcpcp-otel-state-');
    const secrets = new FileSecretStore(stateDir, {});
    await secrets.set('collector-key', 'otlp-key-0123456789');
    await secrets.set('teams-url', teams.url('/teams'));
    const plane = await ControlPlane.start({
      config: configSchema.parse({
        telemetry: { endpoint: collector.endpoint, exportIntervalMs: 200, headers: { 'x-api-key': '${secret:collector-key}' } },
        notifications: { channels: { ops: { type: 'teams', url: '${secret:teams-url}', events: ['approval.pending'] } } },
        policy: { rules: [{ server: 'git', tool: 'repo_status', decision: 'approve', reason: 'traced approval' }, { server: 'git', tool: 'reflog', decision: 'deny', reason: 'traced denial' }] },
      }),
      host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env: { PATH: process.env['PATH'] ?? '', HOME: home }, secrets, workspaceTrusted: true, defaultCwd: ws, rootPaths: [ws], stateDir },
      roots: () => [{ uri: pathToFileURL(ws).href, name: 'ws' }],
      stateDir,
      instancePrefix: 'otel',
      policyLayer: 'config',
    });
    const client = new Client({ name: 'traced-client', version: '1' });
    try {
      assert.ok(plane.telemetry, 'telemetry started');
      // A human approves each request after a moment (the approval wait is its own span).
      plane.oversight.store.onDidChange((c) => {
        if (c.type === 'requested') setTimeout(() => void plane.oversight.decide({ approvalId: c.approval.id, digest: c.approval.digest, approve: true }, { kind: 'vscode-ui' }).catch(() => undefined), 150);
      });
      await plane.supervisor.get('git')!.waitUntilServing(20_000);
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('git')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      const result = await client.callTool({ name: 'repo_status', arguments: {}, _meta: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      // A second call without a client context starts its own trace.
      await client.callTool({ name: 'log', arguments: {} });

      await waitFor(() => collector.spans.filter((s) => s.traceId === CLIENT_TRACE).length >= 4, 15_000, 'four spans of the traced call');
      await waitFor(() => collector.spans.filter((s) => s.name === 'tools/call log').length >= 2, 15_000, 'spans of the second call');
      const traced = collector.spans.filter((s) => s.traceId === CLIENT_TRACE);
      const one = (name: string, service: string): ReceivedSpan => {
        const found = traced.filter((s) => s.name === name && s.service === service);
        assert.equal(found.length, 1, `${name} [${service}] in ${JSON.stringify(traced.map((s) => [s.name, s.service]))}`);
        return found[0]!;
      };
      const call = one('tools/call repo_status', 'mcp-control-plane');
      const wait = one('approval wait', 'mcp-control-plane');
      const forward = one('forward git', 'mcp-control-plane');
      const server = one('tools/call repo_status', 'mcpcp-git');
      assert.equal(traced.length, 4);
      assert.equal(call.parentSpanId, CLIENT_SPAN, "the client's traceparent is continued");
      assert.equal(wait.parentSpanId, call.spanId);
      assert.equal(forward.parentSpanId, call.spanId);
      assert.equal(server.parentSpanId, forward.spanId, 'the git server continues the trace from _meta.traceparent');
      assert.deepEqual(
        { server: call.attributes['mcpcp.server'], tool: call.attributes['gen_ai.tool.name'], decision: call.attributes['mcpcp.decision'], outcome: call.attributes['mcpcp.outcome'] },
        { server: 'git', tool: 'repo_status', decision: 'approve', outcome: 'ok' },
      );
      assert.equal(wait.attributes['mcpcp.approval.result'], 'approved');
      assert.equal(server.attributes['mcpcp.outcome'], 'ok');

      const second = collector.spans.filter((s) => s.name === 'tools/call log');
      const gw = second.find((s) => s.service === 'mcp-control-plane')!;
      const srv = second.find((s) => s.service === 'mcpcp-git')!;
      assert.equal(gw.parentSpanId, '', 'no client context: a new trace');
      assert.notEqual(gw.traceId, CLIENT_TRACE);
      assert.equal(srv.traceId, gw.traceId);
      assert.equal(collector.spans.find((s) => s.parentSpanId === gw.spanId && s.name === 'forward git')?.spanId, srv.parentSpanId);
      assert.equal(gw.attributes['mcpcp.decision'], 'allow');

      // A denied call is one span with its decision and outcome, and nothing forwarded.
      const denied = await client.callTool({ name: 'reflog', arguments: {} });
      assert.equal(denied.isError, true);
      await waitFor(() => collector.spans.some((s) => s.name === 'tools/call reflog'), 15_000, 'denied span');
      const deniedSpans = collector.spans.filter((s) => s.name === 'tools/call reflog' || (s.name === 'forward git' && s.traceId === collector.spans.find((x) => x.name === 'tools/call reflog')!.traceId));
      assert.deepEqual(deniedSpans.map((s) => [s.name, s.service, s.attributes['mcpcp.decision'], s.attributes['mcpcp.outcome']]), [['tools/call reflog', 'mcp-control-plane', 'deny', 'denied']]);

      await waitFor(() => ['mcpcp.calls', 'mcpcp.call.duration', 'mcpcp.approval.wait.duration', 'mcpcp.server.up', 'mcpcp.notifications.deliveries'].every((n) => collector.metricNames.has(n)), 15_000, 'metrics exported');
      assert.ok(collector.requests.every((r) => r.headers['x-api-key'] === 'otlp-key-0123456789'), 'collector headers from the secret store, gateway and git server alike');
      console.log(`trace tree:\n${traceTree(traced)}\nmetrics: ${[...collector.metricNames].sort().join(', ')}`);
    } finally {
      await client.close().catch(() => undefined);
      await plane.stop();
      await collector.close();
      await teams.close();
      cleanup(ws, home, stateDir);
    }
  });
});
