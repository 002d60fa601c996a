// `mcpcp policy check FILE`: validates a policy file and runs its `tests:`.
// `mcpcp policy test DRAFT`: replays recorded calls through a draft (what-if, docs/whatif.md).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultAuditKeyFile, fileAuditKeyStorage, parseAuditKeyring } from '../core/audit';
import { ControlPlaneError, errorMessage } from '../core/errors';
import { formatPolicyIssue, formatPolicyTestResult, loadPolicyFile, type PolicyFile, type PolicyLayers, type PolicyTestResult } from '../core/policy';
import { Redactor } from '../core/redact';
import { formatWhatIfReport, loosens, parseDraft, parseSince, readExportedAudit, readLiveAudit, replayAudit } from '../core/whatif';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom } from './data-dir';
import { plural } from '../core/display/words';

const LAYERS = ['user', 'config', 'workspace'] as const;

/**
 * Loads FILE as the given layer (default `workspace`, the strictest: no `regex`, rules only
 * tighten the defaults), prints each test case, warnings and the first problem. Exit 0 when the
 * file is valid and every case passes, 1 otherwise.
 */
export async function policyCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'test') return policyTestCommand(argv.slice(1));
  const args = parseArgs(argv, ['layer'], ['json']);
  const [action, file] = args.positionals;
  const layer = stringFlag(args, 'layer') ?? 'workspace';
  if (action !== 'check' || file === undefined || !(LAYERS as readonly string[]).includes(layer)) {
    throw new UsageError('mcpcp policy check FILE [--layer workspace|config|user] [--json]');
  }
  const path = resolve(file);
  const result = await loadPolicyFile(path, { layer: layer as (typeof LAYERS)[number] });
  if (args.flags.has('json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
  }
  for (const t of result.tests ?? []) process.stdout.write(`${formatPolicyTestResult(t)}\n`);
  if (!result.ok) {
    if (result.error.code !== 'tests') process.stdout.write(`invalid: ${formatPolicyIssue(result.error)}\n`);
    const failed = (result.tests ?? []).filter((t) => !t.ok).length;
    process.stdout.write(result.error.code === 'tests' ? `${path}: ${failed} of ${plural(result.tests?.length ?? 0, 'test')} failed; a running control plane keeps the last valid policy\n` : '');
    return 1;
  }
  for (const w of result.warnings ?? []) process.stdout.write(`warning: ${formatPolicyIssue(w)}\n`);
  const n = result.tests?.length ?? 0;
  process.stdout.write(`${path}: valid, ${plural(result.policy.rules.length, 'rule')}, ${n === 0 ? 'no tests (add tests: to pin what the rules decide)' : `${plural(n, 'test')} passed`}\n`);
  return 0;
}

const TEST_USAGE =
  'mcpcp policy test DRAFT.yaml [--layer config|user|workspace] [--since 7d | --audit FILE] [--with-user F] [--with-config F] [--with-workspace F] [--data-dir D] [--dir D] [--key-file F] [--examples N] [--json]';

/**
 * Replays recorded calls through DRAFT in place of one layer (default `config`, the headless
 * operator's; VS Code's is `user`) and reports what would change. History: the live audit of the
 * data folder since `--since` (default 7d), verified with the key, or an exported JSONL file
 * (`--audit`, no key). The other layers are empty unless given (`--with-LAYER FILE`). Exit 0: the
 * draft loosens nothing and its tests pass; 1: it loosens a recorded call (deny -> approve/allow,
 * approve -> allow) or a test of its own fails; 2: it could not run (usage, an invalid draft, no or
 * broken history).
 */
async function policyTestCommand(argv: string[]): Promise<number> {
  // Examples are shown through the full redactor (credential patterns, sensitive keys): the report
  // may end up in a CI log. The replay uses the recorded values.
  const displayRedactor = new Redactor();
  const args = parseArgs(argv, ['layer', 'since', 'audit', 'with-user', 'with-config', 'with-workspace', 'data-dir', 'dir', 'key-file', 'examples'], ['json']);
  const [file, extra] = args.positionals;
  const layer = stringFlag(args, 'layer') ?? 'config';
  if (file === undefined || extra !== undefined || !(LAYERS as readonly string[]).includes(layer)) throw new UsageError(TEST_USAGE);
  if (args.flags.has('since') && args.flags.has('audit')) throw new UsageError(`--since reads the live audit, --audit an exported file: give one\n${TEST_USAGE}`);
  const examples = Number(stringFlag(args, 'examples') ?? 5);
  if (!Number.isInteger(examples) || examples < 0) throw new UsageError('--examples takes a whole number');
  try {
    const path = resolve(file);
    const draft = await loadDraft(path, layer as (typeof LAYERS)[number]);
    const others: Record<string, unknown> = {};
    let readOnlyMode = false;
    for (const other of LAYERS) {
      const f = stringFlag(args, `with-${other}`);
      if (f === undefined) continue;
      if (other === layer) throw new UsageError(`--with-${other} names the layer the draft replaces`);
      const loaded = await loadDraft(resolve(f), other);
      others[other] = loaded.policy.rules;
      readOnlyMode ||= loaded.policy.readOnlyMode === true;
    }
    const auditFile = stringFlag(args, 'audit');
    const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
    let history;
    if (auditFile !== undefined) history = await readExportedAudit(resolve(auditFile));
    else {
      const keyFile = stringFlag(args, 'key-file') ?? defaultAuditKeyFile(dataDir);
      const text = await fileAuditKeyStorage(keyFile).read();
      if (text === undefined) throw new ControlPlaneError('AUDIT_KEY_MISSING', `no audit key file at ${keyFile}: give it with --key-file, or replay an exported audit with --audit FILE`);
      const dir = stringFlag(args, 'dir') !== undefined ? resolve(stringFlag(args, 'dir')!) : join(dataDir, 'audit');
      history = await readLiveAudit(dir, parseAuditKeyring(text, keyFile), parseSince(stringFlag(args, 'since') ?? '7d'));
    }
    const report = replayAudit(history.records, { draft: draft.policy, layer: layer as (typeof LAYERS)[number], others: { ...(others as PolicyLayers), readOnlyMode }, maxExamples: examples, display: (a) => displayRedactor.redactRecord(a) });
    const testsFailed = draft.tests.some((t) => !t.ok);
    if (args.flags.has('json')) process.stdout.write(`${JSON.stringify({ draft: path, source: history.source, report, tests: draft.tests, loosens: loosens(report) })}\n`);
    else process.stdout.write(formatWhatIfReport(report, history.source, path, draft.tests));
    return loosens(report) || testsFailed ? 1 : 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    process.stderr.write(`mcpcp: ${err instanceof ControlPlaneError ? err.message : errorMessage(err)}\n`);
    return 2;
  }
}

async function loadDraft(path: string, layer: (typeof LAYERS)[number]): Promise<{ policy: PolicyFile; tests: readonly PolicyTestResult[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ControlPlaneError('POLICY_INVALID', `cannot read the draft ${path}: ${errorMessage(err)}`);
  }
  return parseDraft(text, path, layer);
}
