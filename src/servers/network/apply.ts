/**
 * Safe configuration changes, by the platform's commit strategy (data in platforms.ts):
 *
 * - commit-confirmed (Junos): private candidate, the lines, `show | compare`, `commit check`,
 *   `commit confirmed N`, a post-check over a new SSH connection, then a confirming commit. A line
 *   the device rejects discards the candidate (nothing was committed); a failed post-check rolls
 *   back at once (`rollback 1` + commit) or, when the device is unreachable, by itself after N
 *   minutes.
 * - archive-replace (IOS, IOS-XE): the running config saved to a flash file, then
 *   `configure terminal revert timer N` (falls back to plain `configure terminal` when the archive
 *   is not configured: the backup is the net), the lines, a post-check, `configure confirm`. On a
 *   rejected line or a failed post-check: `configure replace <backup> force`.
 * - checkpoint (NX-OS): a named checkpoint, the lines, a post-check; on failure
 *   `rollback running-config checkpoint`.
 *
 * Every report says which lines were applied, where it stopped, what the device said and whether
 * the device was rolled back. Lines that would leave configuration mode or run exec commands
 * (`end`, `do ...`; Junos `run`, `commit`, `exit`...) are refused before anything is sent.
 */
import { randomBytes } from 'node:crypto';
import { ControlPlaneError } from '../../core/errors';
import { NetworkErrorCode } from './client';
import { checkCommand } from './command-policy';
import type { ConfirmPrompt, PlatformDefinition } from './platforms';
import type { NetworkService, Target } from './services';
import { ShellSession, type CommandResult, type Session } from './session';

export interface PostCheck {
  /** A read-only command run over a new connection after the change. */
  readonly command?: string | undefined;
  /** Regex its output must match. */
  readonly expect?: string | undefined;
}

export interface ApplyOptions {
  readonly minutes: number;
  readonly comment: string;
  readonly postCheck: PostCheck;
  readonly signal: AbortSignal;
}

export type ApplyStatus = 'applied' | 'unchanged' | 'failed' | 'rolled-back' | 'rollback-pending' | 'rollback-failed';

export interface ApplyReport {
  readonly device: string;
  readonly status: ApplyStatus;
  /** Lines the device accepted (in order), before any rollback. */
  readonly applied: number;
  readonly total: number;
  readonly failedLine?: { readonly index: number; readonly line: string; readonly error: string };
  readonly error?: string;
  /** The device's own diff (Junos `show | compare`). */
  readonly deviceDiff?: string;
  readonly backup?: string;
  /** What happened, step by step, for the report. */
  readonly steps: readonly string[];
}

const JUNOS_VERBS = ['set', 'delete', 'deactivate', 'activate', 'rename', 'insert', 'annotate', 'protect', 'unprotect'];

/** Refuses lines that would escape configuration mode; throws INVALID_ARGUMENT naming the line. */
export function preflight(platform: PlatformDefinition, lines: readonly string[]): void {
  if (platform.commit.kind === 'none') {
    throw new ControlPlaneError(NetworkErrorCode.unsupported, platform.commit.reason, { details: { field: 'devices' } });
  }
  if (lines.length === 0) throw new ControlPlaneError('INVALID_ARGUMENT', 'Invalid "lines": no configuration lines', { details: { field: 'lines' } });
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const bad = (why: string): never => {
      throw new ControlPlaneError('INVALID_ARGUMENT', `Invalid "lines": line ${i + 1} "${line}" ${why}`, { details: { field: 'lines', hint: 'Send configuration statements only; the server enters and leaves configuration mode itself.' } });
    };
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(raw)) bad('contains control characters');
    if (line.length > 1024) bad('is longer than 1024 characters');
    if (platform.commit.kind === 'commit-confirmed') {
      const verb = line.split(/\s+/)[0] ?? '';
      if (!JUNOS_VERBS.includes(verb)) bad(`starts with "${verb}": only ${JUNOS_VERBS.join(', ')} statements are applied (full paths, no edit)`);
    } else {
      if (/^end$/i.test(line)) bad('would leave configuration mode');
      if (/^do\s/i.test(line)) bad('runs an exec command from configuration mode');
    }
  });
}

/** A sortable id for backups and checkpoints (UTC, milliseconds, random tail): 20261122-013000-123-ab12. */
export function changeId(now = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}-${p(now.getUTCMilliseconds(), 3)}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (values[k] === undefined ? m : String(values[k])));
}

