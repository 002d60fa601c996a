// `mcpcp assess` and `mcpcp adopt`: the headless side of adopting third-party MCP servers and of
// the configuration assessment.
import { instanceFetch } from './instance-http';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import {
  adoptServers,
  applyRemediation,
  assessLocations,
  backupRoot,
  describeHistoryScan,
  firstResolver,
  locationForFile,
  mcpConfigLocations,
  nodeModulesResolver,
  npmViewResolver,
  npxCacheResolver,
  parseMcpConfig,
  planAdoption,
  prepareRemediation,
  pypiResolver,
  renderPlan,
  reportToJson,
  reportToMarkdown,
  reportToText,
  ShellPath,
  yamlOwnServers,
  type ActionRecorder,
  type AssessmentReport,
  type McpConfigLocation,
  type SourceInput,
} from '../core/adopt';
import { AuditLog, defaultAuditKeyFile, fileAuditKeyStorage, loadOrCreateAuditKeyring } from '../core/audit';
import { plural } from '../core/display/words';
import { ControlPlaneError, errorMessage } from '../core/errors';
import { Redactor } from '../core/redact';
import { FileSecretStore } from '../core/secrets/secret-store';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom, ensureDataDir, readInstances } from './data-dir';

export const ADOPT_USAGE = `  assess [--json | --markdown] [--fix] [--config FILE] [--data-dir DIR] [FILE…]
        Assess MCP configurations (default: .vscode/mcp.json, .mcp.json and .mcpcp/config.yaml
        here, VS Code's user mcp.json, Claude Desktop's): plaintext secrets, unpinned packages,
        plain-HTTP URLs, bridges on all interfaces, missing timeouts, tool budget, plaintext
        secrets already in the git history, old backups beside the files. --fix offers
        each remediation with its diff for confirmation (backup first). Exit 1 when a critical
        or high finding is reported.
  adopt FILE [--config OUT] [--only NAME,…] [--keep-source] [--data-dir DIR]
        Adopt the servers of an mcp.json / .mcp.json / Claude Desktop file: shows the exact
        commands, asks for confirmation, writes them into OUT (default .mcpcp/config.yaml),
        moves their secrets into the secrets file and removes them from FILE (backup first;
        --keep-source leaves FILE alone).
`;

/** `mcpcp assess`. */
export async function assessCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['config', 'data-dir'], ['json', 'markdown', 'fix']);
  if (args.flags.has('json') && args.flags.has('markdown')) throw new UsageError('--json and --markdown exclude each other');
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  const ownFile = ownConfigFile(stringFlag(args, 'config'));
  const locations = args.positionals.length > 0 ? await namedLocations(args.positionals) : mcpConfigLocations({ workspaceFolders: [process.cwd()], ownConfigFiles: existsSync(ownFile) ? [ownFile] : [] });
  const secrets = new FileSecretStore(dataDir);
  const own = yamlOwnServers(ownFile);
  const report = await assessLocations(locations, {
    workspaceTrusted: true,
    secretNames: await secrets.list().catch(() => []),
    ownServers: existsSync(ownFile) ? await own.read().catch(() => ({})) : {},
    gitHistory: { timeoutMs: 15_000 },
    ...(await runningTools(dataDir)),
  });
  if (args.flags.has('json')) process.stdout.write(reportToJson(report));
  else if (args.flags.has('markdown')) process.stdout.write(reportToMarkdown(report));
  else process.stdout.write(reportToText(report));
  if (args.flags.has('fix')) await fixInteractively(report, { dataDir, secrets, own });
  return report.summary.critical + report.summary.high > 0 ? 1 : 0;
}

