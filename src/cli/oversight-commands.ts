// `mcpcp approvals …`, `mcpcp audit …` and `mcpcp approver-credential rotate`: the headless
// human-oversight commands.
import { instanceFetch } from './instance-http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { APPROVER_CREDENTIAL_PREFIX, rotateApproverCredential } from '../core/approvals';
import {
  auditVerifyExitCode,
  defaultAuditKeyFile,
  exportAudit,
  fileAuditKeyStorage,
  parseAuditKeyring,
  queryAudit,
  rotateStoredAuditKeyring,
  secretReferenceAuditKeyStorage,
  verifyAudit,
  type AuditFilter,
  type AuditKeyring,
} from '../core/audit';
import { loadConfigFile } from '../core/config/load';
import type { Config } from '../core/config/schema';
import { FileSecretStore, expandReferences, secretEnvName } from '../core/secrets/secret-store';
import { exportPostgresAudit, queryPostgresAudit } from '../core/audit/postgres';
import { verifyPostgresAudit } from '../core/audit/postgres-verify';
import { openPostgres, type PgPool } from '../core/storage/postgres';
import { ControlPlaneError, errorMessage } from '../core/errors';
import { displayArgs, fold, formatDisplayArgs, formatEffect, visible } from '../core/display';
import type { ApprovalView } from '../protocol/ui';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom, ensureDataDir, readInstances, type InstanceRecord } from './data-dir';
import { plural } from '../core/display/words';

/** The header the gateway's /ui API accepts instead of a browser session (see docs/ui.md). */
const CREDENTIAL_HEADER = 'x-approver-credential';

export async function approvalsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir', 'reason', 'pid'], ['json']);
  const [action, id] = args.positionals;
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  const instance = await pickInstance(dataDir, stringFlag(args, 'pid'));
  const credential = await approverCredential();
  const base = '/ui/api/approvals';
  const headers = { [CREDENTIAL_HEADER]: credential, 'content-type': 'application/json' };
  switch (action) {
    case 'list': {
      const pending = await getJson<{ approvals: ApprovalView[] }>(instance, base, headers);
      if (args.flags.has('json')) {
        process.stdout.write(`${JSON.stringify(pending)}\n`);
        return 0;
      }
      if (pending.approvals.length === 0) process.stdout.write('no pending approvals\n');
      for (const a of pending.approvals) process.stdout.write(`${describeApproval(a, 'summary')}\n`);
      return 0;
    }
    case 'approve':
    case 'reject': {
      if (!id) throw new UsageError(`mcpcp approvals ${action} ID [--reason TEXT]`);
      const { approvals } = await getJson<{ approvals: ApprovalView[] }>(instance, base, headers);
      const approval = approvals.find((a) => a.id === id || a.id.startsWith(id));
      if (!approval) throw new ControlPlaneError('APPROVAL_NOT_FOUND', `no pending approval ${id}; list them with \`mcpcp approvals list\``);
      process.stdout.write(`${describeApproval(approval, 'full')}\n`);
      // A human confirms on a terminal: piped input is refused, so nothing automated answers for them.
      if (!process.stdin.isTTY) throw new ControlPlaneError('CONFIRMATION_NEEDED', `${action} needs an interactive confirmation on a terminal`);
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = (await rl.question(`${action === 'approve' ? 'Approve' : 'Reject'} ${visible(approval.tool)} on ${visible(approval.server)}${flagSummary(approval)}? Type "${action}" to confirm: `)).trim();
      rl.close();
      if (answer !== action) {
        process.stderr.write('not confirmed; nothing decided\n');
        return 1;
      }
      const reason = stringFlag(args, 'reason');
      const res = await instanceFetch(instance, `${base}/${encodeURIComponent(approval.id)}`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ approve: action === 'approve', digest: approval.digest, ...(reason ? { reason } : {}) }),
      });
      const body = (await res.json().catch(() => ({}))) as { status?: string; error?: string; note?: string };
      if (!res.ok) throw new ControlPlaneError('DECISION_FAILED', body.error ?? `HTTP ${res.status}`);
      process.stdout.write(`${visible(approval.id)}: ${visible(body.status ?? action)}${body.note ? ` (${visible(body.note)})` : ''}\n`);
      return 0;
    }
    default:
      throw new UsageError('mcpcp approvals list | approve ID | reject ID [--reason TEXT] [--pid PID]');
  }
}

