import { ControlPlaneError } from '../errors';

/** Where a call was when the stop reached it; the message says what that means for the caller. */
export type StopPhase = 'new' | 'waiting' | 'running';

/**
 * One request's view of a stop. `wait` aborts when the client cancels or the stop begins (approval,
 * queue and server-start waits end at once); `run` aborts when the client cancels or the drain
 * time is over (a forwarded call gets until then to finish).
 */
export interface DrainTicket {
  readonly wait: AbortSignal;
  readonly run: AbortSignal;
  /** True when the stop, not the client, ended a wait or the run. */
  stoppedBy(): boolean;
  leave(): void;
}

interface Entry {
  wait: AbortController;
  run: AbortController;
  done: Promise<void>;
  finish: () => void;
}

/**
 * The gateway's drain on stop (SIGTERM, SIGINT, VS Code closing): from `begin`, new requests are
 * refused and waiting ones end at once with an error naming the stop; requests already forwarded
 * get `timeoutMs` to finish, then end with that error too. `begin` resolves when every request
 * has its answer.
 */
export class Drain {
  private reasonText: string | undefined;
  private timeoutMs = 0;
  private readonly entries = new Set<Entry>();

  /** The stop's reason once it began (`SIGTERM`, `VS Code is closing`...). */
  get reason(): string | undefined {
    return this.reasonText;
  }

  /** Requests registered now (in flight or waiting). */
  get size(): number {
    return this.entries.size;
  }

  get stopping(): boolean {
    return this.reasonText !== undefined;
  }

  /** Registers a request; `leave` when it has its answer. */
  enter(client: AbortSignal): DrainTicket {
    const wait = new AbortController();
    const run = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const entry: Entry = { wait, run, done, finish };
    const onClient = (): void => {
      wait.abort(client.reason);
      run.abort(client.reason);
    };
    if (client.aborted) onClient();
    else client.addEventListener('abort', onClient, { once: true });
    if (this.stopping) wait.abort(this.error('waiting'));
    this.entries.add(entry);
    return {
      wait: wait.signal,
      run: run.signal,
      stoppedBy: () => this.stopping && !client.aborted && (wait.signal.aborted || run.signal.aborted),
      leave: () => {
        client.removeEventListener('abort', onClient);
        this.entries.delete(entry);
        finish();
      },
    };
  }

  /** The error a request gets from the stop, by where it was. */
  error(phase: StopPhase, server?: string): ControlPlaneError {
    const why = `The MCP control plane stopped (${this.reasonText ?? 'stopping'})`;
    const text =
      phase === 'new'
        ? `${why}: it takes no new calls. Nothing ran; call again once it is back.`
        : phase === 'waiting'
          ? `${why} while this call was waiting (for an approval, its turn, or the server to start). It did not run; call again once the control plane is back.`
          : `${why} and ${server ? `server "${server}"` : 'the server'} did not answer within the ${Math.round(this.timeoutMs / 100) / 10} s the stop allows. The call may have taken effect: check before calling again.`;
    return new ControlPlaneError('STOPPED', text, { details: { phase } });
  }

  /** Begins the drain and resolves once every request registered has its answer. Idempotent. */
  async begin(reason: string, timeoutMs: number): Promise<void> {
    if (!this.stopping) {
      this.reasonText = reason;
      this.timeoutMs = timeoutMs;
      for (const e of this.entries) e.wait.abort(this.error('waiting'));
    }
    const all = Promise.all([...this.entries].map((e) => e.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
    if (timer) clearTimeout(timer);
    if (timedOut) {
      for (const e of this.entries) e.run.abort(this.error('running'));
      // A cancelled forward ends at once; only its audit record is still written. Bounded anyway.
      await Promise.race([Promise.all([...this.entries].map((e) => e.done)), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    }
  }
}
