// Witness for "no process outlives the control plane": counts live processes whose environment
// carries a test's own tag, read straight from /proc (independent of the control plane's marker).
import { readdirSync, readFileSync } from 'node:fs';

/** Live (not zombie) processes whose /proc/<pid>/environ has `FIXTURE_TAG=<tag>`, with their start time. */
export function taggedProcesses(tag: string): Array<{ pid: number; startTime: number; command: string }> {
  const out: Array<{ pid: number; startTime: number; command: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (!env.includes(`FIXTURE_TAG=${tag}`)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: Number(name), startTime: Number(fields[19]), command });
    } catch {
      // gone while reading
    }
  }
  return out;
}

/** True while a process with this pid and start time lives (and is not a zombie). */
export function sameProcessAlive(p: { pid: number; startTime: number }): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && Number(fields[19]) === p.startTime;
  } catch {
    return false;
  }
}
