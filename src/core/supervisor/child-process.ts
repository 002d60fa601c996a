import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError } from '../errors';
import { procAvailable, procStat, signalIfSame, spawnMembers, type ProcStat } from './processes';
import type { ExitInfo } from './state';

/** What to run. `env` is the complete environment of the child (already minimal). */
export interface SpawnSpec {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
}

/** Timing of the staged stop: close stdin, SIGTERM at `sigtermAfterMs`, SIGKILL at `sigkillAfterMs`. */
export interface StopTiming {
  sigtermAfterMs: number;
  sigkillAfterMs: number;
}

export const DEFAULT_STOP_TIMING: StopTiming = { sigtermAfterMs: 1_000, sigkillAfterMs: 3_000 };

/** How a child's processes are found and cleaned up. */
export interface ChildTracking {
  /**
   * `KEY=VALUE` entries the spawn's environment carries (the instance and spawn markers): a
   * process with all of them in `/proc/<pid>/environ` belongs to this child even after it left
   * the process group's parentage.
   */
  markers?: readonly string[];
  /** Timing of the cleanup when the child exits on its own and leaves processes behind. */
  stopTiming?: StopTiming;
  /** Told about processes a stop or a crash left behind and what was done to them. */
  log?: (message: string) => void;
}

/** After SIGKILL, how long the stop waits for the tree to disappear before it gives up. */
const AFTER_KILL_WAIT_MS = 2_000;
const SCAN_INTERVAL_MS = 50;

const isWindows = process.platform === 'win32';

/**
 * A child process speaking MCP over stdio. On POSIX it leads its own process group so that a stop
 * reaches grandchildren too (an `npx` wrapper and the server it runs); on Windows the tree is
 * killed with `taskkill /T`. `exited` settles once, with how it ended.
 *
 * On Linux the child's processes are also found through `/proc` (group, descendants, and the
 * environment markers of `ChildTracking`), so a stop reaches what a wrapper (`sh -c`, `npx`,
 * `uvx`) started even after the wrapper exited, and a child that exits on its own has what it
 * left behind stopped in the same stages. A process that both leaves the group (`setsid`) and
 * drops its environment (`env -i`) after its parent exited can't be found. Elsewhere only the
 * group is signalled.
 */
export class StdioChild {
  readonly process: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly startTime: number | undefined;
  private stopping: Promise<ExitInfo> | undefined;

  private constructor(
    child: ChildProcess,
    private readonly tracking: ChildTracking,
  ) {
    this.process = child;
    this.startTime = child.pid !== undefined ? procStat(child.pid)?.startTime : undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal, at: Date.now() };
        resolve(this.exitInfo);
        // Exited on its own (crash, or a wrapper that ended): what it started must not live on.
        if (!this.stopping && !isWindows) void this.stop(tracking.stopTiming ?? DEFAULT_STOP_TIMING);
      });
    });
  }

  /**
   * Spawns the child and waits until it has a pid. ENOENT, EACCES and similar become a
   * `ControlPlaneError` with code `SPAWN_FAILED` and `details.errno`.
   */
  static async spawn(spec: SpawnSpec, tracking: ChildTracking = {}): Promise<StdioChild> {
    const useShell = isWindows && /\.(cmd|bat)$/i.test(spec.command);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      detached: !isWindows,
      // Node refuses to run .cmd/.bat without a shell (CVE-2024-27980); arguments are quoted by us.
      shell: useShell,
    });
    return await new Promise<StdioChild>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new ControlPlaneError('SPAWN_FAILED', `cannot start ${spec.command}: ${spawnErrorText(err)}`, { cause: err, details: { errno: err.code } }));
      };
      child.once('error', onError);
      child.once('spawn', () => {
        child.off('error', onError);
        // Later errors (EPIPE on a dead child's stdin) are reported through exit, not thrown.
        child.on('error', () => undefined);
        child.stdin?.on('error', () => undefined);
        resolve(new StdioChild(child, tracking));
      });
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** The child's processes still alive (see the class comment); empty without `/proc`. */
  members(): ProcStat[] {
    const pid = this.process.pid;
    if (pid === undefined || !procAvailable) return [];
    return spawnMembers({ pid, startTime: this.startTime, alive: !this.hasExited }, this.tracking.markers ?? []);
  }

  /** Sends a signal to the child's whole process tree, including what outlived the child. */
  signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    const pid = this.process.pid;
    if (pid === undefined) return;
    if (isWindows) {
      if (this.hasExited) return;
      // Windows has no signals: taskkill /T ends the tree (/F when killing).
      const args = ['/pid', String(pid), '/T', ...(signal === 'SIGKILL' ? ['/F'] : [])];
      spawn('taskkill', args, { stdio: 'ignore', windowsHide: true }).on('error', () => this.process.kill());
      return;
    }
    if (!procAvailable) {
      // No process table: the group is all we know. Its id stays reserved while it has members.
      try {
        process.kill(-pid, signal);
      } catch {
        if (!this.hasExited) this.process.kill(signal);
      }
      return;
    }
    const members = this.members();
    // The group id stays reserved while the group has a member: with the leader gone, a member we
    // know by its marker proves the group is still ours (and reaches members we can't read).
    if (!this.hasExited || members.some((p) => p.pgid === pid)) {
      try {
        process.kill(-pid, signal);
      } catch {
        // Not a group leader any more (it called setsid): the scan finds it.
      }
    }
    for (const p of members) signalIfSame(p, signal);
  }

  /**
   * Stops in stages: close stdin (our servers exit at once), SIGTERM the tree after
   * `sigtermAfterMs`, SIGKILL it after `sigkillAfterMs`. The stages go on while any process of the
   * tree lives, even when the child itself already exited. Resolves with the
   * child's exit once the tree is gone (or `AFTER_KILL_WAIT_MS` after SIGKILL, logging what
   * survived). Concurrent calls share one stop.
   */
  stop(timing: StopTiming = DEFAULT_STOP_TIMING): Promise<ExitInfo> {
    this.stopping ??= this.stopTree(timing);
    return this.stopping;
  }

  private async stopTree(timing: StopTiming): Promise<ExitInfo> {
    const startedAt = Date.now();
    this.process.stdin?.end();
    let termSent = false;
    let killSent = false;
    const exitedOnItsOwn = this.hasExited;
    let reported = false;
    for (;;) {
      const rest = this.hasExited ? this.members() : undefined;
      if (rest !== undefined && rest.length === 0) {
        if (termSent && exitedOnItsOwn) this.tracking.log?.(`stopped the processes the exited child left behind`);
        return this.exitInfo!;
      }
      const elapsed = Date.now() - startedAt;
      if (rest !== undefined && exitedOnItsOwn && !reported) {
        reported = true;
        this.tracking.log?.(`the child exited and left ${rest.length} process${rest.length === 1 ? '' : 'es'} behind (${describe(rest)}); stopping them`);
      }
      if (!termSent && elapsed >= timing.sigtermAfterMs) {
        termSent = true;
        this.signal('SIGTERM');
      }
      if (!killSent && elapsed >= timing.sigkillAfterMs) {
        killSent = true;
        if (rest !== undefined) this.tracking.log?.(`SIGKILL to ${describe(rest)}, still running ${elapsed} ms after the stop began`);
        this.signal('SIGKILL');
      }
      if (killSent && elapsed >= timing.sigkillAfterMs + AFTER_KILL_WAIT_MS) {
        const left = this.members();
        if (left.length > 0) this.tracking.log?.(`could not stop ${describe(left)}`);
        if (this.exitInfo) return this.exitInfo;
        return await this.exited;
      }
      const nextStage = !termSent ? timing.sigtermAfterMs : !killSent ? timing.sigkillAfterMs : timing.sigkillAfterMs + AFTER_KILL_WAIT_MS;
      const wait = this.hasExited ? Math.min(SCAN_INTERVAL_MS, Math.max(0, nextStage - elapsed)) : Math.max(0, nextStage - elapsed);
      await new Promise<void>((resolve) => {
        // Not unref'd: after the child exited, nothing else may keep a stopping process alive until
        // the grandchildren are gone (the wait is bounded by the SIGKILL stage).
        const timer = setTimeout(resolve, wait);
        if (!this.hasExited) {
          void this.exited.then(() => {
            clearTimeout(timer);
            resolve();
          });
        }
      });
    }
  }
}

