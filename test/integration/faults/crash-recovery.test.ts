// kill -9 of `mcpcp serve` leaves children that ignore stdin EOF running; the next start must find
// and stop exactly those (marker in /proc/<pid>/environ, owner's pid + start time dead), report
// them, and leave alone both a live sibling instance and an unrelated process whose pid the dead
// instance's record names.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { REPO_ROOT, fixtureScript, waitFor } from '../../helpers/fixture-plane';
import { sameProcessAlive, taggedProcesses } from './proc-witness';

const CLI = join(REPO_ROOT, 'dist/cli.js');

interface Serve {
  child: ChildProcess;
  ready: Promise<string>;
  stderr: () => string;
}

function startServe(config: string, cwd: string, dataDir: string): Serve {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', dataDir, '--print-client-config'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, ready, stderr: () => err };
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return await new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('a start after a crash of the control plane', () => {
  it('stops the dead instance’s leftovers, reports them, and touches neither a live sibling nor a reused pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-crash-'));
    const dataDir = join(dir, 'data');
    const tagA = randomUUID();
    const tagB = randomUUID();
    const config = (tag: string): string => {
      const file = join(dir, `config-${tag}.yaml`);
      writeFileSync(
        file,
        [
          'roots: ["."]',
          'servers:',
          '  git: { enabled: false }',
          '  stubborn:',
          `    command: ${JSON.stringify(process.execPath)}`,
          `    args: [${JSON.stringify(fixtureScript('ignores-stdin'))}]`,
          `    env: { FIXTURE_TAG: ${JSON.stringify(tag)} }`,
          '  wrapped:',
          '    command: sh',
          `    args: ["-c", "\\"$0\\" \\"$1\\" & \\"$0\\" \\"$2\\"", ${JSON.stringify(process.execPath)}, ${JSON.stringify(fixtureScript('ignores-stdin'))}, ${JSON.stringify(fixtureScript('well-behaved'))}]`,
          `    env: { FIXTURE_TAG: ${JSON.stringify(tag)} }`,
          '',
        ].join('\n'),
      );
      return file;
    };
    const started: ChildProcess[] = [];
    const unrelated = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      // A: the instance that will crash. B: a live sibling sharing the data directory (another window).
      const a = startServe(config(tagA), dir, dataDir);
      started.push(a.child);
      await a.ready;
      await waitFor(() => taggedProcesses(tagA).length === 4, 10_000, 'A: stubborn, sh, its server and its stubborn grandchild');
      const b = startServe(config(tagB), dir, dataDir);
      started.push(b.child);
      await b.ready;
      await waitFor(() => taggedProcesses(tagB).length === 4, 10_000, 'B: its four processes');
      assert.equal(taggedProcesses(tagA).length, 4, 'a live instance’s processes are not leftovers');
      assert.doesNotMatch(b.stderr(), /ended without stopping its servers/);
      const bProcesses = taggedProcesses(tagB);

      // The dead instance's record names an unrelated process (as if a pid had been reused).
      const records = readdirSync(join(dataDir, 'processes'));
      assert.equal(records.length, 2);
      const recordA = records.map((f) => join(dataDir, 'processes', f)).find((f) => (JSON.parse(readFileSync(f, 'utf8')) as { pid: number }).pid === a.child.pid)!;
      const record = JSON.parse(readFileSync(recordA, 'utf8')) as { instance: string; children: Array<{ server: string; pid: number }> };
      assert.match(record.instance, new RegExp(`^cli-${a.child.pid}-[0-9a-f]{8}$`));
      assert.equal(record.children.length, 2);
      record.children.push({ server: 'stubborn', pid: unrelated.pid! });
      writeFileSync(recordA, JSON.stringify(record));

      a.child.kill('SIGKILL');
      await exited(a.child);
      // stdin EOF ended A's well-behaved server and its sh; the two stubborn processes live on.
      await waitFor(() => taggedProcesses(tagA).length === 2, 5_000, 'the leftovers of A');
      const leftovers = taggedProcesses(tagA);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(leftovers.every(sameProcessAlive), 'without a cleanup they would run forever');

      // C starts on the same data directory.
      const c = startServe(config(randomUUID()), dir, dataDir);
      started.push(c.child);
      await c.ready;
      assert.deepEqual(taggedProcesses(tagA), [], 'no process of the dead instance is left');
      assert.ok(leftovers.every((p) => !sameProcessAlive(p)));
      assert.ok(bProcesses.every(sameProcessAlive), 'the live sibling’s processes are untouched');
      assert.equal(unrelated.exitCode, null, 'the unrelated process with a recorded pid is untouched');
      assert.ok(sameProcessAlive({ pid: unrelated.pid!, startTime: Number(readFileSync(`/proc/${unrelated.pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[19]) }));

      // Reported: log, status, audit.
      assert.match(c.stderr(), new RegExp(`instance ${record.instance} \\(pid ${a.child.pid}\\) ended without stopping its servers: 2 leftover processes: pid \\d+ \\((stubborn|wrapped)\\) (stopped|killed), pid \\d+ \\((stubborn|wrapped)\\) (stopped|killed); left alone: recorded pid ${unrelated.pid} \\(another process now, without the marker\\)`));
      const status = spawnSync(process.execPath, [CLI, 'status', '--json', '--data-dir', dataDir], { encoding: 'utf8' });
      const instances = (JSON.parse(status.stdout) as { instances: Array<{ pid: number; leftovers: Array<{ instance: string; processes: Array<{ pid: number; server: string; outcome: string }>; untouched: number[] }> }> }).instances;
      const cStatus = instances.find((i) => i.pid === c.child.pid)!;
      assert.equal(cStatus.leftovers.length, 1);
      assert.equal(cStatus.leftovers[0]!.instance, record.instance);
      assert.deepEqual(cStatus.leftovers[0]!.processes.map((p) => p.pid).sort(), leftovers.map((p) => p.pid).sort());
      assert.deepEqual(cStatus.leftovers[0]!.processes.map((p) => p.server).sort(), ['stubborn', 'wrapped']);
      assert.deepEqual(cStatus.leftovers[0]!.untouched, [unrelated.pid]);
      assert.deepEqual(instances.find((i) => i.pid === b.child.pid)!.leftovers, []);
      const table = spawnSync(process.execPath, [CLI, 'status', '--data-dir', dataDir], { encoding: 'utf8' });
      assert.match(table.stdout, /at start: instance cli-\d+-[0-9a-f]+ \(pid \d+\) ended without stopping its servers: 2 leftover processes/);
      const audit = readdirSync(join(dataDir, 'audit'))
        .filter((f) => f.endsWith('.jsonl'))
        .flatMap((f) => readFileSync(join(dataDir, 'audit', f), 'utf8').split('\n').filter(Boolean))
        .map((l) => JSON.parse(l) as { tool?: string; outcome?: string; detail?: { instance?: string; processes?: unknown[] } })
        .filter((r) => r.tool === 'leftovers.stop');
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.outcome, 'ok');
      assert.equal(audit[0]!.detail!.instance, record.instance);
      assert.equal(audit[0]!.detail!.processes!.length, 2);

      // Clean stops leave nothing either, and remove their records.
      for (const s of [b, c]) {
        s.child.kill('SIGTERM');
        assert.equal(await exited(s.child), 0, s.stderr());
      }
      assert.deepEqual(taggedProcesses(tagB), []);
      assert.deepEqual(readdirSync(join(dataDir, 'processes')), []);
    } finally {
      for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      unrelated.kill('SIGKILL');
      for (const tag of [tagA, tagB]) for (const p of taggedProcesses(tag)) process.kill(p.pid, 'SIGKILL');
    }
  });
});
