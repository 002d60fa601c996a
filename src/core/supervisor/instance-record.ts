import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../errors';
import type { SpawnOwner } from './managed-server';
import { INSTANCE_ENV, SPAWN_ENV, bootId, carriesMarkers, listProcesses, procAvailable, procCommand, procEnviron, procStat, signalIfSame, type ProcStat } from './processes';

/** Where instance records live, under the host's state directory. */
export const PROCESSES_DIR = 'processes';

/** What one control plane instance writes while it runs, so a later start can clean up after a crash. */
interface RecordFile {
  version: 1;
  instance: string;
  pid: number;
  /** Clock ticks since boot (`/proc/<pid>/stat` field 22): with `pid`, identifies the process. */
  startTime: number | null;
  bootId: string | null;
  /** A data directory shared between machines (a network home) holds records of other hosts: not ours to judge. */
  host: string;
  startedAt: string;
  children: Array<{ server: string; pid: number }>;
}

/** A process a dead instance left running, and what a later start did to it. */
export interface LeftoverProcess {
  pid: number;
  server: string | undefined;
  command: string;
  /** `stopped`: ended after SIGTERM; `killed`: needed SIGKILL; `survived`: still there. */
  outcome: 'stopped' | 'killed' | 'survived';
}

/** The cleanup after one dead instance. */
export interface LeftoverReport {
  instance: string;
  /** The dead control plane's pid. */
  pid: number;
  startedAt: string;
  at: number;
  processes: LeftoverProcess[];
  /** Pids the record names that are alive but do not carry the marker: reused, left alone. */
  untouched: number[];
}

