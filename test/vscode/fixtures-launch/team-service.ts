// Runs a team control plane for the real-VS-Code suite, as its own process:
//   node --import tsx test/vscode/fixtures-launch/team-service.ts
// A real PostgreSQL (test/helpers/postgres.ts), the local OIDC issuer (test/fixtures/oidc-issuer),
// and the built CLI's `mcpcp serve` in team mode (plain HTTP on loopback, API keys and /ui sessions
// in PostgreSQL) serving the fixture server `fx`. API keys are made with `mcpcp team api-key create`.
// The issuer also has the public client for VS Code's own OIDC sign-in (team.oidc.nativeClientId).
// Prints one JSON line `{"url","issuer","nativeClientId","accessTokenSeconds","keys":{operator,approver,viewer},"users","oidcClient":{id,secret},"dataDir","configFile"}` once
// serving, and exits (stopping serve, the issuer and PostgreSQL) when stdin closes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OidcIssuer } from '../../fixtures/oidc-issuer/issuer';
import { fixtureScript, REPO_ROOT } from '../../helpers/fixture-plane';
import { NATIVE_CLIENT_ID } from '../../helpers/native-sign-in';
import { startPostgres } from '../../helpers/postgres';
import { AUDIENCE, CLIENT_ID, CLIENT_SECRET, USERS } from '../../helpers/team-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const ACCESS_TOKEN_SECONDS = 80;

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function cli(args: string[], input?: string): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir() } });
  if (r.status !== 0) throw new Error(`mcpcp ${args.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-vscode-team-'));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'config.yaml');
  const pg = await startPostgres();
  let issuer: OidcIssuer | undefined;
  let child: ChildProcess | undefined;
  let stopping: Promise<void> | undefined;
  // Everything in parallel (PostgreSQL's fast shutdown ends serve's connections): the harness
  // allows 3 s after closing stdin before it signals.
  const stop = (code: number): Promise<void> =>
    (stopping ??= (async () => {
      const serve = child;
      await Promise.allSettled([
        serve && serve.exitCode === null ? new Promise((resolve) => { serve.once('exit', resolve); serve.kill('SIGTERM'); }) : undefined,
        issuer?.close(),
        pg.stop(),
      ]);
      rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    })());
  process.stdin.on('end', () => void stop(0));
  process.stdin.on('close', () => void stop(0));
  process.stdin.resume();
  process.on('SIGTERM', () => void stop(0));
  try {
    issuer = await OidcIssuer.start({ audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, users: USERS, nativeClientId: NATIVE_CLIENT_ID });
    // Short-lived access tokens (and no clock skew at the service, below): the OIDC spec sees VS
    // Code's token renewed and used after the first one expired. 80 s: the client renews a token
    // within 40 s of its end (half its lifetime) at its 15-s reads of the service, so at the third
    // read (45 s after the sign-in), which leaves the spec's first tool call alone.
    issuer.accessTokenSeconds = ACCESS_TOKEN_SECONDS;
    await serve(dir, dataDir, configFile, pg.url, issuer, (c) => (child = c));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stop(1);
  }
}

/** Writes the configuration and secrets, starts `mcpcp serve`, makes the API keys, prints the JSON line. */
async function serve(dir: string, dataDir: string, configFile: string, pgUrl: string, issuer: OidcIssuer, spawned: (child: ChildProcess) => void): Promise<void> {
  const port = await freePort();
  cli(['secrets', 'set', 'oidc-client', '--data-dir', dataDir], CLIENT_SECRET);
  cli(['secrets', 'set', 'pg-url', '--data-dir', dataDir], pgUrl);
  writeFileSync(
    configFile,
    [
      'roots: ["."]',
      `gateway: { port: ${port} }`,
      'servers:',
      '  git: { enabled: false }',
      '  fx:',
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: [${JSON.stringify(fixtureScript('well-behaved'))}]`,
      'policy:',
      '  rules:',
      '    - { id: noop-needs-approval, server: fx, tool: noop, decision: approve }',
      'team:',
      `  publicUrl: http://127.0.0.1:${port}`,
      '  oidc:',
      `    issuer: ${issuer.issuer}`,
      `    audience: ${AUDIENCE}`,
      `    clientId: ${CLIENT_ID}`,
      '    clientSecret: ${secret:oidc-client}',
      `    nativeClientId: ${NATIVE_CLIENT_ID}`,
      '    clockSkewSeconds: 0',
      'storage:',
      '  postgres: { url: "${secret:pg-url}" }',
      '',
    ].join('\n'),
  );
  let stderr = '';
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--data-dir', dataDir], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir() } });
  spawned(child);
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    process.stderr.write(c);
  });
  const deadline = Date.now() + 30_000;
  while (!/gateway on http:\/\/127\.0\.0\.1/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`mcpcp serve exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`mcpcp serve did not start within 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const key = (owner: string, roles: string): string => (JSON.parse(cli(['team', 'api-key', 'create', '--owner', owner, '--roles', roles, '--expires', '1d', '--json', '--config', configFile, '--data-dir', dataDir])) as { key: string }).key;
  const keys = { operator: key('alice@example.com', 'operator'), approver: key('bob@example.com', 'approver,operator'), viewer: key('vera@example.com', 'viewer') };
  // oidcClient: a suite gets a person's access token from the issuer as the service would (code + PKCE).
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, issuer: issuer.issuer, nativeClientId: NATIVE_CLIENT_ID, accessTokenSeconds: ACCESS_TOKEN_SECONDS, keys, users: USERS, oidcClient: { id: CLIENT_ID, secret: CLIENT_SECRET }, dataDir, configFile })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