/** The exact commands the strategy sends, in order (for the preview). */
export function plannedCommands(platform: PlatformDefinition, lines: readonly string[], minutes: number, comment: string): string[] {
  const c = platform.commit;
  const url = c.kind === 'archive-replace' ? fill(c.backupUrl, { id: '<id>' }) : '';
  switch (c.kind) {
    case 'commit-confirmed':
      return [c.enter, ...lines, c.compare, c.check, fill(c.commitConfirmed, { minutes, comment }), c.exit, '(post-check over a new connection)', c.enter, fill(c.confirm, { comment }), c.exit];
    case 'archive-replace':
      return [fill(c.backup, { url }), fill(c.enterWithTimer, { minutes }), ...lines, platform.config?.exit ?? 'end', '(post-check over a new connection)', c.confirm];
    case 'checkpoint':
      return [fill(c.create, { name: 'mcpcp-<id>' }), platform.config?.enter ?? 'configure terminal', ...lines, platform.config?.exit ?? 'end', '(post-check over a new connection)'];
    case 'none':
      return [];
  }
}

/** What the strategy does if something fails, for the preview. */
export function safetyNote(platform: PlatformDefinition, minutes: number): string {
  const c = platform.commit;
  switch (c.kind) {
    case 'commit-confirmed':
      return `commit confirmed ${minutes}: confirmed only after the post-check passes; a rejected line discards the private candidate; a failed post-check rolls back (rollback 1), or the device rolls back by itself after ${minutes} min.`;
    case 'archive-replace':
      return `running config saved to flash first; revert timer ${minutes} min (when the archive is configured); a rejected line or failed post-check restores the backup with configure replace.`;
    case 'checkpoint':
      return 'checkpoint first; a rejected line or failed post-check restores it with rollback running-config checkpoint.';
    case 'none':
      return c.reason;
  }
}

function shell(session: Session): ShellSession {
  if (!(session instanceof ShellSession)) throw new ControlPlaneError(NetworkErrorCode.unsupported, `${session.device}: configuration needs an interactive CLI`);
  return session;
}

interface Ctx {
  readonly s: ShellSession;
  readonly platform: PlatformDefinition;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly steps: string[];
}

async function send(ctx: Ctx, command: string, answers: readonly ConfirmPrompt[] = []): Promise<CommandResult> {
  const res = await ctx.s.run(command, { timeoutMs: ctx.timeoutMs, maxBytes: 2_000_000, answers, signal: ctx.signal });
  ctx.steps.push(`${command}${res.error === undefined ? '' : `  -> ${res.error.split('\n').pop() ?? ''}`}`);
  return res;
}

/** Moves the session to `level`; the commands that takes (`configure terminal`, `end`, `enable`) are reported like the others. */
async function toLevel(ctx: Ctx, level: 'privileged' | 'config'): Promise<void> {
  await ctx.s.toLevel(level, ctx.signal, (command) => ctx.steps.push(command));
}