/** A fresh instance id: `<prefix>-<pid>-<random>`; it marks every child of this instance. */
export function newInstanceId(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * This instance's record in `<stateDir>/processes/<instance>.json`: its pid, its start time and
 * the children it spawned (a hint for reports: processes are identified by their marker). Written
 * on `open`, updated at each spawn and exit, removed by `close`. A record left by a crash is how
 * `recoverLeftovers` finds the dead instance.
 */
export class InstanceProcessRecord implements SpawnOwner {
  readonly file: string;
  private readonly record: RecordFile;
  private opened = false;

  constructor(
    private readonly dir: string,
    readonly instanceId: string,
    private readonly log?: (message: string) => void,
  ) {
    this.file = join(dir, `${instanceId}.json`);
    this.record = {
      version: 1,
      instance: instanceId,
      pid: process.pid,
      startTime: procStat('self')?.startTime ?? null,
      bootId: bootId() ?? null,
      host: hostname(),
      startedAt: new Date().toISOString(),
      children: [],
    };
  }

  /** Writes the record. */
  open(): void {
    this.opened = true;
    this.write();
  }

  spawned(server: string, pid: number): void {
    this.record.children.push({ server, pid });
    this.write();
  }

  exited(_server: string, pid: number): void {
    this.record.children = this.record.children.filter((c) => c.pid !== pid);
    this.write();
  }

  /**
   * Stops any process still carrying this instance's marker (SIGTERM, SIGKILL after `graceMs`):
   * the last step of a stop, after every server's own staged stop. Returns what it found.
   */
  async sweep(graceMs: number): Promise<LeftoverProcess[]> {
    return await stopMarked(this.instanceId, graceMs);
  }

  /** Removes the record (the instance ends cleanly). */
  close(): void {
    this.opened = false;
    rmSync(this.file, { force: true });
  }

  private write(): void {
    if (!this.opened) return;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(this.record)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch (err) {
      this.log?.(`cannot write the instance record ${this.file}: ${errorMessage(err)}`);
    }
  }
}

/**
 * Finds the records of dead instances in `dir` and stops what they left running. An instance is
 * dead only when no process has its pid with its start time (pids are reused; every VS Code
 * window runs its own control plane, whose record is skipped while it lives). Only processes whose
 * `/proc/<pid>/environ` carries the dead instance's marker are signalled (SIGTERM, then SIGKILL
 * after `graceMs`); a recorded pid without the marker is reported as untouched. Records of a
 * previous boot are removed without looking for processes; records of another host (a shared
 * network home) are left alone. Without `/proc` (not Linux) nothing is
 * signalled: a record whose pid is gone is removed and reported with no processes.
 */
export async function recoverLeftovers(options: { dir: string; selfInstance: string; graceMs: number; log?: (message: string) => void }): Promise<LeftoverReport[]> {
  let names: string[];
  try {
    names = await readdir(options.dir);
  } catch {
    return [];
  }
  const reports: LeftoverReport[] = [];
  const currentBoot = bootId();
  for (const name of names.sort()) {
    const m = /^(.+)\.json(?:\.claimed-(\d+))?$/.exec(name);
    if (!m || m[1] === options.selfInstance) continue;
    const claimer = m[2] !== undefined ? Number(m[2]) : undefined;
    if (claimer !== undefined && (claimer === process.pid || pidAlive(claimer))) continue;
    let record: RecordFile;
    try {
      record = JSON.parse(await readFile(join(options.dir, name), 'utf8')) as RecordFile;
    } catch {
      continue; // being written, or not ours
    }
    if (typeof record.instance !== 'string' || typeof record.pid !== 'number') continue;
    if (record.host !== undefined && record.host !== hostname()) continue;
    const sameBoot = record.bootId !== null && record.bootId === currentBoot;
    if (sameBoot && instanceAlive(record)) continue;
    // Claim it so that two instances starting together do not both clean up.
    const claimed = join(options.dir, `${record.instance}.json.claimed-${process.pid}`);
    try {
      await rename(join(options.dir, name), claimed);
    } catch {
      continue; // another instance took it
    }
    let processes: LeftoverProcess[] = [];
    const untouched: number[] = [];
    if (sameBoot && procAvailable) {
      processes = await stopMarked(record.instance, options.graceMs);
      const found = new Set(processes.map((p) => p.pid));
      for (const child of record.children ?? []) {
        const now = procStat(child.pid);
        // A zombie is an exited child nobody reaped yet: gone, not reused.
        if (!found.has(child.pid) && now && now.state !== 'Z' && !carriesMarkers(child.pid, [`${INSTANCE_ENV}=${record.instance}`])) untouched.push(child.pid);
      }
    }
    await rm(claimed, { force: true });
    const report: LeftoverReport = { instance: record.instance, pid: record.pid, startedAt: record.startedAt, at: Date.now(), processes, untouched };
    reports.push(report);
    if (processes.length > 0 || untouched.length > 0) options.log?.(describeLeftovers(report));
  }
  return reports;
}

/** One line for the log and the status: what a dead instance left and what was done. */
export function describeLeftovers(report: LeftoverReport): string {
  const parts = report.processes.map((p) => `pid ${p.pid}${p.server ? ` (${p.server})` : ''} ${p.outcome}`);
  const head = `instance ${report.instance} (pid ${report.pid}) ended without stopping its servers`;
  const what = report.processes.length === 0 ? 'no process of it was left' : `${report.processes.length} leftover process${report.processes.length === 1 ? '' : 'es'}: ${parts.join(', ')}`;
  const reused = report.untouched.length > 0 ? `; left alone: recorded pid${report.untouched.length === 1 ? '' : 's'} ${report.untouched.join(', ')} (another process now, without the marker)` : '';
  return `${head}: ${what}${reused}`;
}

function instanceAlive(record: RecordFile): boolean {
  if (!procAvailable) return pidAlive(record.pid);
  const now = procStat(record.pid);
  return now !== undefined && now.startTime === record.startTime;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM to every process carrying the instance's marker, SIGKILL to those left after `graceMs`. */
async function stopMarked(instance: string, graceMs: number): Promise<LeftoverProcess[]> {
  if (!procAvailable) return [];
  const marker = `${INSTANCE_ENV}=${instance}`;
  const found = listProcesses().filter((p) => p.pid !== process.pid && p.state !== 'Z' && carriesMarkers(p.pid, [marker]));
  if (found.length === 0) return [];
  const info = new Map<number, { server: string | undefined; command: string }>();
  for (const p of found) {
    const spawn = procEnviron(p.pid)?.find((e) => e.startsWith(`${SPAWN_ENV}=`))?.slice(SPAWN_ENV.length + 1);
    info.set(p.pid, { server: spawn?.replace(/#\d+$/, ''), command: procCommand(p.pid) });
  }
  for (const p of found) signalIfSame(p, 'SIGTERM');
  const termGone = await waitGone(found, graceMs);
  const rest = found.filter((p) => !termGone.has(p.pid));
  for (const p of rest) signalIfSame(p, 'SIGKILL');
  const killGone = rest.length > 0 ? await waitGone(rest, 2_000) : new Set<number>();
  return found.map((p) => ({
    pid: p.pid,
    ...info.get(p.pid)!,
    outcome: termGone.has(p.pid) ? 'stopped' : killGone.has(p.pid) ? 'killed' : 'survived',
  }));
}

/** Polls until each process is gone (or a zombie, or another process under its pid). */
async function waitGone(processes: readonly ProcStat[], timeoutMs: number): Promise<Set<number>> {
  const deadline = Date.now() + timeoutMs;
  const gone = new Set<number>();
  for (;;) {
    for (const p of processes) {
      const now = procStat(p.pid);
      if (!now || now.startTime !== p.startTime || now.state === 'Z') gone.add(p.pid);
    }
    if (gone.size === processes.length || Date.now() >= deadline) return gone;
    await new Promise((r) => setTimeout(r, 50));
  }
}
