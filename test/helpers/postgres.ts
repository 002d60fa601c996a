/**
 * A real PostgreSQL for tests: Debian's server binaries (`/usr/lib/postgresql/<v>/bin`), a fresh
 * cluster in a temp folder, listening on a free 127.0.0.1 port. PostgreSQL refuses to run as root,
 * so as root the harness runs `initdb`/`pg_ctl` through `runuser` as `nobody`. `.ci/run` installs
 * the `postgresql` package; where it is missing, `postgresSkipReason()` says why a suite skips.
 *
 *   const pg = await startPostgres();   // pg.url: postgres://mcpcp:<password>@127.0.0.1:<port>/mcpcp
 *   ...
 *   await pg.stop();
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestPostgres {
  /** Connection URL of the test database (a password-authenticated role over TCP). */
  readonly url: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Stops the server (fast shutdown) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
  /** Restarts the server on the same port and data (connections drop, data stays), down for `downMs` in between. */
  restart(downMs?: number): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  return newest ? path.join(root, newest, 'bin') : undefined;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresSkipReason(): string | undefined {
  if (!binDir()) return 'PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql; .ci/run does)';
  if (process.getuid?.() === 0 && spawnSync('runuser', ['--help']).error) return 'running as root without runuser';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<() => void>();
process.once('exit', () => {
  for (const stop of running) stop();
});

/**
 * `durable`: keep PostgreSQL's defaults (fsync, synchronous_commit, full_page_writes on) instead of
 * the faster crash-unsafe settings tests use; for benchmarks that compare against fsync'd files.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = binDir();
  if (!bin) throw new Error(postgresSkipReason());
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: string[]): void => {
    const cmd = asRoot ? 'runuser' : path.join(bin, program);
    const argv = asRoot ? ['-u', 'nobody', '--', path.join(bin, program), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${program} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).trim().slice(-2000)}`);
  };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpcp-pg-'));
  const data = path.join(dir, 'data');
  const sockets = path.join(dir, 'sock');
  fs.mkdirSync(sockets);
  const user = 'mcpcp';
  const database = 'mcpcp';
  const password = randomBytes(18).toString('base64url');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) execFileSync('chown', ['-R', 'nobody:nogroup', dir]);

  run('initdb', ['-D', data, '-U', user, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
  fs.rmSync(pwfile, { force: true });
  const port = await freePort();
  const log = path.join(dir, 'server.log');
  const start = (): void =>
    run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1${options.durable === true ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off'} -c max_connections=200`, 'start']);
  const stopNow = (): void => {
    spawnSync(asRoot ? 'runuser' : path.join(bin, 'pg_ctl'), [...(asRoot ? ['-u', 'nobody', '--', path.join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'fast', '-w', 'stop'], { timeout: 60_000 });
  };
  start();
  running.add(stopNow);
  // The test database, owned by the test role.
  run('psql', ['-h', sockets, '-p', String(port), '-U', user, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE DATABASE ${database} OWNER ${user}`]);

  let stopped = false;
  return {
    url: `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    user,
    password,
    database,
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(stopNow);
      stopNow();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async restart(downMs = 0) {
      stopNow();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      start();
    },
  };
}
