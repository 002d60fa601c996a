// A real `mcpcp serve` process in team mode: HTTPS with a self-signed certificate made here,
// API keys created and revoked with `mcpcp team api-key`, OIDC access tokens from the local issuer,
// and the refusals of configurations that would serve plain HTTP beyond loopback.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { OidcIssuer } from '../../fixtures/oidc-issuer/issuer';
import { REPO_ROOT, firstText, fixtureScript, waitFor } from '../../helpers/fixture-plane';
import { AUDIENCE, CLIENT_ID, CLIENT_SECRET, USERS, apiKeySecretPart } from '../../helpers/team-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');

/** The CLI without blocking this process (servers of this test must answer meanwhile); `input` is typed on a terminal (script(1)). */
async function cliAsync(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const argv = [process.execPath, CLI, ...args];
  const options = { env: { ...process.env, HOME: tmpdir(), ...env } };
  const child =
    input === undefined
      ? spawn(argv[0]!, argv.slice(1), options)
      : spawn('script', ['-qec', argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null'], options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin!.end(input ?? '');
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { status, stdout, stderr };
}

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, env: { ...process.env, HOME: tmpdir() } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('mcpcp serve in team mode (real process, HTTPS)', () => {
  let dir: string;
  let dataDir: string;
  let issuer: OidcIssuer;
  let child: ChildProcess;
  let stderr = '';
  let stdout = '';
  let port: number;
  let ca: Buffer;
  let agent: Agent;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcpcp-team-serve-'));
    dataDir = join(dir, 'data');
    issuer = await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, users: USERS });
    // A self-signed certificate for 127.0.0.1, made with the openssl CLI.
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    chmodSync(join(dir, 'key.pem'), 0o600);
    ca = readFileSync(join(dir, 'cert.pem'));
    agent = new Agent({ connect: { ca } });
    port = await freePort();
    const set = cli(['secrets', 'set', 'oidc-client', '--data-dir', dataDir], CLIENT_SECRET);
    assert.equal(set.status, 0, set.stderr);
    writeFileSync(
      join(dir, 'config.yaml'),
      [
        'roots: ["."]',
        `gateway: { port: ${port} }`,
        'servers:',
        '  git: { enabled: false }',
        '  fx:',
        `    command: ${JSON.stringify(process.execPath)}`,
        `    args: [${JSON.stringify(fixtureScript('well-behaved'))}]`,
        'team:',
        `  publicUrl: https://127.0.0.1:${port}`,
        '  tls: { certFile: cert.pem, keyFile: key.pem }',
        '  oidc:',
        `    issuer: ${issuer.issuer}`,
        `    audience: ${AUDIENCE}`,
        `    clientId: ${CLIENT_ID}`,
        '    clientSecret: ${secret:oidc-client}',
        '',
      ].join('\n'),
    );
    child = spawn(process.execPath, [CLI, 'serve', '--config', join(dir, 'config.yaml'), '--data-dir', dataDir, '--print-client-config'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    await waitFor(() => /gateway on https:\/\/127\.0\.0\.1/.test(stderr) || child.exitCode !== null, 30_000, 'serve to start');
    assert.equal(child.exitCode, null, stderr);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await issuer?.close();
    await agent?.close();
  });

  const tlsFetch = ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;

  async function connect(bearer: string): Promise<Client> {
    const client = new Client({ name: 'team-serve-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`https://127.0.0.1:${port}/mcp/fx`), { fetch: tlsFetch, requestInit: { headers: { Authorization: `Bearer ${bearer}` } } }));
    return client;
  }

  async function initStatus(bearer: string): Promise<number> {
    const res = await tlsFetch(`https://127.0.0.1:${port}/mcp/fx`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    await res.text();
    return res.status;
  }

  it('the printed client configuration names the public URL and asks for the client\'s own credential, never the gateway token', async () => {
    await waitFor(() => stdout.includes('\n'), 20_000, 'the client configuration');
    const printed = JSON.parse(stdout.split('\n')[0]!) as { inputs: Array<{ id: string; password: boolean }>; servers: Record<string, { url: string; headers: { Authorization: string } }> };
    assert.equal(printed.servers['fx']!.url, `https://127.0.0.1:${port}/mcp/fx`);
    assert.equal(printed.servers['fx']!.headers.Authorization, 'Bearer ${input:mcpcp-credential}');
    assert.deepEqual(printed.inputs.map((i) => [i.id, i.password]), [['mcpcp-credential', true]]);
  });

  it('serves HTTPS only, with the certificate given; plain HTTP gets no MCP answer', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.text()));
    const res = await tlsFetch(`https://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
    await res.text();
  });

  it('API key lifecycle through the CLI: created (shown once), used, listed with last use, revoked and then refused', async () => {
    const created = cli(['team', 'api-key', 'create', '--owner', 'ci-bot', '--roles', 'operator', '--expires', '30d', '--json', '--data-dir', dataDir]);
    assert.equal(created.status, 0, created.stderr);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    const client = await connect(key);
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'with a key' } })), 'with a key');
    await client.close();
    await waitFor(() => (JSON.parse(cli(['team', 'api-key', 'list', '--json', '--data-dir', dataDir]).stdout) as Array<{ id: string; lastUsedAt?: string }>).find((k) => k.id === id)?.lastUsedAt !== undefined, 5_000, 'last use');
    const listed = cli(['team', 'api-key', 'list', '--data-dir', dataDir]);
    assert.match(listed.stdout, new RegExp(`${id}\\s+ci-bot\\s+\\[operator\\]\\s+active`));
    assert.equal(listed.stdout.includes(key), false, 'the key is never shown again');
    const revoked = cli(['team', 'api-key', 'revoke', id, '--data-dir', dataDir]);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.equal(await initStatus(key), 401);
    assert.match(stderr, new RegExp(`refused POST /mcp/fx from 127\\.0\\.0\\.1: unauthorized: API key ${id} was revoked`));
    assert.equal(stderr.includes(apiKeySecretPart(key)), false, 'the key never reaches the log');
  });

  it('OIDC access tokens: a good one calls tools; expired and wrong-audience ones are refused', async () => {
    const client = await connect(await issuer.accessToken({ sub: 'u-alice', roles: ['operator'] }));
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: 'with a token' } })), 'with a token');
    await client.close();
    assert.equal(await initStatus(await issuer.accessToken({ expiresIn: -3600 })), 401);
    assert.equal(await initStatus(await issuer.accessToken({ audience: 'another-api' })), 401);
  });

  it('/ui offers the OIDC sign-in and refuses the approver credential; the sign-in starts at the issuer with PKCE', async () => {
    const page = await tlsFetch(`https://127.0.0.1:${port}/ui`);
    assert.match(await page.text(), /href="\/ui\/auth\/login"/);
    const cred = await tlsFetch(`https://127.0.0.1:${port}/ui/api/approvals`, { headers: { 'x-approver-credential': 'mcpcp_appr_anything-at-all-here' } });
    assert.equal(cred.status, 403);
    await cred.text();
    const start = await tlsFetch(`https://127.0.0.1:${port}/ui/auth/login`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    const to = new URL(start.headers.get('location')!);
    assert.equal(to.origin, issuer.issuer);
    assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(to.searchParams.get('redirect_uri'), `https://127.0.0.1:${port}/ui/auth/callback`);
    assert.match(start.headers.get('set-cookie') ?? '', /^mcpcp_signin=[^;]+; Path=\/ui; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/);
    await start.text();
  });

  it('local commands on the host reach an instance that serves HTTPS itself, checked against its certificate', async () => {
    const status = await cliAsync(['status', '--data-dir', dataDir]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`gateway https://127\\.0\\.0\\.1:${port}`));
    assert.match(status.stdout, /fx\b.*running/);
    const json = await cliAsync(['status', '--json', '--data-dir', dataDir]);
    assert.equal(json.status, 0, json.stderr);
    assert.ok(json.stdout.includes('"fx"'), json.stdout);
    // A command with the approver credential and a confirmation on a terminal.
    const credential = cli(['approver-credential', 'rotate', '--data-dir', dataDir]).stdout.trim();
    const restart = await cliAsync(['server', 'restart', 'fx', '--data-dir', dataDir], { MCPCP_APPROVER_CREDENTIAL: credential }, 'restart\n');
    assert.equal(restart.status, 0, restart.stdout + restart.stderr);
    assert.match(restart.stdout, /fx/);
  });

  it('an impostor on the port with another certificate hears nothing: the command stops at the TLS check and the approver credential is not sent', async () => {
    // Another process's HTTPS server with its own self-signed certificate for 127.0.0.1, named
    // by an instance record that says the instance's certificate file: what a process that took
    // the port after a restart would look like.
    const other = mkdtempSync(join(tmpdir(), 'mcpcp-impostor-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(other, 'key.pem'), '-out', join(other, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const heard: string[] = [];
    const impostor = createHttpsServer({ key: readFileSync(join(other, 'key.pem')), cert: readFileSync(join(other, 'cert.pem')) }, (req, res) => {
      heard.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"servers":[]}');
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const impostorPort = (impostor.address() as { port: number }).port;
    try {
      // Witness first: the impostor does answer HTTPS, to anyone who trusts its certificate.
      const witness = await undiciFetch(`https://127.0.0.1:${impostorPort}/status`, { dispatcher: new Agent({ connect: { ca: readFileSync(join(other, 'cert.pem')) } }) });
      assert.equal(witness.status, 200);
      await witness.text();
      assert.equal(heard.length, 1);
      heard.length = 0;
      const fakeData = join(other, 'data');
      mkdirSync(join(fakeData, 'instances'), { recursive: true, mode: 0o700 });
      writeFileSync(join(fakeData, 'instances', `${process.pid}.json`), JSON.stringify({ pid: process.pid, port: impostorPort, token: 'not-the-token', startedAt: new Date().toISOString(), cwd: dir, tls: { certFile: join(dir, 'cert.pem'), servername: '127.0.0.1' } }));
      const credential = 'mcpcp_appr_this-must-not-reach-the-impostor';
      const restart = await cliAsync(['server', 'restart', 'fx', '--data-dir', fakeData], { MCPCP_APPROVER_CREDENTIAL: credential }, 'restart\n');
      assert.notEqual(restart.status, 0);
      assert.match(restart.stdout + restart.stderr, /did not present a certificate for 127\.0\.0\.1/);
      const status = await cliAsync(['status', '--data-dir', fakeData]);
      assert.match(status.stdout + status.stderr, /did not present a certificate for 127\.0\.0\.1/);
      assert.deepEqual(heard, [], 'no request reached the impostor');
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('refuses to start beyond loopback without TLS or trusted proxies, naming what to set', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, ['team:', '  publicUrl: https://mcp.example.com', '  listenHost: 0.0.0.0', ''].join('\n'));
    const r = spawnSync(process.execPath, [CLI, 'serve', '--config', bad, '--data-dir', join(dir, 'bad-data')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /team\.listenHost.*needs team\.tls \(certFile, keyFile\), or team\.trustedProxies/s);
    const http = join(dir, 'http.yaml');
    writeFileSync(http, ['team:', '  publicUrl: http://mcp.example.com', ''].join('\n'));
    const r2 = spawnSync(process.execPath, [CLI, 'serve', '--config', http, '--data-dir', join(dir, 'bad-data')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /team\.publicUrl.*must be https:\/\//s);
  });
});