const AUDIT_USAGE =
  'mcpcp audit verify [--dir D] [--key-file F] [--checkpoint-dir C] [--config F [--postgres]] | rotate-key [--key-file F] | query | export [--format jsonl|csv] [--server S] [--tool T] [--type T] [--decision D] [--outcome O] [--from ISO] [--to ISO] [--config F [--postgres]]';

export async function auditCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir', 'dir', 'key-file', 'checkpoint-dir', 'server', 'tool', 'type', 'decision', 'outcome', 'from', 'to', 'limit', 'format', 'config'], ['json', 'postgres']);
  const [action] = args.positionals;
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  // --dir: another audit folder (VS Code's: <globalStorage>/audit), verified with --key-file.
  const dir = stringFlag(args, 'dir') !== undefined ? resolve(stringFlag(args, 'dir')!) : join(dataDir, 'audit');
  const filter: AuditFilter = {
    ...(stringFlag(args, 'server') ? { server: stringFlag(args, 'server')! } : {}),
    ...(stringFlag(args, 'tool') ? { tool: stringFlag(args, 'tool')! } : {}),
    ...(stringFlag(args, 'type') ? { type: stringFlag(args, 'type')! } : {}),
    ...(stringFlag(args, 'decision') ? { decision: stringFlag(args, 'decision')! } : {}),
    ...(stringFlag(args, 'outcome') ? { outcome: stringFlag(args, 'outcome')! } : {}),
    ...(stringFlag(args, 'from') ? { from: stringFlag(args, 'from')! } : {}),
    ...(stringFlag(args, 'to') ? { to: stringFlag(args, 'to')! } : {}),
  };
  // A team deployment's audit is in PostgreSQL: --config names the serve configuration with storage.postgres.
  const configFile = stringFlag(args, 'config');
  const wantsDb = args.flags.has('postgres');
  if (wantsDb && configFile === undefined) throw new UsageError('--postgres needs --config FILE: the configuration whose storage.postgres names the database');
  if (configFile !== undefined && (stringFlag(args, 'dir') !== undefined || stringFlag(args, 'checkpoint-dir') !== undefined)) throw new UsageError('--config (the database) and --dir/--checkpoint-dir (files) cannot be combined');
  switch (action) {
    case 'verify': {
      // Exit codes: 0 intact, 1 broken, 3 torn tail after a crash (2: usage, the key or the database missing: no verdict).
      let config: Config | undefined;
      let keys: AuditKeyring;
      try {
        config = configFile !== undefined ? await loadConfigFile(resolve(configFile)) : undefined;
        keys = await cliAuditKeys(stringFlag(args, 'key-file'), dataDir, config);
      } catch (err) {
        // Not a verdict on the log: exit 2, never 0, 1 or 3.
        process.stderr.write(`mcpcp: ${errorMessage(err)}\n`);
        return 2;
      }
      if (config?.storage.postgres !== undefined) return verifyDatabase(config, dataDir, keys, args.flags.has('json'));
      if (wantsDb) {
        process.stderr.write(`mcpcp: ${configFile} has no storage.postgres: nothing to verify in a database\n`);
        return 2;
      }
      const checkpointDir = stringFlag(args, 'checkpoint-dir');
      const result = await verifyAudit(dir, { keys, ...(checkpointDir !== undefined ? { checkpointDir: resolve(checkpointDir) } : {}) });
      if (args.flags.has('json')) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.status === 'broken') {
        const b = result.firstBroken;
        process.stdout.write(`audit BROKEN: ${b ? `${b.file}${b.line > 0 ? `:${b.line}` : ''}: ${b.reason}` : 'see --json'}\n`);
      } else {
        const unkeyed = result.instances.reduce((n, i) => n + i.unkeyedRecords, 0);
        process.stdout.write(`audit ${result.status === 'torn' ? 'INTACT UP TO A TORN TAIL' : 'OK'}: ${plural(result.records, 'record')} in ${plural(result.files, 'file')} (${dir})${unkeyed > 0 ? `; the first ${unkeyed} were written before the keyed format (plain SHA-256)` : ''}\n`);
      }
      if (!args.flags.has('json')) {
        for (const i of result.instances) {
          if (i.removed !== undefined) process.stdout.write(`${i.instance}: ${plural(i.removed.files, 'file')} removed by retention (seq ${i.removed.firstSeq}..${i.removed.lastSeq}), continuity checked\n`);
        }
      }
      for (const t of result.tornTails) {
        process.stdout.write(`torn tail: ${t.file} line ${t.line} (${plural(t.bytes, 'byte')}) was cut short by a crash; the next start of instance ${t.instance} quarantines it\n`);
      }
      return auditVerifyExitCode(result);
    }
    case 'rotate-key': {
      const keyFile = stringFlag(args, 'key-file') ?? defaultAuditKeyFile(dataDir);
      const ring = await rotateStoredAuditKeyring(fileAuditKeyStorage(keyFile));
      process.stdout.write(`audit key rotated: ${ring.current} is current (${ring.keys.size} keys kept in ${keyFile}); running instances switch at their next start\n`);
      return 0;
    }
    case 'query': {
      const limit = Number(stringFlag(args, 'limit') ?? 50);
      const pool = await auditDatabase(configFile, wantsDb, dataDir);
      try {
        const page = pool !== undefined ? await queryPostgresAudit(pool, filter, { limit, order: 'desc' }) : await queryAudit(dir, filter, { limit, order: 'desc' });
        for (const r of page.records) process.stdout.write(`${JSON.stringify(r)}\n`);
        if (page.nextCursor) process.stderr.write(`more records match; narrow the filter or raise --limit\n`);
      } finally {
        await pool?.end();
      }
      return 0;
    }
    case 'export': {
      const format = stringFlag(args, 'format') ?? 'jsonl';
      if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format is jsonl or csv');
      const pool = await auditDatabase(configFile, wantsDb, dataDir);
      try {
        for await (const chunk of pool !== undefined ? exportPostgresAudit(pool, format, filter) : exportAudit(dir, format, filter)) process.stdout.write(chunk);
      } finally {
        await pool?.end();
      }
      return 0;
    }
    default:
      throw new UsageError(AUDIT_USAGE);
  }
}

