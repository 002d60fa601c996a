// A real `mcpcp serve` whose data directory is on a 1 MiB tmpfs that fills and frees. Measures what
// an operator meets on a full disk: calls refused, stderr lines while they are, /healthz, /readyz,
// `mcpcp status`, and how long after space is freed calls work again.
// Also runnable on its own against another build (a before/after figure):
//   node --import tsx test/integration/audit/full-disk-measure.ts <path to dist/cli.js>
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fixtureScript } from '../../helpers/fixture-plane';

export interface FullDiskFigures {
  /** Calls made while the disk was full (10 s, 4 clients in parallel) and how many were refused. */
  readonly callsWhileFull: number;
  readonly refusedWhileFull: number;
  /** Lines `mcpcp serve` wrote to stderr during those 10 s. */
  readonly stderrLinesWhileFull: number;
  readonly stderrSample: readonly string[];
  readonly healthzWhileFull: number;
  readonly readyzWhileFull: { status: number; body: string };
  readonly statusWhileFull: string;
  /** Space freed, no calls: ms until /readyz says ready (the interval probe); undefined if never (within the limit). */
  readonly readyAfterFreeMs: number | undefined;
  /** Full again, then freed with calls arriving every 20 ms: ms until a call succeeds; undefined if never. */
  readonly callsResumeAfterFreeMs: number | undefined;
  readonly readyzAfter: number;
  readonly refusalText: string;
  /** `mcpcp audit verify` after the stop: exit code and output. */
  readonly verifyExit: number | null;
  readonly verifyOutput: string;
  readonly dataDir: string;
}

interface Disk {
  readonly dir: string;
  fill(): void;
  free(): void;
  unmount(): void;
}

