// The session pool and the fan-out limiter, with a real in-process Session implementation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControlPlaneError } from '../../../src/core/errors';
import { silentLogger } from '../../../src/servers/kit';
import { PLATFORMS } from '../../../src/servers/network/platforms';
import { Limiter, SessionPool } from '../../../src/servers/network/pool';
import type { CommandOptions, CommandResult, Session } from '../../../src/servers/network/session';

class CountingSession implements Session {
  readonly platform = PLATFORMS.cisco_ios;
  closed = false;
  running = 0;
  maxRunning = 0;
  constructor(
    readonly device: string,
    private readonly dropOnce: { done: boolean },
  ) {}
  get isClosed(): boolean {
    return this.closed;
  }
  async run(command: string, _options: CommandOptions): Promise<CommandResult> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 5));
    this.running--;
    if (command === 'drop' && !this.dropOnce.done) {
      this.dropOnce.done = true;
      this.closed = true;
      throw new ControlPlaneError('CONNECTION_DROPPED', 'dropped');
    }
    return { text: command, truncated: false, level: 'privileged', error: undefined };
  }
  close(): void {
    this.closed = true;
  }
}

describe('session pool', () => {
  it('one session per device, one command at a time, in arrival order', async () => {
    const opened: CountingSession[] = [];
    const pool = new SessionPool({ idleMs: 10_000, log: silentLogger, open: async (d) => { const s = new CountingSession(d, { done: true }); opened.push(s); return s; } });
    const order: string[] = [];
    await Promise.all(Array.from({ length: 5 }, (_, i) => pool.use('r1', async (s) => { order.push(String(i)); return s.run(String(i), { timeoutMs: 1000, maxBytes: 100 }); }, { retryOnDrop: false })));
    assert.equal(opened.length, 1);
    assert.equal(opened[0]?.maxRunning, 1);
    assert.deepEqual(order, ['0', '1', '2', '3', '4']);
    pool.close();
    assert.equal(opened[0]?.closed, true);
  });

  it('reconnects once and retries repeatable work after a drop; never retries a change', async () => {
    const flag = { done: false };
    let opens = 0;
    const pool = new SessionPool({ idleMs: 10_000, log: silentLogger, open: async (d) => { opens++; return new CountingSession(d, flag); } });
    const r = await pool.use('r1', (s) => s.run('drop', { timeoutMs: 1000, maxBytes: 100 }), { retryOnDrop: true });
    assert.equal(r.text, 'drop');
    assert.equal(opens, 2);
    flag.done = false;
    await assert.rejects(pool.use('r1', (s) => s.run('drop', { timeoutMs: 1000, maxBytes: 100 }), { retryOnDrop: false }), /dropped/);
    assert.equal(opens, 2);
    pool.close();
  });

  it('the limiter bounds concurrency and serves waiters in order', async () => {
    const limiter = new Limiter(2);
    let active = 0;
    let max = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        limiter.run(async () => {
          active++;
          max = Math.max(max, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
          done.push(i);
        }),
      ),
    );
    assert.equal(max, 2);
    assert.deepEqual(done, [0, 1, 2, 3, 4, 5]);
  });
});