/** The key ring that verifies: --key-file, else the configuration's audit.keyring secret, else <dataDir>/keys/audit.key. */
async function cliAuditKeys(keyFileFlag: string | undefined, dataDir: string, config: Config | undefined): Promise<AuditKeyring> {
  const reference = keyFileFlag === undefined ? config?.audit.keyring : undefined;
  if (reference !== undefined) {
    const name = reference.slice('${secret:'.length, -1);
    const storage = secretReferenceAuditKeyStorage(name, new FileSecretStore(dataDir), secretEnvName(name));
    const text = await storage.read();
    if (text === undefined) throw new ControlPlaneError('AUDIT_KEY_MISSING', `audit.keyring names the secret ${name}, which is not set here: set ${secretEnvName(name)} to the key ring (or give --key-file)`);
    return parseAuditKeyring(text, storage.where);
  }
  const keyFile = keyFileFlag ?? defaultAuditKeyFile(dataDir);
  const text = await fileAuditKeyStorage(keyFile).read();
  if (text === undefined) throw new ControlPlaneError('AUDIT_KEY_MISSING', `no audit key file at ${keyFile}: give the key that signed the log with --key-file (VS Code: run "MCP Control Plane: Export Audit Key")`);
  return parseAuditKeyring(text, keyFile);
}

/** The pool of the configuration's storage.postgres (its URL secret from the data directory's store or MCPCP_SECRET_*), or undefined for the files. */
async function auditDatabase(configFile: string | undefined, required: boolean, dataDir: string): Promise<PgPool | undefined> {
  if (configFile === undefined) return undefined;
  const config = await loadConfigFile(resolve(configFile));
  const pg = config.storage.postgres;
  if (pg === undefined) {
    if (required) throw new ControlPlaneError('CONFIG_INVALID', `${configFile} has no storage.postgres`);
    return undefined;
  }
  const url = await expandReferences(pg.url, { secrets: new FileSecretStore(dataDir), env: process.env });
  return openPostgres(url, { applicationName: 'mcpcp-audit-cli', poolSize: 2 });
}