function mountDisk(sizeKiB: number): Disk {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-fulldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      rmSync(filler, { force: true });
      const s = statfsSync(dir);
      try {
        writeFileSync(filler, Buffer.alloc(s.bavail * s.bsize, 0x66));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', [dir]);
      } catch {
        execFileSync('umount', ['-l', dir]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the scenario against the CLI at `cli`; the data directory (on the tmpfs) is gone afterwards. */
export async function measureFullDisk(cli: string, options: { resumeLimitMs?: number } = {}): Promise<FullDiskFigures> {
  const limit = options.resumeLimitMs ?? 8_000;
  const disk = mountDisk(1024);
  const work = mkdtempSync(join(tmpdir(), 'mcpcp-fulldisk-cfg-'));
  let child: ChildProcess | undefined;
  const clients: Client[] = [];
  try {
    const dataDir = join(disk.dir, 'data');
    const config = join(work, 'config.yaml');
    writeFileSync(config, `servers:\n  git: { enabled: false }\n  fx: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(fixtureScript('well-behaved'))}] }\n`);
    const serve = spawn(process.execPath, [cli, 'serve', '--config', config, '--print-client-config', '--data-dir', dataDir], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    child = serve;
    const stderrLines: { at: number; text: string }[] = [];
    createInterface({ input: serve.stderr! }).on('line', (text) => stderrLines.push({ at: Date.now(), text }));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: serve.stdout! }).once('line', resolve);
      serve.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderrLines.map((l) => l.text).join('\n')}`)));
    });
    // A failed fetch says why: whether serve is still running, and what it wrote last.
    const explain = (what: string, err: unknown): Error =>
      new Error(
        `${what}: ${err instanceof Error ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err)}; serve ${serve.exitCode !== null || serve.signalCode !== null ? `exited (${serve.exitCode ?? serve.signalCode})` : 'is running'}; its last lines:\n${stderrLines.slice(-15).map((l) => l.text).join('\n')}`,
      );
    const get = (path: string): Promise<Response> => fetch(`${base}${path}`).catch((err: unknown) => Promise.reject(explain(`GET ${path}`, err)));
    const fx = (JSON.parse(first) as { servers: Record<string, { url: string; headers: Record<string, string> }> }).servers['fx']!;
    const base = new URL(fx.url).origin;
    for (let i = 0; i < 4; i++) {
      const c = new Client({ name: `fulldisk-${i}`, version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(fx.url), { requestInit: { headers: fx.headers } }));
      clients.push(c);
    }
    const call = async (c: Client, text: string): Promise<{ ok: boolean; text: string }> => {
      try {
        const r = (await c.callTool({ name: 'echo', arguments: { text } })) as { isError?: boolean; content?: { text?: string }[] };
        return { ok: r.isError !== true, text: r.content?.[0]?.text ?? '' };
      } catch (err) {
        return { ok: false, text: err instanceof Error ? err.message : String(err) };
      }
    };
    const first0 = await call(clients[0]!, 'before');
    if (!first0.ok) throw new Error(`a call before the disk filled failed: ${first0.text}`);

    // Full: the next calls find the audit log unwritable.
    disk.fill();
    const warmup = await call(clients[0]!, 'fills');
    await sleep(200);
    const windowStart = Date.now();
    let calls = 0;
    let refused = 0;
    let refusalText = warmup.ok ? '' : warmup.text;
    await Promise.all(
      clients.map(async (c, i) => {
        while (Date.now() - windowStart < 10_000) {
          const r = await call(c, `full-${i}-${calls}`);
          calls++;
          if (!r.ok) {
            refused++;
            refusalText ||= r.text;
          }
        }
      }),
    );
    const windowEnd = Date.now();
    const inWindow = stderrLines.filter((l) => l.at >= windowStart && l.at <= windowEnd);
    const healthz = await get('/healthz').then((r) => r.status);
    const readyz = await get('/readyz').then(async (r) => ({ status: r.status, body: await r.text() }));
    const status = spawnSync(process.execPath, [cli, 'status', '--data-dir', dataDir], { encoding: 'utf8', timeout: 20_000 });

    // Freed, nobody calling: the interval probe alone.
    disk.free();
    const freedAt = Date.now();
    let readyAfterFreeMs: number | undefined;
    while (Date.now() - freedAt < limit) {
      const r = await get('/readyz').then((x) => x.status);
      if (r === 200) {
        readyAfterFreeMs = Date.now() - freedAt;
        break;
      }
      await sleep(25);
    }
    // Full again (a call finds it), then freed with calls arriving: the next-call probe.
    disk.fill();
    await call(clients[0]!, 'fills again');
    await call(clients[0]!, 'refused');
    disk.free();
    const freedAgain = Date.now();
    let callsResumeAfterFreeMs: number | undefined;
    while (Date.now() - freedAgain < limit) {
      if ((await call(clients[1]!, 'resume?')).ok) {
        callsResumeAfterFreeMs = Date.now() - freedAgain;
        break;
      }
      await sleep(20);
    }
    const readyzAfter = await get('/readyz').then((r) => r.status);
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    serve.kill('SIGTERM');
    await new Promise((resolve) => serve.once('exit', resolve));
    const verify = spawnSync(process.execPath, [cli, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8', timeout: 30_000 });
    return {
      callsWhileFull: calls,
      refusedWhileFull: refused,
      stderrLinesWhileFull: inWindow.length,
      stderrSample: inWindow.slice(0, 3).map((l) => l.text),
      healthzWhileFull: healthz,
      readyzWhileFull: readyz,
      statusWhileFull: status.stdout + status.stderr,
      readyAfterFreeMs,
      callsResumeAfterFreeMs,
      readyzAfter,
      refusalText,
      verifyExit: verify.status,
      verifyOutput: verify.stdout + verify.stderr,
      dataDir,
    };
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    disk.unmount();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const cli = process.argv[2];
  if (!cli) throw new Error('usage: full-disk-measure.ts <dist/cli.js>');
  void measureFullDisk(cli).then((f) => process.stdout.write(`${JSON.stringify({ ...f, statusWhileFull: f.statusWhileFull.split('\n') }, null, 2)}\n`));
}
