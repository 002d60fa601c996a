// The gateway's own HTTPS listener (team.tls) with a self-signed certificate made here: MCP over TLS
// with an API key, calls that outlast the unauthenticated-connection timeout are not cut, and a
// connection that never finishes its TLS handshake is closed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { firstText } from '../../helpers/fixture-plane';
import { startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

describe('team.tls: the gateway serves HTTPS itself', () => {
  let t: TeamPlane;
  let agent: Agent;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-tls-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    chmodSync(join(dir, 'key.pem'), 0o600);
    agent = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } });
    t = await startTeamPlane({ tls: { certFile: join(dir, 'key.pem').replace('key.pem', 'cert.pem'), keyFile: join(dir, 'key.pem') }, gateway: { unauthenticatedTimeoutMs: 400 } });
  });
  after(async () => {
    await t?.stop();
    await agent?.close();
  });

  it('a call longer than the unauthenticated-connection timeout completes over TLS', async () => {
    const { key } = await t.keys.create({ owner: 'tls-test', roles: ['operator'] });
    const tlsFetch = ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;
    const client = new Client({ name: 'tls', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(t.mcpUrl().replace('http:', 'https:')), { fetch: tlsFetch, requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
    const slow = await client.callTool({ name: 'slow', arguments: { ms: 1_500, steps: 3 } });
    assert.equal(slow.isError, undefined, JSON.stringify(slow.content));
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'tls' } })), 'tls');
    await client.close();
  });

  it('a connection that never completes its TLS handshake is closed after the unauthenticated timeout', async () => {
    const port = Number(new URL(t.base).port);
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('close', () => resolve(Date.now() - started));
      socket.on('error', () => undefined);
    });
    assert.ok(closedAfter < 5_000, `closed after ${closedAfter} ms`);
  });
});
