// `mcpcp status`, `mcpcp server start|stop|restart NAME`, `mcpcp reload` and `mcpcp service
// install|uninstall`: the headless operations commands. The running instance's side is control.ts.
import { instanceBase, instanceFetch } from './instance-http';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { loadConfigFile } from '../core/config/load';
import { ControlPlaneError, errorMessage } from '../core/errors';
import { describeLeftovers } from '../core/supervisor/instance-record';
import { describeStatus, statePhrase } from '../core/supervisor/state';
import { parseArgs, stringFlag, UsageError, type ParsedArgs } from './args';
import type { ReloadResult, StatusBody } from './control';
import { dataDirFrom, readInstances, type InstanceRecord } from './data-dir';
import { approverCredential, pickInstance } from './oversight-commands';
import { plural, utcStamp } from '../core/display/words';

/** `mcpcp status` exit codes: cron and health scripts branch on them. */
export const STATUS_EXIT = { healthy: 0, degraded: 1, noInstance: 2 } as const;

type InstanceReport = { instance: InstanceRecord; body: StatusBody } | { instance: InstanceRecord; error: string };

/** Why an instance is degraded; empty when every enabled server runs and the audit log is writable. */
export function degradedReasons(report: InstanceReport): string[] {
  if ('error' in report) return [`instance pid ${report.instance.pid} is not answering: ${report.error}`];
  const reasons = report.body.servers.filter((s) => s.state.kind !== 'running').map((s) => `${s.name} ${statePhrase(s.state.kind)}${s.lastError ? ` (${s.lastError})` : ''}`);
  // A problem of a server that is listed (as failed) is said once, by its state.
  const listed = new Set(report.body.servers.map((s) => s.name));
  for (const p of report.body.problems ?? []) if (p.server === undefined || !listed.has(p.server)) reasons.push(`configuration: ${p.message}`);
  const audit = report.body.audit;
  if (audit?.state === 'failing') reasons.push(`the audit log cannot be written (${audit.lastError}): calls are refused`);
  if (reasons.length === 0 && report.body.readiness && !report.body.readiness.ready) reasons.push(`not ready: ${report.body.readiness.reasons.join('; ')}`);
  return reasons;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir', 'pid', 'interval'], ['json', 'watch']);
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  if (!args.flags.has('watch')) return statusOnce(args, dataDir);
  const seconds = Number(stringFlag(args, 'interval') ?? 2);
  if (!Number.isFinite(seconds) || seconds < 0.1) throw new UsageError(`--interval is a number of seconds (at least 0.1), not "${stringFlag(args, 'interval')}"`);
  // Re-renders until Ctrl-C (or SIGTERM); the exit code is the one of the last state shown.
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let code: number = STATUS_EXIT.noInstance;
  while (!stopped) {
    if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
    if (!args.flags.has('json')) process.stdout.write(`${new Date().toISOString()}  (every ${seconds} s; Ctrl-C to stop)\n`);
    code = await statusOnce(args, dataDir);
    if (stopped) break;
    await new Promise<void>((r) => {
      const timer = setTimeout(r, seconds * 1000);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
  return code;
}

async function statusOnce(args: ParsedArgs, dataDir: string): Promise<number> {
  const pid = stringFlag(args, 'pid');
  let instances = await readInstances(dataDir);
  if (pid !== undefined) instances = instances.filter((i) => String(i.pid) === pid);
  const reports = await Promise.all(instances.map((i) => fetchStatus(i)));
  const codes = reports.map((r) => (degradedReasons(r).length === 0 ? STATUS_EXIT.healthy : STATUS_EXIT.degraded));
  const code = reports.length === 0 ? STATUS_EXIT.noInstance : Math.max(...codes);
  if (args.flags.has('json')) {
    const instancesJson = reports.map((r) => ('error' in r ? { pid: r.instance.pid, port: r.instance.port, error: r.error } : { ...r.body, pid: r.instance.pid, port: r.instance.port }));
    process.stdout.write(`${JSON.stringify({ status: code === 0 ? 'healthy' : code === 1 ? 'degraded' : 'no-instance', instances: instancesJson })}\n`);
    return code;
  }
  if (reports.length === 0) {
    process.stdout.write(pid !== undefined ? `no running instance with pid ${pid} (data directory ${dataDir})\n` : `no running instance (data directory ${dataDir})\n`);
    return code;
  }
  for (const r of reports) {
    process.stdout.write(`instance pid ${r.instance.pid}, gateway ${instanceBase(r.instance)}, started ${r.instance.startedAt} in ${r.instance.cwd}\n`);
    if ('error' in r) {
      process.stdout.write(`  not answering: ${r.error}\n`);
    } else {
      const { readiness, audit } = r.body;
      if (readiness) process.stdout.write(`  ready: ${readiness.ready ? 'yes' : `NO (${readiness.reasons.join('; ')})`}\n`);
      if (audit?.state === 'failing') {
        process.stdout.write(
          `  audit: FAILING since ${utcStamp(audit.since)}: ${audit.lastError}; ${plural(audit.refusedCount, 'call')} refused, ${plural(audit.lostRecords, 'record')} not written so far; calls resume by themselves once it can be written\n`,
        );
      } else if (audit) {
        process.stdout.write('  audit: ok\n');
      }
      const rows = r.body.servers.map((s) => [s.name, describeStatus(s), 'pid' in s.state ? String(s.state.pid ?? '-') : '-', String(s.restarts), String(s.toolCount)]);
      const header = ['SERVER', 'STATE', 'PID', 'RESTARTS', 'TOOLS'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
      for (const row of [header, ...rows]) process.stdout.write(`  ${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
      for (const s of r.body.servers.filter((x) => x.lastError)) process.stdout.write(`  ${s.name}: last error: ${s.lastError}\n`);
      for (const s of r.body.servers) if (s.state.kind === 'stopped' && s.state.reason) process.stdout.write(`  ${s.name}: ${s.state.reason}\n`);
      for (const p of r.body.waiting ?? []) {
        if (p.kind === 'device') process.stdout.write(`  device ${p.name} (${p.destination ?? ''}): waiting for consent: mcpcp consent grant ${p.id}\n`);
      }
      for (const line of r.body.policy ?? []) process.stdout.write(`  policy: ${line}\n`);
      for (const l of r.body.leftovers ?? []) process.stdout.write(`  at start: ${describeLeftovers(l)}\n`);
    }
    const reasons = degradedReasons(r);
    process.stdout.write(reasons.length === 0 ? '  healthy: every enabled server is running\n' : `  degraded: ${reasons.join('; ')}\n`);
  }
  if (reports.length > 1 && pid === undefined) {
    process.stderr.write(`${reports.length} instances are running (pids ${reports.map((r) => r.instance.pid).join(', ')}); the exit code is the worst of them: choose one with --pid\n`);
  }
  return code;
}

async function fetchStatus(instance: InstanceRecord): Promise<InstanceReport> {
  try {
    const res = await instanceFetch(instance, '/status', { headers: { authorization: `Bearer ${instance.token}` }, signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return { instance, body: (await res.json()) as StatusBody };
  } catch (err) {
    return { instance, error: errorMessage(err) };
  }
}

const SERVER_USAGE = 'mcpcp server start|stop|restart NAME [--pid PID] [--data-dir DIR]';

/** `mcpcp server start|stop|restart NAME`: the approver credential and a confirmation on a terminal. */
export async function serverCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir', 'pid'], []);
  const [action, name, extra] = args.positionals;
  if ((action !== 'start' && action !== 'stop' && action !== 'restart') || !name || extra !== undefined) throw new UsageError(SERVER_USAGE);
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  const instance = await pickInstance(dataDir, stringFlag(args, 'pid'));
  const credential = await approverCredential();
  const current = await fetchStatus(instance);
  if ('body' in current && !current.body.servers.some((s) => s.name === name)) {
    throw new ControlPlaneError('UNKNOWN_SERVER', `no server named "${name}" in instance pid ${instance.pid}; known: ${current.body.servers.map((s) => s.name).join(', ') || 'none'}`);
  }
  if (!(await confirm(action, `${action} server ${name} of instance pid ${instance.pid}`))) return 1;
  const body = await control<{ status: { state: { kind: string } } }>(instance, credential, `servers/${encodeURIComponent(name)}/${action}`);
  process.stdout.write(`${name}: ${body.status.state.kind}\n`);
  return 0;
}

/** `mcpcp reload`: re-reads the running instance's configuration file (as SIGHUP does). */
export async function reloadCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir', 'pid'], []);
  if (args.positionals.length > 0) throw new UsageError('mcpcp reload [--pid PID] [--data-dir DIR]');
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  const instance = await pickInstance(dataDir, stringFlag(args, 'pid'));
  const credential = await approverCredential();
  if (!(await confirm('reload', `reload the configuration of instance pid ${instance.pid}`))) return 1;
  const result = await control<ReloadResult>(instance, credential, 'reload');
  process.stdout.write(`${describeReload(result)}\n`);
  return 0;
}

export function describeReload(r: ReloadResult): string {
  const parts = [`reloaded ${r.file ?? 'the embedded default configuration'}`];
  if (r.added.length) parts.push(`started ${r.added.join(', ')}`);
  if (r.restarted.length) parts.push(`restarted ${r.restarted.join(', ')} (definition changed)`);
  if (r.removed.length) parts.push(`stopped ${r.removed.join(', ')} (no longer configured)`);
  parts.push(r.unchanged.length ? `unchanged: ${r.unchanged.join(', ')}` : 'no server unchanged');
  for (const d of r.deferred ?? []) parts.push(d);
  return parts.join('; ');
}

/** A human confirms on a terminal, as for `mcpcp approvals approve`: piped input is refused. */
async function confirm(word: string, what: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new ControlPlaneError('CONFIRMATION_NEEDED', `${word} needs an interactive confirmation on a terminal`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = (await rl.question(`${what[0]!.toUpperCase()}${what.slice(1)}? Type "${word}" to confirm: `)).trim();
  rl.close();
  if (answer !== word) process.stderr.write('not confirmed; nothing changed\n');
  return answer === word;
}

async function control<T>(instance: InstanceRecord, credential: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await instanceFetch(instance, `/control/${path}`, { method: 'POST', headers: { 'x-approver-credential': credential }, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new ControlPlaneError('NO_INSTANCE', `instance pid ${instance.pid} is not answering on port ${instance.port}: ${errorMessage(err)}`);
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ControlPlaneError('CONTROL_FAILED', body.error ?? `HTTP ${res.status}`);
  return body;
}

// ---- service ---------------------------------------------------------------------------------------

const SERVICE_USAGE = 'mcpcp service install --config FILE [--data-dir DIR] [--port N] [--name NAME] [--force] | uninstall [--name NAME]';

/** The systemd user unit folder: $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user. */
export function userUnitDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'systemd', 'user');
}

/** `mcpcp service install|uninstall`: a systemd user unit that runs `mcpcp serve --config FILE`. */
export async function serviceCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['config', 'data-dir', 'port', 'name'], ['force']);
  const [action] = args.positionals;
  const name = stringFlag(args, 'name') ?? 'mcpcp';
  if (!/^[A-Za-z0-9_.@-]+$/.test(name)) throw new UsageError(`--name "${name}" may hold only letters, digits and _ . @ -`);
  const unitFile = join(userUnitDir(), `${name}.service`);
  switch (action) {
    case 'install': {
      const configFlag = stringFlag(args, 'config');
      // A service has no terminal on which a person could consent to a workspace's configuration:
      // it runs the file the operator names, never one found in its working directory.
      if (!configFlag) throw new UsageError('mcpcp service install needs --config FILE: a service has no terminal to consent to a workspace configuration, so it must name its configuration file');
      const config = resolve(configFlag);
      await loadConfigFile(config); // refuse a missing or invalid file now, not at the first boot
      const portFlag = stringFlag(args, 'port');
      if (portFlag !== undefined && !/^\d{1,5}$/.test(portFlag)) throw new UsageError(`--port must be a number from 0 to 65535, not "${portFlag}"`);
      if (existsSync(unitFile) && !args.flags.has('force')) throw new ControlPlaneError('SERVICE_EXISTS', `${unitFile} exists; pass --force to replace it, or \`mcpcp service uninstall\` first`);
      const dataFlag = stringFlag(args, 'data-dir');
      const unit = renderUnit({
        node: process.execPath,
        cli: realpathSync(process.argv[1]!),
        config,
        ...(dataFlag ? { dataDir: resolve(dataFlag) } : {}),
        ...(portFlag ? { port: portFlag } : {}),
      });
      await mkdir(dirname(unitFile), { recursive: true });
      await writeFile(unitFile, unit, { mode: 0o644 });
      process.stdout.write(`wrote ${unitFile}\n`);
      process.stderr.write(
        [
          'Next steps:',
          '  systemctl --user daemon-reload',
          `  systemctl --user enable --now ${name}`,
          `  loginctl enable-linger "$USER"     # keep it running while you are logged out`,
          `  journalctl --user -u ${name} -f   # its log`,
          '  mcpcp approver-credential rotate   # the service cannot show its first credential',
          `Reload the configuration with \`systemctl --user reload ${name}\` (SIGHUP) or \`mcpcp reload\`.`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    case 'uninstall': {
      if (!existsSync(unitFile)) {
        process.stderr.write(`${unitFile} does not exist; nothing to remove\n`);
        return 1;
      }
      const text = await readFile(unitFile, 'utf8');
      if (!text.includes(UNIT_MARKER)) throw new ControlPlaneError('SERVICE_FOREIGN', `${unitFile} was not written by mcpcp service install; remove it yourself`);
      await rm(unitFile);
      process.stdout.write(`removed ${unitFile}\n`);
      process.stderr.write(`If it was running: systemctl --user disable --now ${name} && systemctl --user daemon-reload\n`);
      return 0;
    }
    default:
      throw new UsageError(SERVICE_USAGE);
  }
}

const UNIT_MARKER = '# Written by `mcpcp service install`';

/** The unit text: `mcpcp serve --config FILE`, reloaded with SIGHUP, restarted on failure. */
export function renderUnit(o: { node: string; cli: string; config: string; dataDir?: string; port?: string }): string {
  const exec = [o.node, o.cli, 'serve', '--config', o.config, ...(o.dataDir ? ['--data-dir', o.dataDir] : []), ...(o.port ? ['--port', o.port] : [])];
  const kill = existsSync('/bin/kill') ? '/bin/kill' : '/usr/bin/kill';
  return [
    UNIT_MARKER,
    '[Unit]',
    'Description=MCP Control Plane (mcpcp serve)',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec.map(unitQuote).join(' ')}`,
    `ExecReload=${kill} -HUP $MAINPID`,
    `WorkingDirectory=${dirname(o.config).replace(/%/g, '%%')}`,
    // The client token, when fixed (MCPCP_CLIENT_TOKEN=…), and server secrets' environment: optional.
    'EnvironmentFile=-%h/.config/mcpcp/service.env',
    'Restart=on-failure',
    'RestartSec=5',
    'UMask=0077',
    'NoNewPrivileges=yes',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/** One ExecStart word: double-quoted with C escapes; `%` and `$` escaped from systemd's expansion. */
function unitQuote(word: string): string {
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_./:@=+,-]+$/.test(word) ? escaped : `"${escaped}"`;
}
