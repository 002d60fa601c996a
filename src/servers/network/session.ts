/**
 * The one CLI driver: it reads a platform definition and drives an interactive shell with it.
 * Login finds the prompt (confirmed by a second prompt, so a banner line that looks like one does
 * not fool it), learns the hostname, moves to the privileged level (enable password when needed)
 * and turns paging off. A command is written, its echo found, the pager answered while the
 * device pages, confirmation prompts answered when the caller allows them, and the output is
 * what lies between the echo and the next prompt, cleaned of terminal control sequences.
 *
 * Guarantees: one command at a time (callers serialise; the pool does); a session whose state is
 * unknown after a timeout is closed, never reused; secrets sent (enable) are never logged or
 * echoed into outputs. Linux devices use one SSH exec channel per command instead (`ExecSession`).
 */
import { ControlPlaneError } from '../../core/errors';
import type { Logger } from '../kit';
import { NetworkErrorCode, type ShellChannel, type SshConnection } from './client';
import type { ConfirmPrompt, Level, PlatformDefinition } from './platforms';

export interface CommandOptions {
  readonly timeoutMs: number;
  /** Output kept at most; beyond it the rest is dropped (and a pager is answered with "q"). */
  readonly maxBytes: number;
  /** Prompts that may be answered while this command runs. */
  readonly answers?: readonly ConfirmPrompt[];
  readonly signal?: AbortSignal | undefined;
}

export interface CommandResult {
  readonly text: string;
  readonly truncated: boolean;
  /** Level of the prompt that ended the output (undefined for exec sessions). */
  readonly level: Level | undefined;
  /** The first line matching the platform's error patterns, with the line before it when it is a `^` marker. */
  readonly error: string | undefined;
}

/** What the pool and the tools use, whatever the transport. */
export interface Session {
  readonly device: string;
  readonly platform: PlatformDefinition;
  readonly isClosed: boolean;
  run(command: string, options: CommandOptions): Promise<CommandResult>;
  close(): void;
}

export interface SessionOptions {
  readonly device: string;
  readonly platform: PlatformDefinition;
  readonly enableSecret?: string | undefined;
  readonly loginTimeoutMs: number;
  readonly log: Logger;
}

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHM]|\x1b\][^\x07]*\x07/g;

/** Terminal output to text: ANSI sequences removed, CR/LF normalised, backspaces and bare CRs applied. */
export function cleanTerminal(raw: string): string {
  let s = raw.replace(ANSI, '').replace(/\r+\n/g, '\n').replace(/[\x00\x07]/g, '');
  if (s.includes('\b')) {
    let prev;
    do {
      prev = s;
      s = s.replace(/[^\n\b]\x08/g, '');
    } while (s !== prev);
    s = s.replace(/\x08/g, '');
  }
  if (s.includes('\r')) {
    s = s
      .split('\n')
      .map((line) => {
        if (!line.includes('\r')) return line;
        let out = '';
        for (const seg of line.split('\r')) out = seg + out.slice(seg.length);
        return out.trimEnd();
      })
      .join('\n');
  }
  return s;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A platform prompt pattern with the learned hostname and user filled in, anchored at the line start. */
export function promptRegex(source: string, host: string, user: string): RegExp {
  const filled = source
    .replace('{host:20}', `${escapeRe(host.slice(0, 20))}${host.length > 20 ? `(?:${escapeRe(host.slice(20))})?` : ''}`)
    .replace(/\{host\}/g, escapeRe(host))
    .replace(/\{user\}/g, escapeRe(user));
  return new RegExp(`^${filled}`);
}

function lastLine(text: string): string {
  const i = text.lastIndexOf('\n');
  return i < 0 ? text : text.slice(i + 1);
}

function firstError(platform: PlatformDefinition, lines: readonly string[]): string | undefined {
  const patterns = platform.errorPatterns.map((p) => new RegExp(p));
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (patterns.some((p) => p.test(line))) {
      const before = lines[i - 1] ?? '';
      return /^\s*\^\s*$/.test(before) ? `${before.trimEnd()}\n${line}` : line;
    }
  }
  return undefined;
}

const TAIL = 4096;

/** An interactive CLI session on a shell channel. */
export class ShellSession implements Session {
  readonly device: string;
  readonly platform: PlatformDefinition;
  private raw = '';
  private notify: (() => void) | undefined;
  private channelClosed = false;
  private broken = false;
  private host = '';
  private user = '';
  private prompts: [Level, RegExp][] = [];
  private current: Level = 'privileged';

  private constructor(
    private readonly conn: SshConnection,
    private readonly channel: ShellChannel,
    private readonly options: SessionOptions,
  ) {
    this.device = options.device;
    this.platform = options.platform;
    channel.onData((text) => {
      this.raw += text;
      this.notify?.();
    });
    channel.onClose(() => {
      this.channelClosed = true;
      this.notify?.();
    });
  }

