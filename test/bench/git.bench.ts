// Git server latency next to the plain git CLI: repo_status, log (limit 50) and diff between two
// refs on a generated repository (10,000 commits, 5,000 files), each median over repeated calls,
// through the built server over stdio vs `git` spawned with the same arguments and environment in
// the same run. Target: within 1.5x of the CLI. The repository is made with `git fast-import` and
// cached in the OS temp dir, keyed by its parameters.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { diffArgs } from '../../src/servers/git/tools/diff';
import { logArgs } from '../../src/servers/git/tools/log';
import { statusArgs } from '../../src/servers/git/status';

const COMMITS = 10_000;
const FILES = 5_000;
const WARMUP = 3;
const RUNS = 25;
const SERVER = resolve(__dirname, '../../dist/servers/git.js');

/** The environment both sides run git with (the server sets the same variables for reads). */
const GIT_ENV = {
  PATH: process.env['PATH'] ?? '',
  HOME: tmpdir(),
  LC_ALL: 'C',
  GIT_TERMINAL_PROMPT: '0',
  GIT_LITERAL_PATHSPECS: '1',
  GIT_OPTIONAL_LOCKS: '0',
  GIT_CONFIG_NOSYSTEM: '1',
};

function fileName(i: number): string {
  return `src/dir${String(i % 100).padStart(2, '0')}/file${String(i).padStart(4, '0')}.txt`;
}

function fileContent(i: number, version: number): string {
  return `file ${i}\nversion ${version}\n${'line of text for the diff\n'.repeat(8)}end ${version}\n`;
}

/** A fast-import stream: one commit adding every file, then commits changing two files each. */
function fastImportStream(): string {
  const parts: string[] = [];
  const versions = new Array<number>(FILES).fill(0);
  const date = 1_700_000_000;
  for (let c = 0; c < COMMITS; c++) {
    const message = c === 0 ? 'initial import' : `change ${c}`;
    parts.push(`commit refs/heads/main\nmark :${c + 1}\nauthor Bench <bench@example.com> ${date + c * 60} +0000\ncommitter Bench <bench@example.com> ${date + c * 60} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    if (c > 0) parts.push(`from :${c}\n`);
    const touched = c === 0 ? Array.from({ length: FILES }, (_, i) => i) : [(c * 7919) % FILES, (c * 104729) % FILES];
    for (const i of touched) {
      const content = fileContent(i, ++versions[i]!);
      parts.push(`M 100644 inline ${fileName(i)}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
  }
  return parts.join('');
}

/** The benchmark repository, generated once per parameter set. */
function benchRepo(): string {
  const dir = join(tmpdir(), `mcpcp-bench-git-${COMMITS}c-${FILES}f-v1`);
  if (existsSync(join(dir, '.git', 'mcpcp-bench-ready'))) return dir;
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const run = (args: string[], input?: string) => {
    const r = spawnSync('git', args, { cwd: building, env: GIT_ENV, input, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  };
  const started = Date.now();
  run(['init', '-q', '-b', 'main']);
  run(['fast-import', '--quiet'], fastImportStream());
  run(['reset', '-q', '--hard', 'main']);
  // Some local state for status: modified and untracked files.
  for (let i = 0; i < 20; i++) writeFileSync(join(building, fileName(i * 37)), fileContent(i * 37, 999));
  for (let i = 0; i < 10; i++) writeFileSync(join(building, `untracked-${i}.txt`), 'new\n');
  writeFileSync(join(building, '.git', 'mcpcp-bench-ready'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  process.stderr.write(`bench: generated ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return dir;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function cli(cwd: string, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    execFile('git', args, { cwd, env: GIT_ENV, maxBuffer: 1 << 28, encoding: 'buffer' }, (err, stdout) => {
      if (err) reject(err);
      else resolvePromise(stdout.length);
    });
  });
}

interface Row {
  operation: string;
  serverMs: number;
  cliMs: number;
  serverBytes: number;
  cliBytes: number;
}

async function measure(operation: string, tool: () => Promise<number>, baseline: () => Promise<number>): Promise<Row> {
  for (let i = 0; i < WARMUP; i++) {
    await tool();
    await baseline();
  }
  const serverTimes: number[] = [];
  const cliTimes: number[] = [];
  let serverBytes = 0;
  let cliBytes = 0;
  // Interleaved, so both sides see the same machine load and page cache.
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    serverBytes = await tool();
    serverTimes.push(performance.now() - t);
    t = performance.now();
    cliBytes = await baseline();
    cliTimes.push(performance.now() - t);
  }
  return { operation, serverMs: median(serverTimes), cliMs: median(cliTimes), serverBytes, cliBytes };
}

export async function run(): Promise<string> {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first`);
  const repo = benchRepo();
  const client = new Client({ name: 'git-bench', version: '1.0.0' }, { capabilities: { roots: {} } });
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: pathToFileURL(repo).href }] }));
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER], env: GIT_ENV, stderr: 'ignore' }));

  const call = async (name: string, args: Record<string, unknown>): Promise<number> => {
    const r = CallToolResultSchema.parse(await client.callTool({ name, arguments: { repo, ...args } }));
    const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    if (r.isError) throw new Error(`${name} failed: ${text}`);
    return Buffer.byteLength(JSON.stringify(r));
  };

  const rows: Row[] = [];
  try {
    rows.push(await measure('repo_status', () => call('repo_status', {}), () => cli(repo, statusArgs([]))));
    rows.push(
      await measure(
        'log (limit 50)',
        () => call('log', { limit: 50 }),
        () => cli(repo, logArgs({ full: false, count: 51, skip: 0, filters: [], range: ['HEAD'], paths: [] })),
      ),
    );
    rows.push(
      await measure(
        'diff HEAD~100..HEAD',
        () => call('diff', { from: 'HEAD~100', to: 'HEAD' }),
        () => cli(repo, diffArgs({ staged: false, from: 'HEAD~100', to: 'HEAD', statOnly: false, context: 3, paths: [] })),
      ),
    );
  } finally {
    await client.close();
  }

  const lines = [
    '## Git server vs git CLI',
    '',
    `Generated repository: ${COMMITS.toLocaleString('en')} commits, ${FILES.toLocaleString('en')} files (20 modified, 10 untracked). ` +
      `Median of ${RUNS} calls after ${WARMUP} warm-up calls, interleaved. Server: the built \`dist/servers/git.js\` over stdio ` +
      '(MCP round trip, validation, confinement checks, output shaping); CLI: `git` spawned with the same arguments and environment. ' +
      'Server bytes are the whole JSON-RPC result (text paged to the 16 KB budget, plus structured content for repo_status); CLI bytes are raw stdout.',
    '',
    '| operation | server median (ms) | git CLI median (ms) | ratio | server bytes | CLI bytes |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${r.serverMs.toFixed(1)} | ${r.cliMs.toFixed(1)} | ${(r.serverMs / r.cliMs).toFixed(2)}x | ${r.serverBytes.toLocaleString('en')} | ${r.cliBytes.toLocaleString('en')} |`,
    ),
    '',
    'Target: each ratio within 1.5x.',
  ];
  return lines.join('\n');
}
