// `mcpcp policy check FILE`: validates a policy file and runs its `tests:`.
import { resolve } from 'node:path';
import { formatPolicyIssue, formatPolicyTestResult, loadPolicyFile } from '../core/policy';
import { parseArgs, stringFlag, UsageError } from './args';

const LAYERS = ['user', 'config', 'workspace'] as const;

/**
 * Loads FILE as the given layer (default `workspace`, the strictest: no `regex`, rules only
 * tighten the defaults), prints each test case, warnings and the first problem. Exit 0 when the
 * file is valid and every case passes, 1 otherwise.
 */
export async function policyCommand(argv: string[]): Promise<number> {
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
    process.stdout.write(result.error.code === 'tests' ? `${path}: ${failed} of ${result.tests?.length ?? 0} tests failed; a running control plane keeps the last valid policy\n` : '');
    return 1;
  }
  for (const w of result.warnings ?? []) process.stdout.write(`warning: ${formatPolicyIssue(w)}\n`);
  const n = result.tests?.length ?? 0;
  process.stdout.write(`${path}: valid, ${result.policy.rules.length} rules, ${n === 0 ? 'no tests (add tests: to pin what the rules decide)' : `${n} tests passed`}\n`);
  return 0;
}