/** Runs the post-check on a new connection; returns an error text, or undefined when it passed. */
async function postCheck(network: NetworkService, target: Target, spec: PostCheck, signal: AbortSignal): Promise<string | undefined> {
  const command = spec.command ?? (target.platform.facts.kind === 'junos-json' ? 'show system uptime' : 'show version');
  const checked = checkCommand(target.platform, command);
  let session: Session | undefined;
  try {
    session = await network.openSession(target.device.name, signal);
    if (session instanceof ShellSession) await session.toLevel('privileged', signal);
    const res = await session.run(checked.text, { timeoutMs: target.device.timeoutSeconds * 1000, maxBytes: 1_000_000, signal });
    if (res.error !== undefined) return `"${checked.text}" was rejected: ${res.error}`;
    if (spec.expect !== undefined && !new RegExp(spec.expect, 'm').test(res.text)) return `"${checked.text}" output does not match /${spec.expect}/`;
    return undefined;
  } catch (err) {
    return `could not run the post-check: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    session?.close();
  }
}

/** Sends each line in configuration mode; stops at the first the device rejects or that leaves the mode. */
async function sendLines(ctx: Ctx, lines: readonly string[]): Promise<{ applied: number; failed?: { index: number; line: string; error: string } }> {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const res = await send(ctx, line);
    if (res.error !== undefined) return { applied: i, failed: { index: i + 1, line, error: res.error } };
    if (ctx.s.level !== 'config') return { applied: i + 1, failed: { index: i + 1, line, error: 'the line left configuration mode' } };
  }
  return { applied: lines.length };
}

/** Applies `lines` to one device with its platform's safe strategy; never throws for a device-side failure (it reports it). */
export async function applyChange(network: NetworkService, target: Target, lines: readonly string[], opts: ApplyOptions): Promise<ApplyReport> {
  preflight(target.platform, lines);
  return network.withSession(
    target.device.name,
    async (session) => {
      const ctx: Ctx = { s: shell(session), platform: target.platform, timeoutMs: target.device.timeoutSeconds * 1000, signal: opts.signal, steps: [] };
      await toLevel(ctx, 'privileged');
      const c = target.platform.commit;
      if (c.kind === 'commit-confirmed') return junos(network, target, ctx, c, lines, opts);
      if (c.kind === 'archive-replace') return archive(network, target, ctx, c, lines, opts);
      if (c.kind === 'checkpoint') return checkpoint(network, target, ctx, c, lines, opts);
      throw new ControlPlaneError(NetworkErrorCode.unsupported, c.reason);
    },
    { retryOnDrop: false, signal: opts.signal },
  );
}

type Strategy<K extends PlatformDefinition['commit']['kind']> = Extract<PlatformDefinition['commit'], { kind: K }>;

async function junos(network: NetworkService, target: Target, ctx: Ctx, c: Strategy<'commit-confirmed'>, lines: readonly string[], opts: ApplyOptions): Promise<ApplyReport> {
  const base = { device: target.device.name, total: lines.length, steps: ctx.steps };
  const answers = target.platform.confirmPrompts;
  const discard = async (): Promise<void> => {
    await send(ctx, c.discard);
    await send(ctx, c.exit, answers);
  };
  const enter = await send(ctx, c.enter);
  if (enter.error !== undefined || ctx.s.level !== 'config') {
    if (ctx.s.level === 'config') await send(ctx, c.exit, answers);
    return { ...base, status: 'failed', applied: 0, error: `could not open a private candidate: ${enter.error ?? enter.text}` };
  }
  const sent = await sendLines(ctx, lines);
  if (sent.failed !== undefined) {
    await discard();
    return { ...base, status: 'rolled-back', applied: sent.applied, failedLine: sent.failed, error: 'the device rejected a line; the private candidate was discarded, nothing was committed' };
  }
  const cmp = await send(ctx, c.compare);
  const deviceDiff = cmp.text.trim();
  if (deviceDiff === '') {
    await send(ctx, c.exit, answers);
    return { ...base, status: 'unchanged', applied: sent.applied, deviceDiff };
  }
  const check = await send(ctx, c.check);
  if (check.error !== undefined || !new RegExp(c.checkSuccess).test(check.text)) {
    await discard();
    return { ...base, status: 'rolled-back', applied: sent.applied, deviceDiff, error: `commit check failed: ${check.error ?? check.text.trim()}; nothing was committed` };
  }
  const commit = await send(ctx, fill(c.commitConfirmed, { minutes: opts.minutes, comment: opts.comment }));
  if (commit.error !== undefined || !new RegExp(c.commitSuccess).test(commit.text)) {
    await discard();
    return { ...base, status: 'rolled-back', applied: sent.applied, deviceDiff, error: `commit failed: ${commit.error ?? commit.text.trim()}` };
  }
  await send(ctx, c.exit, answers);
  const failed = await postCheck(network, target, opts.postCheck, opts.signal);
  ctx.steps.push(failed === undefined ? '(post-check passed)' : `(post-check failed: ${failed})`);
  if (failed === undefined) {
    let problem: string | undefined;
    try {
      await send(ctx, c.enter);
      const confirm = await send(ctx, fill(c.confirm, { comment: opts.comment }));
      await send(ctx, c.exit, answers);
      if (confirm.error !== undefined || !new RegExp(`${c.commitSuccess}|${c.checkSuccess}`).test(confirm.text)) problem = confirm.error ?? confirm.text.trim();
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    if (problem !== undefined) {
      return { ...base, status: 'rollback-pending', applied: sent.applied, deviceDiff, error: `the change could not be confirmed (${problem}): the device rolls back by itself within ${opts.minutes} min (commit confirmed)` };
    }
    return { ...base, status: 'applied', applied: sent.applied, deviceDiff };
  }
  try {
    await send(ctx, c.enter);
    await send(ctx, fill(c.rollback, { n: 1 }));
    const undo = await send(ctx, `commit comment "${opts.comment} (post-check failed, rolled back)"`);
    await send(ctx, c.exit, answers);
    if (undo.error === undefined && new RegExp(c.commitSuccess).test(undo.text)) {
      return { ...base, status: 'rolled-back', applied: sent.applied, deviceDiff, error: `post-check failed: ${failed}; rolled back (rollback 1)` };
    }
  } catch {
    // The session is gone too: the confirmed-commit timer will restore the device.
  }
  return { ...base, status: 'rollback-pending', applied: sent.applied, deviceDiff, error: `post-check failed: ${failed}; the device rolls back by itself within ${opts.minutes} min (commit confirmed)` };
}

async function archive(network: NetworkService, target: Target, ctx: Ctx, c: Strategy<'archive-replace'>, lines: readonly string[], opts: ApplyOptions): Promise<ApplyReport> {
  const base = { device: target.device.name, total: lines.length, steps: ctx.steps };
  const answers = target.platform.confirmPrompts;
  const url = fill(c.backupUrl, { id: changeId() });
  const backup = await send(ctx, fill(c.backup, { url }), answers);
  if (backup.error !== undefined) return { ...base, status: 'failed', applied: 0, error: `could not save the backup ${url}: ${backup.error}; nothing was changed` };
  let timer = true;
  const enter = await send(ctx, fill(c.enterWithTimer, { minutes: opts.minutes }));
  if (enter.error !== undefined || ctx.s.level !== 'config') {
    timer = false;
    ctx.steps.push('(revert timer unavailable: protected by the backup only)');
    await toLevel(ctx, 'config');
  }
  const restore = async (why: string, applied: number, failedLine?: ApplyReport['failedLine']): Promise<ApplyReport> => {
    try {
      await toLevel(ctx, 'privileged');
      const r = await send(ctx, fill(c.restore, { url }), answers);
      if (timer) await send(ctx, c.confirm);
      if (r.error === undefined && new RegExp(c.restoreSuccess).test(r.text)) return { ...base, status: 'rolled-back', applied, backup: url, error: `${why}; restored ${url} with configure replace`, ...(failedLine === undefined ? {} : { failedLine }) };
      return { ...base, status: 'rollback-failed', applied, backup: url, error: `${why}; configure replace ${url} failed: ${r.error}`, ...(failedLine === undefined ? {} : { failedLine }) };
    } catch (err) {
      const pending = timer ? `the revert timer restores the previous configuration within ${opts.minutes} min` : `restore it with config_rollback (backup ${url})`;
      return { ...base, status: timer ? 'rollback-pending' : 'rollback-failed', applied, backup: url, error: `${why}; the rollback could not run (${err instanceof Error ? err.message : String(err)}): ${pending}`, ...(failedLine === undefined ? {} : { failedLine }) };
    }
  };
  const sent = await sendLines(ctx, lines);
  if (sent.failed !== undefined) return restore('the device rejected a line', sent.applied, sent.failed);
  await toLevel(ctx, 'privileged');
  const failed = await postCheck(network, target, opts.postCheck, opts.signal);
  ctx.steps.push(failed === undefined ? '(post-check passed)' : `(post-check failed: ${failed})`);
  if (failed !== undefined) return restore(`post-check failed: ${failed}`, sent.applied);
  if (timer) {
    let problem: string | undefined;
    try {
      problem = (await send(ctx, c.confirm)).error;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    if (problem !== undefined) {
      return { ...base, status: 'rollback-pending', applied: sent.applied, backup: url, error: `configure confirm failed (${problem}): the revert timer restores the previous configuration within ${opts.minutes} min` };
    }
  }
  return { ...base, status: 'applied', applied: sent.applied, backup: url };
}

async function checkpoint(network: NetworkService, target: Target, ctx: Ctx, c: Strategy<'checkpoint'>, lines: readonly string[], opts: ApplyOptions): Promise<ApplyReport> {
  const base = { device: target.device.name, total: lines.length, steps: ctx.steps };
  const name = `mcpcp-${changeId()}`;
  const made = await send(ctx, fill(c.create, { name }));
  if (made.error !== undefined) return { ...base, status: 'failed', applied: 0, error: `could not create checkpoint ${name}: ${made.error}; nothing was changed` };
  const restore = async (why: string, applied: number, failedLine?: ApplyReport['failedLine']): Promise<ApplyReport> => {
    try {
      await toLevel(ctx, 'privileged');
      const r = await send(ctx, fill(c.restore, { name }));
      if (r.error === undefined && new RegExp(c.restoreSuccess).test(r.text)) return { ...base, status: 'rolled-back', applied, backup: name, error: `${why}; restored checkpoint ${name}`, ...(failedLine === undefined ? {} : { failedLine }) };
      return { ...base, status: 'rollback-failed', applied, backup: name, error: `${why}; rollback to ${name} failed: ${r.error}`, ...(failedLine === undefined ? {} : { failedLine }) };
    } catch (err) {
      return { ...base, status: 'rollback-failed', applied, backup: name, error: `${why}; the rollback could not run (${err instanceof Error ? err.message : String(err)}): restore checkpoint ${name} with config_rollback`, ...(failedLine === undefined ? {} : { failedLine }) };
    }
  };
  await toLevel(ctx, 'config');
  const sent = await sendLines(ctx, lines);
  if (sent.failed !== undefined) return restore('the device rejected a line', sent.applied, sent.failed);
  await toLevel(ctx, 'privileged');
  const failed = await postCheck(network, target, opts.postCheck, opts.signal);
  ctx.steps.push(failed === undefined ? '(post-check passed)' : `(post-check failed: ${failed})`);
  if (failed !== undefined) return restore(`post-check failed: ${failed}`, sent.applied);
  return { ...base, status: 'applied', applied: sent.applied, backup: name };
}

/** Names of the backups (IOS flash files) or checkpoints (NX-OS) this server made, oldest first. */
export async function listBackups(network: NetworkService, target: Target, signal: AbortSignal): Promise<string[]> {
  const c = target.platform.commit;
  if (c.kind !== 'archive-replace' && c.kind !== 'checkpoint') return [];
  const res = await network.readCommand(target.device.name, c.list, { signal });
  if (res.error !== undefined) throw new ControlPlaneError(NetworkErrorCode.commandRejected, `${target.device.name}: "${c.list}" failed: ${res.error}`);
  const re = new RegExp(c.listPattern);
  return res.text
    .split('\n')
    .map((l) => re.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .sort();
}

/** Restores a backup or checkpoint (IOS, NX-OS) or commits `rollback N` (Junos). */
export async function rollbackDevice(network: NetworkService, target: Target, to: { backup?: string; n?: number }, opts: { comment: string; signal: AbortSignal }): Promise<{ ok: boolean; output: string; steps: string[] }> {
  return network.withSession(
    target.device.name,
    async (session) => {
      const ctx: Ctx = { s: shell(session), platform: target.platform, timeoutMs: target.device.timeoutSeconds * 1000, signal: opts.signal, steps: [] };
      await toLevel(ctx, 'privileged');
      const c = target.platform.commit;
      const answers = target.platform.confirmPrompts;
      if (c.kind === 'commit-confirmed') {
        await send(ctx, c.enter);
        const r = await send(ctx, fill(c.rollback, { n: to.n ?? 1 }));
        if (r.error !== undefined) {
          await send(ctx, c.exit, answers);
          return { ok: false, output: r.error, steps: ctx.steps };
        }
        const cmp = await send(ctx, c.compare);
        const commit = await send(ctx, `commit comment "${opts.comment}"`);
        await send(ctx, c.exit, answers);
        return { ok: commit.error === undefined && new RegExp(c.commitSuccess).test(commit.text), output: cmp.text.trim() === '' ? '(no difference)' : cmp.text.trim(), steps: ctx.steps };
      }
      if (c.kind === 'archive-replace') {
        const url = `${c.backupUrl.split(':')[0]}:${to.backup ?? ''}`;
        const r = await send(ctx, fill(c.restore, { url }), answers);
        return { ok: r.error === undefined && new RegExp(c.restoreSuccess).test(r.text), output: r.error ?? r.text.trim(), steps: ctx.steps };
      }
      if (c.kind === 'checkpoint') {
        const r = await send(ctx, fill(c.restore, { name: to.backup ?? '' }));
        return { ok: r.error === undefined && new RegExp(c.restoreSuccess).test(r.text), output: r.error ?? r.text.trim(), steps: ctx.steps };
      }
      throw new ControlPlaneError(NetworkErrorCode.unsupported, c.reason);
    },
    { retryOnDrop: false, signal: opts.signal },
  );
}

/** Junos: the diff `rollback N` would make, from a private candidate that is then discarded. */
export async function junosRollbackDiff(network: NetworkService, target: Target, n: number, signal: AbortSignal): Promise<string> {
  return network.withSession(
    target.device.name,
    async (session) => {
      const ctx: Ctx = { s: shell(session), platform: target.platform, timeoutMs: target.device.timeoutSeconds * 1000, signal, steps: [] };
      const c = target.platform.commit;
      if (c.kind !== 'commit-confirmed') return '';
      await toLevel(ctx, 'privileged');
      await send(ctx, c.enter);
      const r = await send(ctx, fill(c.rollback, { n }));
      const cmp = r.error === undefined ? await send(ctx, c.compare) : r;
      await send(ctx, c.discard);
      await send(ctx, c.exit, target.platform.confirmPrompts);
      if (r.error !== undefined) throw new ControlPlaneError(NetworkErrorCode.commandRejected, `${target.device.name}: rollback ${n}: ${r.error}`, { details: { field: 'rollback' } });
      return cmp.text.trim();
    },
    { retryOnDrop: true, signal },
  );
}