/** `mcpcp adopt FILE`. */
export async function adoptCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['config', 'data-dir', 'only'], ['keep-source']);
  const [file] = args.positionals;
  if (!file || args.positionals.length > 1) throw new UsageError('mcpcp adopt FILE [--config OUT] [--only NAME,…] [--keep-source] [--data-dir DIR]');
  const path = resolve(file);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ControlPlaneError('MCP_CONFIG_UNREADABLE', `cannot read ${path}: ${err.code ?? errorMessage(err)}`);
  });
  const parsed = parseMcpConfig(text, locationForFile(path, text));
  for (const p of parsed.problems) process.stderr.write(`${path}${p.position ? `:${p.position.line}:${p.position.column}` : ''}: ${p.message}\n`);
  if (parsed.location.kind === 'mcpcp-yaml' || parsed.location.kind === 'mcpcp-settings') throw new UsageError(`${path} is already a control-plane configuration`);
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  await ensureDataDir(dataDir);
  const secrets = new FileSecretStore(dataDir);
  const own = yamlOwnServers(ownConfigFile(stringFlag(args, 'config')));
  const only = stringFlag(args, 'only')?.split(',').map((s) => s.trim()).filter(Boolean);
  const plan = planAdoption(parsed, {
    existing: await own.read(),
    secretNames: await secrets.list(),
    move: !args.flags.has('keep-source'),
    pathValue: await new ShellPath().path(),
    ...(only ? { only } : {}),
  });
  const storeLabel = join(dataDir, 'secrets.json');
  process.stdout.write(`${renderPlan(plan, { storeLabel })}\n\n`);
  if (plan.servers.length === 0) return plan.skipped.length > 0 ? 1 : 0;

  // A human confirms on a terminal: piped input is refused, so nothing automated answers for them.
  if (!process.stdin.isTTY) throw new ControlPlaneError('CONFIRMATION_NEEDED', 'adopt needs an interactive confirmation on a terminal');
  const answer = await ask(`Adopt ${plural(plan.servers.length, 'server')} into ${own.label}${plan.move ? ` and remove them from ${path}` : ''}? Type "adopt" to confirm: `);
  if (answer.trim() !== 'adopt') {
    process.stderr.write('not confirmed; nothing changed\n');
    return 1;
  }
  const audit = await openCliRecorder(dataDir);
  try {
    const result = await adoptServers(plan, parsed, { secrets, servers: own, backupDir: backupRoot(dataDir), gitHistory: {}, recorder: audit.recorder, promptInput: promptForInput });
    process.stdout.write(`Adopted into ${own.label}: ${Object.keys(result.servers).join(', ')}\n`);
    if (result.secretNames.length > 0) process.stdout.write(`Secrets stored in ${storeLabel}: ${result.secretNames.join(', ')}\n`);
    if (result.moved) process.stdout.write(`Removed from ${path}; backup (secrets as references): ${result.moved.backup}\n`);
    if (result.moveError) process.stderr.write(`${path} was not changed: ${result.moveError}\n`);
    if (result.disabled.length > 0) process.stderr.write(`Left disabled (VS Code still runs them from ${path}): ${result.disabled.join(', ')}\n`);
    for (const line of result.history ? describeHistoryScan(result.history, CLI_SET_SECRET) : []) process.stderr.write(`! ${line}\n`);
    process.stdout.write('A running `mcpcp serve` picks them up at its next start. Servers adopted from a file inside the workspace are proposals: they wait for `mcpcp consent grant` (see `mcpcp consent list`).\n');
    return result.moveError ? 1 : 0;
  } finally {
    await audit.close();
  }
}

/** How a user stores a rotated secret headless. */
const CLI_SET_SECRET = { setSecret: (name: string) => `\`mcpcp secrets set ${name}\`, the value on stdin` };

/** The headless configuration adopted servers go to: `--config`, else `.mcpcp/config.yaml` here. */
function ownConfigFile(flag: string | undefined): string {
  return resolve(flag ?? join('.mcpcp', 'config.yaml'));
}

async function namedLocations(paths: string[]): Promise<McpConfigLocation[]> {
  const out: McpConfigLocation[] = [];
  for (const p of paths) {
    const path = resolve(p);
    const text = await readFile(path, 'utf8').catch(() => '');
    out.push(locationForFile(path, text));
  }
  return out;
}

/** Tool counts of the running instances' servers (for the tool budget), when one answers. */
async function runningTools(dataDir: string): Promise<{ tools?: Array<{ server: string; tools: number }> }> {
  for (const instance of await readInstances(dataDir).catch(() => [])) {
    try {
      const res = await instanceFetch(instance, '/status', { headers: { authorization: `Bearer ${instance.token}` }, signal: AbortSignal.timeout(2_000) });
      if (!res.ok) continue;
      const body = (await res.json()) as { servers?: Array<{ name: string; toolCount: number; state: { kind: string } }> };
      return { tools: (body.servers ?? []).filter((s) => s.state.kind !== 'stopped').map((s) => ({ server: s.name, tools: s.toolCount })) };
    } catch {
      // Not answering: no tool figures.
    }
  }
  return {};
}

