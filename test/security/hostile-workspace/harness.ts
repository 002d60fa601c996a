// Shared by the hostile-workspace suite: a cloned repository with crafted files, the real `mcpcp`
// started in it, and the human's side (approver credential, a terminal) played through a real pty.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, fixtureScript } from '../../helpers/fixture-plane';

export const CLI = join(REPO_ROOT, 'dist/cli.js');
export const SECRET = 's3cr3t-value-9f2c41';

export interface Workspace {
  dir: string;
  dataDir: string;
  /** The marker a payload writes when it runs. */
  marker: string;
}

/** A fresh "cloned repository" and a data directory outside it. */
export function makeWorkspace(prefix = 'mcpcp-hostile-'): Workspace {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(base, 'repo');
  const dataDir = join(base, 'data');
  mkdirSync(join(dir, '.mcpcp'), { recursive: true });
  return { dir, dataDir, marker: join(base, 'PWNED') };
}

/**
 * A workspace script that is the payload: it writes the marker (with the secret it was given) and
 * then serves MCP (the well-behaved fixture), so a consented start is a real running server.
 */
export function writePayloadServer(ws: Workspace, file = 'srv.js', envName = 'API_TOKEN'): string {
  const path = join(ws.dir, file);
  writeFileSync(path, `require('fs').appendFileSync(${JSON.stringify(ws.marker)}, 'ran:' + (process.env.${envName} || '') + ':' + process.argv.slice(2).join(' ') + '\\n');\nrequire(${JSON.stringify(fixtureScript('well-behaved'))});\n`);
  return path;
}

export function cliEnv(ws: Workspace, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '', HOME: join(ws.dir, '..'), MCPCP_SECRET_API_KEY: SECRET, ...extra };
}

/** Runs `mcpcp …` to completion with piped (non-terminal) stdin, as an agent's shell would. */
export function runCli(ws: Workspace, args: string[], input = '', env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, '--data-dir', ws.dataDir], { cwd: ws.dir, input, env: cliEnv(ws, env), encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `mcpcp …` on a real pseudo-terminal (python's pty), typing `input`: the human's side. */
export function runCliOnTerminal(ws: Workspace, args: string[], input: string, env: Record<string, string> = {}): { status: number | null; output: string } {
  const script = [
    'import os, pty, sys, time',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    '    os.execvp(sys.argv[1], sys.argv[1:])',
    'out = b""',
    'data = sys.stdin.buffer.read()',
    'time.sleep(0.5)',
    'for line in data.split(b"\\n")[:-1]:',
    '    os.write(fd, line + b"\\r")',
    '    time.sleep(0.3)',
    'while True:',
    '    try:',
    '        chunk = os.read(fd, 4096)',
    '    except OSError:',
    '        break',
    '    if not chunk:',
    '        break',
    '    out += chunk',
    '_, status = os.waitpid(pid, 0)',
    'sys.stdout.write(out.decode("utf8", "replace"))',
    'sys.exit(os.waitstatus_to_exitcode(status))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, process.execPath, CLI, ...args, '--data-dir', ws.dataDir], { cwd: ws.dir, input, env: cliEnv(ws, env), encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Creates the approver credential (as `mcpcp approver-credential rotate` prints it) and returns it. */
export function approverCredential(ws: Workspace): string {
  const r = runCli(ws, ['approver-credential', 'rotate']);
  if (r.status !== 0) throw new Error(`rotate failed: ${r.stderr}`);
  return r.stdout.trim();
}

export interface Serving {
  child: ChildProcess;
  stderr: () => string;
  /** The printed client configuration (after every server settled). */
  config: Promise<{ servers: Record<string, { url: string; headers: Record<string, string> }> }>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** `mcpcp serve --print-client-config` in the workspace, with no --config (the config found there is the workspace's). */
export function serve(ws: Workspace, extraArgs: string[] = [], env: Record<string, string> = {}): Serving {
  const child = spawn(process.execPath, [CLI, 'serve', '--print-client-config', '--data-dir', ws.dataDir, ...extraArgs], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(ws, env) });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const config = new Promise<{ servers: Record<string, { url: string; headers: Record<string, string> }> }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    void exited.then((code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  config.catch(() => undefined);
  return {
    child,
    stderr: () => err,
    config,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
