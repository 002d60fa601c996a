import { BUILTIN_TOOL_ANNOTATIONS } from './builtin-catalogue';
import { PolicyEngine, type PolicyRequest } from './engine';
import type { PolicyDecisionKind, PolicyFile, PolicyTest } from './schema';

/** The outcome of one `tests:` case. */
export interface PolicyTestResult {
  /** 0-based position in `tests`. */
  readonly index: number;
  /** The case's name, or a generated one ("push on git {branch: main}"). */
  readonly name: string;
  readonly expected: PolicyDecisionKind;
  /** What the rules decided; absent when the case itself is wrong (`problem`). */
  readonly actual?: PolicyDecisionKind;
  /** The decision's reason, or what is wrong with the case. */
  readonly reason: string;
  readonly ok: boolean;
}

/**
 * Runs a policy file's `tests:` against its own rules and the built-in defaults (other layers are
 * left out: a case says what THIS file decides). The file's rules sit in `layer` (a workspace file
 * can only tighten the defaults). A case on a built-in server (git, kubernetes, network) uses the
 * tool's real annotations and fails when the tool does not exist, so examples cannot name tools that
 * are not there; a third-party case uses its `annotations`.
 */
export function runPolicyTests(file: PolicyFile, layer: 'user' | 'config' | 'workspace' = 'workspace'): PolicyTestResult[] {
  const tests = file.tests ?? [];
  if (tests.length === 0) return [];
  const engine = new PolicyEngine({ [layer]: file.rules, readOnlyMode: file.readOnlyMode === true });
  return tests.map((test, index) => {
    const name = test.name ?? describeCase(test);
    const built = requestOf(test);
    if (typeof built === 'string') return { index, name, expected: test.expect, reason: built, ok: false };
    const result = engine.evaluate(built);
    return { index, name, expected: test.expect, actual: result.decision, reason: result.reason, ok: result.decision === test.expect };
  });
}

/** The request a case describes, or why it cannot be judged. */
function requestOf(test: PolicyTest): PolicyRequest | string {
  const kind = test.tool !== undefined ? 'tool' : test.resource !== undefined ? 'resource' : 'prompt';
  const name = test.tool ?? test.resource ?? test.prompt ?? '';
  const catalogue = BUILTIN_TOOL_ANNOTATIONS[test.server];
  const builtin = test.builtin ?? catalogue !== undefined;
  let annotations = test.annotations;
  if (kind === 'tool' && builtin && catalogue !== undefined) {
    const known = catalogue[name];
    if (known === undefined) {
      return `the built-in server "${test.server}" has no tool "${name}"; its tools: ${Object.keys(catalogue).join(', ')}`;
    }
    if (test.annotations !== undefined) return `"${name}" is a built-in tool: its annotations are its own, leave "annotations" out`;
    annotations = known;
  }
  return {
    kind,
    server: test.server,
    name,
    builtin,
    ...(annotations !== undefined ? { annotations } : {}),
    args: test.args ?? {},
    ...(test.effect !== undefined ? { effect: test.effect } : {}),
    ...(test.principal !== undefined ? { principal: { id: test.principal.id, name: test.principal.name ?? test.principal.id, roles: test.principal.roles, groups: test.principal.groups } } : {}),
  };
}

function describeCase(test: PolicyTest): string {
  const what = test.tool ?? test.resource ?? test.prompt ?? '';
  const args = test.args !== undefined && Object.keys(test.args).length > 0 ? ` ${JSON.stringify(test.args)}` : '';
  const effect = test.effect !== undefined ? ` effect ${JSON.stringify(test.effect)}` : '';
  const who = test.principal !== undefined ? ` as ${test.principal.name ?? test.principal.id} [${test.principal.roles.join(',')}]` : '';
  return `${what} on ${test.server}${args}${effect}${who}`;
}

/** `✔ push on git {"branch":"main"}: deny` / `✘ …: expected allow, got deny (reason)`. */
export function formatPolicyTestResult(r: PolicyTestResult): string {
  if (r.ok) return `ok    tests[${r.index}] ${r.name}: ${r.actual}`;
  if (r.actual === undefined) return `FAIL  tests[${r.index}] ${r.name}: ${r.reason}`;
  return `FAIL  tests[${r.index}] ${r.name}: expected ${r.expected}, got ${r.actual} (${r.reason})`;
}