/** `mcpcp audit verify` against the database: every writer's chain and every checkpoint. */
async function verifyDatabase(config: Config, dataDir: string, keys: AuditKeyring, json: boolean): Promise<number> {
  let pool: PgPool | undefined;
  try {
    const pg = config.storage.postgres!;
    const url = await expandReferences(pg.url, { secrets: new FileSecretStore(dataDir), env: process.env });
    pool = await openPostgres(url, { applicationName: 'mcpcp-audit-verify', poolSize: 2 });
    const result = await verifyPostgresAudit(pool, { keys });
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.status === 'broken') {
      const b = result.firstBroken!;
      process.stdout.write(`audit BROKEN: ${b.writer === '(checkpoints)' ? `checkpoint ${b.seq}` : `writer ${b.writer} seq ${b.seq}`}: ${b.reason}\n`);
    } else {
      const latest = result.latestCheckpoint;
      process.stdout.write(
        `audit OK: ${plural(result.records, 'record')} from ${plural(result.writers.length, 'writer')} and ${plural(result.checkpoints, 'checkpoint')} (PostgreSQL)${latest ? `; newest checkpoint ${latest.n} at ${latest.ts}, MAC ${latest.mac}` : ''}\n`,
      );
      for (const w of result.writers) process.stdout.write(`${w.writer}: seq 1..${w.lastSeq}${w.checkpointed ? ` (checkpointed through ${w.checkpointed.seq})` : ' (no checkpoint names it yet)'}\n`);
    }
    return result.status === 'broken' ? 1 : 0;
  } catch (err) {
    // The database cannot be read: no verdict.
    process.stderr.write(`mcpcp: ${errorMessage(err)}\n`);
    return 2;
  } finally {
    await pool?.end().catch(() => undefined);
  }
}

/** Replaces the approver credential and prints the new one (the old one stops working). */
export async function approverCredentialCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir'], []);
  if (args.positionals[0] !== 'rotate') throw new UsageError('mcpcp approver-credential rotate');
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  await ensureDataDir(dataDir);
  const { credential } = await rotateApproverCredential(dataDir);
  process.stdout.write(`${credential}\n`);
  process.stderr.write('Keep it: it is shown once. The previous approver credential no longer works.\n');
  return 0;
}

export async function pickInstance(dataDir: string, pid: string | undefined): Promise<InstanceRecord> {
  const instances = await readInstances(dataDir);
  if (instances.length === 0) throw new ControlPlaneError('NO_INSTANCE', `no running instance (data directory ${dataDir}); start one with \`mcpcp serve\``);
  if (pid !== undefined) {
    const found = instances.find((i) => String(i.pid) === pid);
    if (!found) throw new ControlPlaneError('NO_INSTANCE', `no running instance with pid ${pid}; running: ${instances.map((i) => i.pid).join(', ')}`);
    return found;
  }
  if (instances.length > 1) throw new UsageError(`${instances.length} instances are running (pids ${instances.map((i) => i.pid).join(', ')}): choose one with --pid`);
  return instances[0]!;
}

/** The approver credential: MCPCP_APPROVER_CREDENTIAL, else asked for on the terminal (hidden). */
export async function approverCredential(): Promise<string> {
  const fromEnv = process.env['MCPCP_APPROVER_CREDENTIAL'];
  if (fromEnv) return fromEnv.trim();
  if (!process.stdin.isTTY) throw new ControlPlaneError('CREDENTIAL_NEEDED', 'set MCPCP_APPROVER_CREDENTIAL or run on a terminal to be asked for the approver credential');
  process.stderr.write('approver credential (input hidden): ');
  const stdin = process.stdin;
  stdin.setRawMode(true);
  const chunks: string[] = [];
  const value = await new Promise<string>((resolve) => {
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      if (text.includes('\u0003')) process.exit(130);
      const end = text.search(/[\r\n]/);
      if (end === -1) {
        chunks.push(text);
        return;
      }
      chunks.push(text.slice(0, end));
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(chunks.join(''));
    };
    stdin.on('data', onData);
    stdin.resume();
  });
  if (!value.startsWith(APPROVER_CREDENTIAL_PREFIX)) throw new ControlPlaneError('CREDENTIAL_INVALID', `an approver credential starts with ${APPROVER_CREDENTIAL_PREFIX}`);
  return value;
}

