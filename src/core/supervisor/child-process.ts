import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError } from '../errors';
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

const isWindows = process.platform === 'win32';

/**
 * A child process speaking MCP over stdio. On POSIX it leads its own process group so that a stop
 * reaches grandchildren too (an `npx` wrapper and the server it runs); on Windows the tree is
 * killed with `taskkill /T`. `exited` settles once, with how it ended.
 */
export class StdioChild {
  readonly process: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;

  private constructor(child: ChildProcess) {
    this.process = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal, at: Date.now() };
        resolve(this.exitInfo);
      });
    });
  }

  /**
   * Spawns the child and waits until it has a pid. ENOENT, EACCES and similar become a
   * `ControlPlaneError` with code `SPAWN_FAILED` and `details.errno`.
   */
  static async spawn(spec: SpawnSpec): Promise<StdioChild> {
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
        resolve(new StdioChild(child));
      });
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Sends a signal to the child's whole process tree. */
  signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (this.hasExited) return;
    const pid = this.process.pid;
    if (pid === undefined) return;
    if (isWindows) {
      // Windows has no signals: taskkill /T ends the tree (/F when killing).
      const args = ['/pid', String(pid), '/T', ...(signal === 'SIGKILL' ? ['/F'] : [])];
      spawn('taskkill', args, { stdio: 'ignore', windowsHide: true }).on('error', () => this.process.kill());
      return;
    }
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.process.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }

  /**
   * Stops in stages: close stdin (our servers exit at once), SIGTERM the tree after
   * `sigtermAfterMs`, SIGKILL it after `sigkillAfterMs`. Timers are unref'd. Resolves on exit.
   */
  async stop(timing: StopTiming = DEFAULT_STOP_TIMING): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.process.stdin?.end();
    const term = setTimeout(() => this.signal('SIGTERM'), timing.sigtermAfterMs);
    const kill = setTimeout(() => this.signal('SIGKILL'), timing.sigkillAfterMs);
    term.unref();
    kill.unref();
    try {
      return await this.exited;
    } finally {
      clearTimeout(term);
      clearTimeout(kill);
    }
  }
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