function describe(processes: readonly ProcStat[]): string {
  const pids = processes.map((p) => p.pid);
  return `pid${pids.length === 1 ? '' : 's'} ${pids.slice(0, 10).join(', ')}${pids.length > 10 ? ` and ${pids.length - 10} more` : ''}`;
}

function spawnErrorText(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'program not found (ENOENT); check the command and PATH';
    case 'EACCES':
      return 'permission denied (EACCES); the program is not executable';
    default:
      return err.message;
  }
}

/**
 * The MCP transport over a child's stdin/stdout. It closes when the child exits or its stdout ends,
 * so requests in flight fail at once instead of hanging.
 */
export class ChildStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly buffer = new ReadBuffer();
  private closed = false;

  constructor(private readonly child: StdioChild) {}

  async start(): Promise<void> {
    const { stdout } = this.child.process;
    stdout?.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (err) {
          this.onerror?.(new Error(`server wrote a line that is not JSON-RPC to stdout: ${(err as Error).message}`));
          continue;
        }
        if (message === null) break;
        this.queue.push(message);
      }
      if (!this.draining) this.drain();
    });
    // 'close' comes after exit and the end of stdio, so the exit status is known by then. A
    // grandchild holding the pipe open must not keep calls waiting: close soon after exit anyway.
    this.child.process.once('close', () => this.markClosed());
    void this.child.exited.then(() => setTimeout(() => this.markClosed(), 500).unref());
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child.process.stdin;
    if (this.closed || !stdin || stdin.destroyed) throw new ControlPlaneError('CHILD_GONE', 'server process has exited');
    await new Promise<void>((resolve, reject) => {
      stdin.write(serializeMessage(message), (err) => (err ? reject(err) : resolve()));
    });
  }

  private queue: JSONRPCMessage[] = [];
  private draining = false;

  /**
   * The SDK runs notification handlers a microtask later but settles responses at once, so a
   * progress notification followed by its response in the same chunk would be dropped as
   * "unknown token". After a notification, later messages wait one macrotask.
   */
  private drain(): void {
    this.draining = true;
    while (this.queue.length > 0) {
      const message = this.queue.shift()!;
      this.onmessage?.(message);
      if (!('id' in message) && this.queue.length > 0) {
        setImmediate(() => this.drain());
        return;
      }
    }
    this.draining = false;
  }

  /** Ends stdin; the supervisor decides about signals. */
  async close(): Promise<void> {
    this.child.process.stdin?.end();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.onclose?.();
  }
}
