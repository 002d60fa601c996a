import { readdirSync, readFileSync } from 'node:fs';

/**
 * Marks every process started for a server: the control plane's instance id, inherited by the
 * child and everything it starts, readable in `/proc/<pid>/environ` (Linux). A process that
 * replaces its environment (`env -i`) loses it.
 */
export const INSTANCE_ENV = 'MCPCP_INSTANCE';
/** Marks one spawn of one server within an instance (`<server>#<n>`). */
export const SPAWN_ENV = 'MCPCP_SPAWN';

/** What `/proc/<pid>/stat` says of a process. `startTime` is in clock ticks since boot. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  startTime: number;
  /** `Z` for a zombie (exited, not reaped yet): it can't be signalled away and holds no resources. */
  state: string;
}

/** True where the process table can be read: Linux with `/proc`. */
export const procAvailable: boolean = process.platform === 'linux' && readable('/proc/self/stat');

function readable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `/proc/<pid>/stat`, or undefined when the process does not exist (or there is no /proc). */
export function procStat(pid: number | 'self'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, pgrp 5, starttime 22.
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTime: Number(fields[19]),
  };
}

/** Every process in `/proc`, with its stat (processes that vanish while reading are skipped). */
export function listProcesses(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** The `KEY=VALUE` entries of a process's initial environment; undefined when unreadable. */
export function procEnviron(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e.length > 0);
  } catch {
    return undefined;
  }
}

/** True when the process's environment holds every one of `entries` (exact `KEY=VALUE`). */
export function carriesMarkers(pid: number, entries: readonly string[]): boolean {
  const env = procEnviron(pid);
  if (!env) return false;
  return entries.every((e) => env.includes(e));
}

/** The command line of a process, for reports (at most 200 characters). */
export function procCommand(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return text.length > 200 ? `${text.slice(0, 199)}…` : text;
  } catch {
    return '';
  }
}

/** This boot's id: start times (clock ticks since boot) are only comparable within one boot. */
export function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The processes that belong to one spawned child, found through `/proc`: the leader's process
 * group, its descendants by parent pid (while it lives), and any process carrying all of `markers`
 * in its environment (reparented grandchildren, a `setsid` that kept its environment). Only
 * processes started no earlier than the leader are considered; after the leader exited, group
 * members count only with the markers (the group id could belong to a new group by then).
 * The control plane's own pid is never included. Empty where `/proc` is not available.
 */
export function spawnMembers(leader: { pid: number; startTime: number | undefined; alive: boolean }, markers: readonly string[]): ProcStat[] {
  if (!procAvailable) return [];
  const all = listProcesses().filter((p) => p.pid !== process.pid && (leader.startTime === undefined || p.startTime >= leader.startTime));
  const members = new Map<number, ProcStat>();
  if (leader.alive) {
    const children = new Map<number, ProcStat[]>();
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    const stack = all.filter((p) => p.pid === leader.pid || p.pgid === leader.pid);
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (members.has(p.pid)) continue;
      members.set(p.pid, p);
      stack.push(...(children.get(p.pid) ?? []));
    }
  }
  if (markers.length > 0) {
    for (const p of all) if (!members.has(p.pid) && carriesMarkers(p.pid, markers)) members.set(p.pid, p);
  }
  return [...members.values()].filter((p) => p.state !== 'Z');
}

/**
 * Sends `signal` to `pid` only if it is still the process we found (same start time): a pid can
 * be reused between the scan and the signal. Returns false when it is gone or another process.
 */
export function signalIfSame(p: Pick<ProcStat, 'pid' | 'startTime'>, signal: NodeJS.Signals): boolean {
  if (procAvailable) {
    const now = procStat(p.pid);
    if (!now || now.startTime !== p.startTime || now.state === 'Z') return false;
  }
  try {
    process.kill(p.pid, signal);
    return true;
  } catch {
    return false;
  }
}