  /** Opens the shell and logs in to the CLI (prompt, privilege, paging off). */
  static async open(conn: SshConnection, options: SessionOptions, signal?: AbortSignal): Promise<ShellSession> {
    const channel = await conn.shell();
    const session = new ShellSession(conn, channel, options);
    try {
      await session.login(signal);
    } catch (err) {
      session.close();
      throw err;
    }
    return session;
  }

  get isClosed(): boolean {
    return this.channelClosed || this.broken || this.conn.isClosed;
  }

  get level(): Level {
    return this.current;
  }

  get hostname(): string {
    return this.host;
  }

  close(): void {
    this.broken = true;
    this.channel.close();
    this.conn.close();
  }

  /** Waits until `check` returns a value, re-evaluated on every chunk of output. */
  private async until<T>(check: () => T | undefined, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
    const first = check();
    if (first !== undefined) return first;
    return new Promise<T>((resolve, reject) => {
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        clearInterval(tick);
        signal?.removeEventListener('abort', onAbort);
        this.notify = undefined;
        fn();
      };
      const onAbort = (): void => {
        this.broken = true;
        finish(() => reject(new ControlPlaneError(NetworkErrorCode.cancelled, `${this.device}: ${what} cancelled`)));
      };
      const timer = setTimeout(() => {
        // The device is in an unknown state: this session is never reused.
        this.broken = true;
        const tail = cleanTerminal(this.raw.slice(-300)).trim().split('\n').slice(-3).join(' | ');
        finish(() =>
          reject(
            new ControlPlaneError(NetworkErrorCode.timeout, `${this.device}: ${what}: no prompt within ${Math.round(timeoutMs / 1000)} s${tail === '' ? '' : ` (last output: "${tail}")`}`, {
              details: { timedOut: true, device: this.device, hint: 'Raise timeoutSeconds for slow commands, or check that the platform of the device is right in the inventory.' },
            }),
          ),
        );
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      // Conditions that depend on quiet time (a prompt that changed) need a clock, not only data.
      const tick = setInterval(() => this.notify?.(), 100);
      this.notify = () => {
        if (this.channelClosed || this.conn.isClosed) {
          finish(() => reject(new ControlPlaneError(NetworkErrorCode.dropped, `${this.device}: the connection dropped during ${what}`, { details: { device: this.device } })));
          return;
        }
        let value: T | undefined;
        try {
          value = check();
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (value !== undefined) finish(() => resolve(value));
      };
      if (this.channelClosed || this.conn.isClosed) this.notify();
    });
  }

  private tail(): string {
    return cleanTerminal(this.raw.length > TAIL ? this.raw.slice(-TAIL) : this.raw);
  }

  private levelOf(line: string): Level | undefined {
    const l = line.trimEnd();
    for (const [level, re] of this.prompts) if (re.test(l) || re.test(line)) return level;
    return undefined;
  }

  private learn(line: string): boolean {
    const m = new RegExp(`^${this.platform.anyPrompt}`).exec(line.trim() === '' ? line : line.trimStart());
    if (m === null) return false;
    this.host = m.groups?.['host'] ?? '';
    this.user = m.groups?.['user'] ?? '';
    this.prompts = (Object.entries(this.platform.prompts) as [Level, string][]).map(([level, src]) => [level, promptRegex(src, this.host, this.user)]);
    return true;
  }

  private async login(signal?: AbortSignal): Promise<void> {
    const timeout = this.options.loginTimeoutMs;
    const anyPrompt = new RegExp(`^${this.platform.anyPrompt}`);
    const shellPrompt = this.platform.shell === undefined ? undefined : new RegExp(this.platform.shell.prompt);
    // Some devices print their prompt only after a key: nudge once when the line stays quiet.
    const nudge = setTimeout(() => this.channel.write('\n'), 1_500);
    let line: string;
    try {
      line = await this.until(
        () => {
          const last = lastLine(this.tail());
          if (anyPrompt.test(last.trimStart())) return last;
          if (shellPrompt?.test(last) === true) return last;
          return undefined;
        },
        timeout,
        'login (waiting for the first prompt)',
        signal,
      );
    } finally {
      clearTimeout(nudge);
    }
    if (shellPrompt?.test(line) === true && !anyPrompt.test(line.trimStart()) && this.platform.shell !== undefined) {
      this.raw = '';
      this.channel.write(`${this.platform.shell.command}\n`);
      line = await this.until(() => {
        const last = lastLine(this.tail());
        return anyPrompt.test(last.trimStart()) ? last : undefined;
      }, timeout, 'login (entering the CLI from the shell)', signal);
    }
    // Confirm: the same prompt must come back for an empty line (a banner line can look like a prompt).
    for (let attempt = 0; ; attempt++) {
      const candidate = line.trim();
      this.raw = '';
      this.channel.write('\n');
      line = await this.until(() => {
        const text = this.tail();
        const last = lastLine(text);
        // Only a prompt after our newline counts: the text must contain a line break before it.
        return text.includes('\n') && anyPrompt.test(last.trimStart()) ? last : undefined;
      }, timeout, 'login (confirming the prompt)', signal);
      if (line.trim() === candidate || attempt >= 3) break;
    }
    if (!this.learn(line.trim())) {
      throw new ControlPlaneError(NetworkErrorCode.promptNotFound, `${this.device}: could not read a ${this.platform.title} prompt (got "${line.trim()}")`, {
        details: { device: this.device, hint: 'Check the platform of this device in the inventory.' },
      });
    }
    const level = this.levelOf(line.trim());
    if (level === undefined) {
      throw new ControlPlaneError(NetworkErrorCode.promptNotFound, `${this.device}: the prompt "${line.trim()}" matches no ${this.platform.title} privilege level`, {
        details: { device: this.device },
      });
    }
    this.current = level;
    if (this.current === 'config') await this.toLevel('privileged', signal);
    if (this.current === 'user' && this.platform.enable !== undefined && this.options.enableSecret !== undefined) await this.enable(signal);
    for (const cmd of this.platform.sessionSetup) {
      await this.run(cmd, { timeoutMs: timeout, maxBytes: 64_000, signal });
    }
    this.options.log.debug(`${this.device}: logged in, prompt "${line.trim()}", level ${this.current}`);
  }

  private async enable(signal?: AbortSignal, sent?: (command: string) => void): Promise<void> {
    const enable = this.platform.enable;
    if (enable === undefined) return;
    const secret = this.options.enableSecret;
    if (secret === undefined) {
      throw new ControlPlaneError(NetworkErrorCode.enableFailed, `${this.device} is at user level and its credential has no enable secret`, {
        details: { device: this.device, hint: `Add "enable: \${secret:...}" to the credential of ${this.device} in the inventory.` },
      });
    }
    const passwordPrompt = new RegExp(enable.passwordPrompt);
    this.raw = '';
    sent?.(enable.command);
    this.channel.write(`${enable.command}\n`);
    let answeredAt = -1;
    let prompts = 0;
    const level = await this.until(() => {
      const last = lastLine(this.tail());
      if (this.raw.length > answeredAt && passwordPrompt.test(last)) {
        answeredAt = this.raw.length;
        // The secret goes once; a second prompt means it was refused: empty answers end the retries.
        this.channel.write(prompts++ === 0 ? `${secret}\n` : '\n');
        return undefined;
      }
      const text = this.tail();
      return text.includes('\n') ? this.levelOf(last) : undefined;
    }, this.options.loginTimeoutMs, 'enable', signal);
    this.current = level;
    if (level !== 'privileged') {
      throw new ControlPlaneError(NetworkErrorCode.enableFailed, `${this.device}: the enable secret was not accepted`, {
        details: { device: this.device, hint: `Check the enable secret referenced by the credential of ${this.device}.` },
      });
    }
  }

  /**
   * Moves to `target` (privileged or config), through the platform's commands; `sent` sees each
   * command as it goes out (`enable`, `configure terminal`, `end`; never the enable secret).
   */
  async toLevel(target: Level, signal?: AbortSignal, sent?: (command: string) => void): Promise<void> {
    if (this.current === target) return;
    const opts = { timeoutMs: this.options.loginTimeoutMs, maxBytes: 64_000, answers: this.platform.confirmPrompts, signal };
    if (target === 'config') {
      if (this.current === 'user') await this.enable(signal, sent);
      const enter = this.platform.config?.enter;
      if (enter === undefined) throw new ControlPlaneError(NetworkErrorCode.unsupported, `${this.platform.title} has no configuration mode`);
      sent?.(enter);
      const res = await this.run(enter, opts);
      if (this.current !== 'config') {
        throw new ControlPlaneError(NetworkErrorCode.configFailed, `${this.device}: could not enter configuration mode: ${res.error ?? res.text.trim()}`, { details: { device: this.device } });
      }
      return;
    }
    if (this.current === 'config') {
      const exit = this.platform.config?.exit ?? 'end';
      sent?.(exit);
      await this.run(exit, opts);
      if (this.current === 'config') throw new ControlPlaneError(NetworkErrorCode.configFailed, `${this.device}: could not leave configuration mode`);
    }
    if (target === 'privileged' && this.current === 'user') await this.enable(signal, sent);
  }

  /** Enters configuration mode with a custom command (e.g. with a revert timer); returns its output. */
  async enterConfig(command: string, signal?: AbortSignal): Promise<CommandResult> {
    await this.toLevel('privileged', signal);
    const res = await this.run(command, { timeoutMs: this.options.loginTimeoutMs, maxBytes: 64_000, signal });
    return res;
  }

  async run(command: string, options: CommandOptions): Promise<CommandResult> {
    if (this.isClosed) throw new ControlPlaneError(NetworkErrorCode.dropped, `${this.device}: the session is closed`, { details: { device: this.device } });
    const pager = this.platform.pager === undefined ? undefined : new RegExp(this.platform.pager.pattern);
    const answers = (options.answers ?? []).map((a) => ({ re: new RegExp(a.pattern), reply: a.reply }));
    const trimmed = command.trim();
    this.raw = '';
    let answeredAt = -1;
    let truncated = false;
    let head = '';
    const start = Date.now();
    const anyPrompt = new RegExp(`^${this.platform.anyPrompt}`);
    let seenLength = 0;
    let grewAt = start;
    this.channel.write(`${command}\n`);
    const result = await this.until(
      () => {
        // Keep memory bounded: beyond the cap only the tail is kept (for prompt detection).
        if (this.raw.length > options.maxBytes + TAIL) {
          if (!truncated) head = this.raw.slice(0, options.maxBytes);
          truncated = true;
          const dropped = this.raw.length - TAIL;
          this.raw = this.raw.slice(-TAIL);
          // Positions are relative to `raw`: a prompt already answered stays answered.
          answeredAt -= dropped;
        }
        const text = this.tail();
        const last = lastLine(text);
        if (this.raw.length > answeredAt) {
          if (pager?.test(last) === true) {
            answeredAt = this.raw.length;
            this.channel.write(truncated ? 'q' : (this.platform.pager?.reply ?? ' '));
            return undefined;
          }
          const answer = answers.find((a) => a.re.test(last));
          if (answer !== undefined) {
            answeredAt = this.raw.length;
            this.channel.write(`${answer.reply}\n`);
            return undefined;
          }
        }
        if (this.raw.length !== seenLength) {
          seenLength = this.raw.length;
          grewAt = Date.now();
        }
        let level = this.levelOf(last);
        if (level === undefined) {
          // The hostname changed (hostname / host-name in this change): a prompt of the platform
          // after the echo, then quiet, is the new prompt.
          if (!anyPrompt.test(last.trimStart()) || Date.now() - grewAt < 300 || !cleanTerminal(this.raw).includes(trimmed)) return undefined;
          const was = this.host;
          if (!this.learn(last.trim())) return undefined;
          level = this.levelOf(last);
          if (level === undefined) return undefined;
          this.options.log.info(`${this.device}: prompt hostname changed from "${was}" to "${this.host}"`);
        }
        const full = cleanTerminal(truncated ? `${head}\n${this.raw}` : this.raw);
        const lines = full.split('\n');
        const echo = lines.findIndex((l) => l.includes(trimmed));
        if (echo >= 0 && echo < lines.length - 1) return { level, lines: lines.slice(echo + 1, -1) };
        // A device that does not echo: accept the prompt after a short grace period.
        if (echo < 0 && Date.now() - start > 1_000) return { level, lines: lines.slice(0, -1) };
        return undefined;
      },
      options.timeoutMs,
      `"${trimmed}"`,
      options.signal,
    );
    this.current = result.level;
    const noise = this.platform.noiseLines.map((p) => new RegExp(p));
    const lines = [...result.lines];
    // Context lines right before the prompt ([edit], {master:0}) are not output.
    while (lines.length > 0 && ((lines[lines.length - 1] ?? '').trim() === '' || noise.some((n) => n.test((lines[lines.length - 1] ?? '').trim())))) lines.pop();
    while (lines.length > 0 && (lines[0] ?? '').trim() === '') lines.shift();
    let text = lines.join('\n');
    if (truncated) text = text.slice(0, options.maxBytes);
    return { text, truncated, level: result.level, error: firstError(this.platform, lines) };
  }
}

/** A device reached through SSH exec channels (Linux): no prompts, one channel per command. */
export class ExecSession implements Session {
  constructor(
    readonly device: string,
    readonly platform: PlatformDefinition,
    private readonly conn: SshConnection,
  ) {}

  get isClosed(): boolean {
    return this.conn.isClosed;
  }

  async run(command: string, options: CommandOptions): Promise<CommandResult> {
    const res = await this.conn.exec(command, options);
    const text = res.stdout.replace(/\r\n/g, '\n').replace(/\n+$/, '');
    const error = res.exitCode === 0 ? undefined : `exit code ${res.exitCode ?? 'unknown'}${res.stderr.trim() === '' ? '' : `: ${res.stderr.trim().split('\n').slice(0, 5).join(' | ')}`}`;
    return { text, truncated: res.truncated, level: undefined, error };
  }

  close(): void {
    this.conn.close();
  }
}