async function getJson<T>(instance: InstanceRecord, url: string, headers: Record<string, string>): Promise<T> {
  const res = await instanceFetch(instance, url, { headers, signal: AbortSignal.timeout(10_000) });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ControlPlaneError('REQUEST_FAILED', body.error ?? `HTTP ${res.status} from ${url}`);
  return body;
}

/** Lines of a string value or preview shown by `approvals list` before "… N more lines". */
const SUMMARY_LINES = 12;

/**
 * An approval as the terminal shows it. Everything that came from the agent or a server (tool,
 * server and client names, reason, arguments, preview) goes through `visible`: escape sequences,
 * bidi and zero-width characters are printed as escapes, never interpreted. Arguments come flags
 * first (`amend`, `force`…), free text last, multi-line values as `│` lines; values that look like
 * secrets are shown (the approver must see what runs) and marked. `summary` (list) cuts long values
 * and previews with a count of what is left out; `full` (approve, reject) shows everything.
 */
export function describeApproval(a: ApprovalView, mode: 'summary' | 'full'): string {
  const client = a.client ? `${visible(a.client.name)}${a.client.version ? ` ${visible(a.client.version)}` : ''}` : 'unknown client';
  const argLines = formatDisplayArgs(a.args, { indent: '    ', width: 100, ...(a.secretPaths ? { secretPaths: a.secretPaths } : {}) });
  const lines = [
    `${visible(a.id)}  ${visible(a.tool)} on ${visible(a.server)}  (${a.kind}; asked by ${client}; expires ${new Date(a.expiresAt).toISOString()})`,
    `  why: ${visible(a.reason)}`,
    ...(a.requestedBy ? [`  requested by: ${visible(a.requestedBy)} (nobody approves their own request)`] : []),
    ...(a.approvals ? [`  approvals: ${a.approvals.given} of ${a.approvals.required} different approvers${a.approvals.by.length ? ` (so far: ${a.approvals.by.map((n) => visible(n)).join(', ')})` : ''}`] : []),
    ...(a.effect ? [`  ${a.kind === 'tool' ? 'changes' : 'reads'} (resolved by the server${a.kind === 'tool' ? '; the call is refused if this changes before it runs' : ''}):`, ...formatEffect(a.effect).map((l) => `    ${l}`)] : []),
    `  arguments (flags first${a.secretPaths?.length ? '; ⚠ marks values that look like secrets: they run as shown' : ''}):`,
    ...cut(argLines, mode === 'summary' ? 40 : Infinity, a.id),
    `  digest: ${visible(a.digest)}`,
  ];
  if (a.preview.text !== undefined) {
    const preview = a.preview.text.split('\n').flatMap((l) => fold(visible(l), 100)).map((l) => `    │ ${l}`);
    lines.push(`  preview${a.preview.secretLooking ? ' (⚠ holds text that looks like a secret)' : ''}:`, ...cut(preview, mode === 'summary' ? SUMMARY_LINES * 3 : Infinity, a.id));
    if (a.preview.truncated) lines.push('    (the preview was cut to fit; the arguments are complete)');
  } else if (a.preview.note) lines.push(`  preview: ${visible(a.preview.note)}`);
  return lines.join('\n');
}

function cut(lines: string[], max: number, id: string): string[] {
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max), `    … ${lines.length - max} more lines: \`mcpcp approvals approve ${visible(id)}\` shows them all before asking`];
}

/** The flags restated next to the prompt: " (amend: true, force: false)", or "" when there are none. */
function flagSummary(a: ApprovalView): string {
  const flags = displayArgs(a.args).filter((r) => r.group === 'flag');
  if (flags.length === 0) return '';
  const shown = flags.slice(0, 8).map((r) => `${r.path}: ${r.lines.join(' ')}`);
  return ` with ${shown.join(', ')}${flags.length > 8 ? `, and ${flags.length - 8} more flags above` : ''}`;
}
