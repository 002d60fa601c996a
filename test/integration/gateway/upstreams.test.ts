// Third-party servers that are not children: Streamable HTTP and SSE-only upstreams connected by
// the control plane itself (an SSE-only one offered as Streamable HTTP, no bridge process), with
// headers from the secret store, health pings and reconnection; plus per-server tool filters,
// timeouts and env files for stdio servers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { configSchema, type ConfigInput } from '../../../src/core/config/schema';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, firstText, fixtureScript, waitFor } from '../../helpers/fixture-plane';

const TOKEN = 'upstream-token-0123456789';

/** A small third-party MCP server with two tools. */
function buildServer(label: string): McpServer {
  const server = new McpServer({ name: `remote-${label}`, version: '3.0.0' });
  server.registerTool('whoami', { description: 'Says which upstream answered.', inputSchema: {}, annotations: { readOnlyHint: true } }, async () => ({ content: [{ type: 'text', text: label }] }));
  server.registerTool('purge', { description: 'Unannotated write.', inputSchema: { what: z.string() } }, async ({ what }) => ({ content: [{ type: 'text', text: `purged ${what}` }] }));
  return server;
}

/** A real HTTP server on loopback speaking Streamable HTTP or only the old HTTP+SSE transport. */
async function startUpstream(kind: 'streamable' | 'sse-only', port = 0): Promise<{ http: HttpServer; url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      requests.push(`${req.method} ${req.url} auth=${req.headers.authorization === `Bearer ${TOKEN}` ? 'ok' : 'missing'}`);
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401).end();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      if (kind === 'sse-only') {
        if (req.method === 'GET' && url.pathname === '/mcp') {
          const transport = new SSEServerTransport('/messages', res);
          sse.set(transport.sessionId, transport);
          await buildServer('sse').connect(transport);
          return;
        }
        if (req.method === 'POST' && url.pathname === '/messages') {
          await sse.get(url.searchParams.get('sessionId') ?? '')?.handlePostMessage(req, res);
          return;
        }
        res.writeHead(405).end(); // what an SSE-only server answers to a Streamable HTTP POST
        return;
      }
      const id = req.headers['mcp-session-id'];
      let transport = typeof id === 'string' ? streamable.get(id) : undefined;
      if (!transport) {
        transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void streamable.set(sid, transport!) });
        await buildServer('streamable').connect(transport);
      }
      await transport.handleRequest(req, res);
    })();
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const actual = (http.address() as AddressInfo).port;
  return {
    http,
    url: `http://127.0.0.1:${actual}/mcp`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

async function startPlaneWith(servers: ConfigInput['servers'], stateDir: string, supervisor: ConfigInput['supervisor'] = {}): Promise<ControlPlane> {
  const secrets = new FileSecretStore(stateDir, {});
  await secrets.set('upstream-token', TOKEN);
  return ControlPlane.start({
    config: configSchema.parse({ servers: { git: { enabled: false }, ...servers }, supervisor }),
    host: {
      serversDir: join(REPO_ROOT, 'dist/servers'),
      nodePath: process.execPath,
      runAsNode: false,
      env: { PATH: process.env['PATH'] ?? '' },
      secrets,
      workspaceTrusted: true,
      defaultCwd: stateDir,
      rootPaths: [stateDir],
      stateDir,
    },
    roots: () => [],
    stateDir,
    instancePrefix: 'upstreams',
    policyLayer: 'user',
  });
}

async function connect(plane: ControlPlane, server: string): Promise<Client> {
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url(server)), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
  return client;
}