async function fixInteractively(report: AssessmentReport, ctx: { dataDir: string; secrets: FileSecretStore; own: ReturnType<typeof yamlOwnServers> }): Promise<void> {
  const fixable = report.findings.filter((f) => f.remediation);
  if (fixable.length === 0) return;
  if (!process.stdin.isTTY) throw new ControlPlaneError('CONFIRMATION_NEEDED', '--fix needs an interactive confirmation on a terminal');
  await ensureDataDir(ctx.dataDir);
  const shellEnv = await new ShellPath().env();
  const resolveVersion = firstResolver(npxCacheResolver(), nodeModulesResolver([process.cwd()]), npmViewResolver({ env: shellEnv }), pypiResolver());
  const audit = await openCliRecorder(ctx.dataDir);
  // One reader for every question, iterated: readline drops lines that arrive while no question
  // is pending (typed ahead while a fix is being prepared); the iterator keeps them.
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const lines = rl[Symbol.asyncIterator]();
  const question = async (text: string): Promise<string> => {
    process.stderr.write(text);
    const next = await lines.next();
    return next.done ? '' : next.value;
  };
  try {
    for (const finding of fixable) {
      process.stderr.write(`\n[${finding.severity.toUpperCase()}] ${finding.message}\n`);
      let prepared;
      try {
        prepared = await prepareRemediation(report, finding.id, { secrets: ctx.secrets, resolveVersion, ownServers: ctx.own, pathValue: shellEnv['PATH'] ?? '' });
      } catch (err) {
        process.stderr.write(`  cannot fix: ${errorMessage(err)}\n`);
        continue;
      }
      process.stderr.write(`${prepared.summary}\n${prepared.diff}\n`);
      const answer = (await question('Apply? [y/N] ')).trim().toLowerCase();
      if (answer !== 'y' && answer !== 'yes') continue;
      try {
        const result = await applyRemediation(prepared, { secrets: ctx.secrets, ownServers: ctx.own, backupDir: backupRoot(ctx.dataDir), gitHistory: {}, recorder: audit.recorder });
        process.stderr.write(`  applied${result.backup ? `; backup ${result.backup}` : ''}${result.secretNames.length ? `; secrets stored: ${result.secretNames.join(', ')}` : ''}\n`);
        for (const line of result.history ? describeHistoryScan(result.history, CLI_SET_SECRET) : []) process.stderr.write(`  ! ${line}\n`);
      } catch (err) {
        process.stderr.write(`  failed: ${errorMessage(err)}\n`);
      }
    }
  } finally {
    rl.close();
    await audit.close();
  }
}

/**
 * An audit log of this command's own (instance `cli-adopt-<n>` in the data directory's audit
 * folder, verified by `mcpcp audit verify` like the others).
 */
async function openCliRecorder(dataDir: string): Promise<{ recorder: ActionRecorder; close(): Promise<void> }> {
  const redactor = new Redactor();
  const keys = await loadOrCreateAuditKeyring(fileAuditKeyStorage(defaultAuditKeyFile(dataDir)));
  let log: AuditLog | undefined;
  for (let n = 1; n <= 64 && !log; n++) {
    try {
      log = await AuditLog.open({ dir: join(dataDir, 'audit'), instanceId: `cli-adopt-${n}`, redactor, keys });
    } catch (err) {
      if (!(err instanceof ControlPlaneError && err.code === 'AUDIT_LOCKED')) throw err;
    }
  }
  if (!log) throw new ControlPlaneError('AUDIT_OPEN_FAILED', `no free audit instance in ${join(dataDir, 'audit')}`);
  const opened = log;
  return {
    recorder: {
      recordAction: async (event) => {
        await opened.append({
          type: event.outcome === 'ok' ? 'call.completed' : 'call.failed',
          server: 'mcpcp',
          tool: event.action,
          outcome: event.outcome,
          actor: { kind: 'cli-terminal' },
          ...(event.approvalId ? { approvalId: event.approvalId } : {}),
          ...(event.error ? { error: event.error } : {}),
          ...(event.detail ? { detail: event.detail } : {}),
        });
      },
    },
    close: () => opened.close(),
  };
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** Asks for an input's value on the terminal, hidden when it is a password. */
async function promptForInput(input: SourceInput, secretNames: string[]): Promise<string | undefined> {
  const label = `${input.description ?? input.id} (stored as ${secretNames.join(', ')})`;
  if (input.options && input.options.length > 0) {
    const answer = (await ask(`${label}\n  options: ${input.options.join(', ')}${input.default ? ` [${input.default}]` : ''}: `)).trim() || input.default;
    return answer || undefined;
  }
  if (!input.password) {
    const answer = (await ask(`${label}${input.default ? ` [${input.default}]` : ''}: `)).trim() || input.default;
    return answer || undefined;
  }
  process.stderr.write(`${label} (input hidden, end with Enter): `);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  const chunks: string[] = [];
  return await new Promise<string | undefined>((resolveValue) => {
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(chunks.join(''));
        if (ch === '\u0003') return done(undefined);
        if (ch === '\u007f' || ch === '\b') chunks.pop();
        else chunks.push(ch);
      }
    };
    const done = (value: string | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolveValue(value === '' ? undefined : value);
    };
    stdin.on('data', onData);
  });
}
