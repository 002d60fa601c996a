// X-Forwarded-For/-Host/-Proto change what the gateway believes only when they come from a
// configured proxy. Witnesses: the Host decision (403 or not) and the client address the gateway logs.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

/** A raw request (fetch cannot set Host). */
async function send(base: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(`${base}/mcp/fx`);
  return await new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

describe('X-Forwarded-* is honoured only from team.trustedProxies', () => {
  const planes: TeamPlane[] = [];
  after(async () => {
    for (const p of planes) await p.stop();
  });

  it('from a peer that is not a trusted proxy the headers are ignored: Host decides, the logged address is the peer', async () => {
    const log: string[] = [];
    const t = await startTeamPlane({ team: { publicUrl: 'https://mcp.example.com', trustedProxies: ['10.0.0.0/8'] }, log });
    planes.push(t);
    // The attacker names the public host only in X-Forwarded-Host: refused on its real Host.
    assert.equal(await send(t.base, { host: 'evil.example.com', 'x-forwarded-host': 'mcp.example.com', 'x-forwarded-for': '203.0.113.9' }), 403);
    // A real public Host passes the Host check (and then needs a credential); the forged client address is not believed.
    assert.equal(await send(t.base, { host: 'mcp.example.com', 'x-forwarded-for': '203.0.113.9' }), 401);
    const lines = log.filter((l) => l.startsWith('refused'));
    assert.ok(lines.some((l) => /refused Host "evil\.example\.com" from 127\.0\.0\.1$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /refused POST \/mcp\/fx from 127\.0\.0\.1:/.test(l)), lines.join('\n'));
    assert.equal(lines.some((l) => l.includes('203.0.113.9')), false, 'the forged address is never logged as the client');
  });

  it('from a trusted proxy they are applied: X-Forwarded-Host decides the Host check, X-Forwarded-For the client address', async () => {
    const log: string[] = [];
    const t = await startTeamPlane({ team: { publicUrl: 'https://mcp.example.com', trustedProxies: ['127.0.0.1'] }, log });
    planes.push(t);
    // The ingress connects with its own Host; the client asked for the public name.
    assert.equal(await send(t.base, { host: 'mcp-internal:8080', 'x-forwarded-host': 'mcp.example.com', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' }), 401);
    // A client behind the proxy asking for another name is refused, and logged with its own address.
    assert.equal(await send(t.base, { host: 'mcp.example.com', 'x-forwarded-host': 'evil.example.com', 'x-forwarded-for': '198.51.100.7' }), 403);
    // A spoofed left-most X-Forwarded-For entry is skipped: the address the proxy itself saw counts.
    assert.equal(await send(t.base, { host: 'mcp.example.com', 'x-forwarded-for': '1.2.3.4, 192.0.2.55' }), 401);
    const lines = log.filter((l) => l.startsWith('refused'));
    assert.ok(lines.some((l) => /refused POST \/mcp\/fx from 203\.0\.113\.9:/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /refused Host "evil\.example\.com" from 198\.51\.100\.7$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /refused POST \/mcp\/fx from 192\.0\.2\.55:/.test(l)), lines.join('\n'));
    assert.equal(lines.some((l) => l.includes('1.2.3.4')), false);
  });
});