describe('upstream servers over HTTP and SSE, tool filters, timeouts, env files', () => {
  it('connects Streamable HTTP and SSE-only upstreams with headers from the secret store; third-party writes need approval', async () => {
    const streamable = await startUpstream('streamable');
    const sseOnly = await startUpstream('sse-only');
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-up-'));
    const headers = { Authorization: 'Bearer ${secret:upstream-token}' };
    const plane = await startPlaneWith({ docs: { url: streamable.url, headers }, billing: { url: sseOnly.url, headers } }, stateDir);
    try {
      for (const name of ['docs', 'billing']) await plane.supervisor.get(name)!.waitUntilServing(10_000);
      assert.equal(plane.supervisor.get('docs')!.status.state.kind, 'running');
      const docsState = plane.supervisor.get('docs')!.status.state;
      assert.ok(docsState.kind === 'running' && docsState.pid === undefined, 'an upstream has no pid');
      const billingLog = plane.supervisor.get('billing')!.log.recent().map((l) => l.text);
      assert.ok(billingLog.some((l) => /SSE, after streamable HTTP was refused with HTTP 405/.test(l)), `fell back to SSE: ${billingLog.join(' | ')}`);
      assert.ok(!JSON.stringify(plane.supervisor.get('billing')!.log.recent()).includes(TOKEN), 'no token in the log');

      const docs = await connect(plane, 'docs');
      assert.equal(firstText(await docs.callTool({ name: 'whoami', arguments: {} })), 'streamable');
      const billing = await connect(plane, 'billing');
      assert.equal(docs.getServerVersion()?.name, 'remote-streamable');
      assert.equal(billing.getServerVersion()?.name, 'remote-sse');
      assert.equal(firstText(await billing.callTool({ name: 'whoami', arguments: {} })), 'sse', 'an SSE-only server offered as Streamable HTTP');

      // Unannotated third-party tool: approval by default, and no preview is trusted.
      const purge = billing.callTool({ name: 'purge', arguments: { what: 'invoices' } });
      await waitFor(() => plane.oversight.store.list().length === 1, 10_000, 'approval');
      const approval = plane.oversight.store.list()[0]!;
      assert.equal(approval.rule?.id, 'third-party-unannotated');
      await plane.oversight.decide({ approvalId: approval.id, digest: approval.digest, approve: true }, { kind: 'vscode-ui' });
      assert.equal(firstText(await purge), 'purged invoices');
      assert.ok(sseOnly.requests.every((r) => r.endsWith('auth=ok')));
      await docs.close();
      await billing.close();
    } finally {
      await plane.stop();
      await streamable.close();
      await sseOnly.close();
    }
  });

  it('an upstream that goes away is noticed by its health pings and reconnected when it is back', async () => {
    const upstream = await startUpstream('streamable');
    const port = Number(new URL(upstream.url).port);
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-up-'));
    const plane = await startPlaneWith({ docs: { url: upstream.url, headers: { Authorization: 'Bearer ${secret:upstream-token}' } } }, stateDir, {
      healthIntervalMs: 150,
      pingTimeoutMs: 200,
      missedPingsBeforeRestart: 2,
      backoffBaseMs: 50,
      backoffCapMs: 200,
      crashLoopThreshold: 50,
    });
    let again: Awaited<ReturnType<typeof startUpstream>> | undefined;
    try {
      const managed = plane.supervisor.get('docs')!;
      await managed.waitUntilServing(10_000);
      await upstream.close();
      await waitFor(() => managed.status.restarts >= 1, 10_000, 'the loss noticed');
      assert.match(managed.status.lastError ?? '', /unresponsive|handshake failed|connection closed/);
      again = await startUpstream('streamable', port);
      await waitFor(() => managed.status.state.kind === 'running', 15_000, 'reconnected');

      const client = await connect(plane, 'docs');
      assert.equal(firstText(await client.callTool({ name: 'whoami', arguments: {} })), 'streamable');
      await client.close();
    } finally {
      await plane.stop();
      await again?.close();
    }
  });

  it('applies tool filters at the gateway, per-server timeouts, and env files with secret references', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-up-'));
    const envFile = join(stateDir, 'fixture.env');
    writeFileSync(envFile, '# comment\nexport FROM_FILE="a b"\nTOKEN_FROM_FILE=${secret:upstream-token}\n');
    const plane = await startPlaneWith(
      {
        fx: {
          command: process.execPath,
          args: [fixtureScript('well-behaved')],
          envFile,
          timeoutMs: 1_000,
          tools: { include: ['echo', 'slow', 'env', 'delete_*'], exclude: ['delete_*'] },
        },
      },
      stateDir,
    );
    try {
      await plane.supervisor.get('fx')!.waitUntilServing(10_000);
      assert.equal(plane.supervisor.get('fx')!.status.toolCount, 3);
      const client = await connect(plane, 'fx');
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['echo', 'env', 'slow']);
      const hidden = await client.callTool({ name: 'delete_thing', arguments: { name: 'x' } });
      assert.equal(hidden.isError, true);
      assert.match(firstText(hidden), /Tool "delete_thing" is turned off on server "fx" by the control plane's tool filter/);
      assert.ok(firstText(await client.callTool({ name: 'env', arguments: {} })).split(',').includes('TOKEN_FROM_FILE'));
      const slow = await client.callTool({ name: 'slow', arguments: { ms: 5_000, steps: 1 } });
      assert.equal(slow.isError, true);
      assert.match(firstText(slow), /did not answer within 1000 ms/);
      await client.close();
    } finally {
      await plane.stop();
    }
  });
});
