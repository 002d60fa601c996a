import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The headless data directory: `--data-dir`, else MCPCP_DATA_DIR, else ~/.mcpcp. Owner-only. */
export function dataDirFrom(flag: string | undefined, configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env['MCPCP_DATA_DIR'] ?? configured ?? join(homedir(), '.mcpcp'));
}

export async function ensureDataDir(dir: string): Promise<void> {
  await mkdir(join(dir, 'instances'), { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await chmod(join(dir, 'instances'), 0o700);
}

/** What a running instance records so that `mcpcp status` can find it. */
export interface InstanceRecord {
  pid: number;
  port: number;
  token: string;
  startedAt: string;
  cwd: string;
  /** When the instance serves HTTPS itself (team mode with `team.tls`): its certificate file and public host name, which local commands check it against. */
  tls?: { certFile: string; servername: string };
}

export async function writeInstance(dir: string, record: InstanceRecord): Promise<string> {
  const file = join(dir, 'instances', `${record.pid}.json`);
  await writeFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return file;
}

/** Running instances; records of dead processes are removed. */
export async function readInstances(dir: string): Promise<InstanceRecord[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, 'instances'));
  } catch {
    return [];
  }
  const out: InstanceRecord[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = join(dir, 'instances', name);
    try {
      const record = JSON.parse(await readFile(file, 'utf8')) as InstanceRecord;
      if (isAlive(record.pid)) out.push(record);
      else await rm(file, { force: true });
    } catch {
      // A record being written or a stray file: skip it.
    }
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
