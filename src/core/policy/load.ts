import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { errorMessage } from '../errors';
import { effectWarnings } from './effect-warnings';
import { formatPolicyTestResult, runPolicyTests, type PolicyTestResult } from './policy-tests';
import { policyFileSchema, policyRulesSchema, workspacePolicyFileSchema, type PolicyFile, type PolicyRule } from './schema';

/** One problem in a policy source. `line` and `column` are 1-based; absent when not from a file position. */
export interface PolicyIssue {
  /** The file path, or a label such as `settings:mcpControlPlane.policy.rules`. */
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** Dotted path of the offending field, e.g. `rules[2].args.context.matches`; absent for syntax errors. */
  readonly field?: string;
  readonly message: string;
}

/** The first issue (what to show) with every issue found. */
export interface PolicyLoadError extends PolicyIssue {
  /** `tests`: the file is well-formed but one of its `tests:` cases fails. */
  readonly code: 'not-found' | 'unreadable' | 'yaml' | 'schema' | 'tests';
  readonly issues: readonly PolicyIssue[];
}

/**
 * `warnings`: the file is in force, but something in it is probably not what its author meant (an
 * `args` rule on a tool that declares effects: another spelling of the arguments reaches the same
 * effect). `tests`: the outcome of each `tests:` case (all passed, or the result is not ok).
 */
export type PolicyLoadResult =
  | { readonly ok: true; readonly policy: PolicyFile; readonly warnings?: readonly PolicyIssue[]; readonly tests?: readonly PolicyTestResult[] }
  | { readonly ok: false; readonly error: PolicyLoadError; readonly tests?: readonly PolicyTestResult[] };

/** Policy files larger than this are refused rather than parsed. */
const MAX_POLICY_BYTES = 1024 * 1024;

/** Which layer a file feeds: a `workspace` file may not use `regex` predicates. Default `workspace`, the strictest. */
export interface PolicyLoadOptions {
  readonly layer?: 'user' | 'config' | 'workspace';
}

/**
 * Reads and validates a policy file (`.mcpcp/policy.yaml` or any YAML/JSON file of that shape). Never
 * throws: a missing file is `{ok: false, error: {code: 'not-found'}}` (callers treat it as "no
 * rules"), YAML syntax errors and schema violations carry the file, line, column and field of the
 * first problem. An empty file is a valid policy without rules.
 */
export async function loadPolicyFile(path: string, options: PolicyLoadOptions = {}): Promise<PolicyLoadResult> {
  let text: string;
  try {
    const buffer = await readFile(path);
    if (buffer.byteLength > MAX_POLICY_BYTES) return fail('unreadable', [{ file: path, message: `policy file is larger than ${MAX_POLICY_BYTES} bytes` }]);
    text = buffer.toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('not-found', [{ file: path, message: 'policy file not found' }]);
    return fail('unreadable', [{ file: path, message: `cannot read policy file: ${errorMessage(err)}` }]);
  }
  return parsePolicyText(text, path, options);
}

/** `loadPolicyFile` for text already in memory; `file` only labels the errors. */
export function parsePolicyText(text: string, file: string, options: PolicyLoadOptions = {}): PolicyLoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return fail(
      'yaml',
      doc.errors.map((e) => ({ file, ...position(lineCounter, e.pos[0]), message: e.message })),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    return fail('yaml', [{ file, message: errorMessage(err) }]);
  }
  const layer = options.layer ?? 'workspace';
  const schema = layer === 'workspace' ? workspacePolicyFileSchema : policyFileSchema;
  const parsed = schema.safeParse(data);
  if (parsed.success) {
    const at = (path: (string | number)[]): { line?: number; column?: number } => {
      const node = doc.getIn(path, true);
      const offset = node !== null && typeof node === 'object' && 'range' in node ? (node as { range?: [number, number, number] }).range?.[0] : undefined;
      return offset !== undefined ? position(lineCounter, offset) : {};
    };
    const tests = runPolicyTests(parsed.data, layer);
    const failed = tests.filter((t) => !t.ok);
    if (failed.length > 0) {
      const issues = failed.map((t) => ({ file, ...at(['tests', t.index]), field: `tests[${t.index}]`, message: formatPolicyTestResult(t).replace(/^FAIL {2}tests\[\d+\] /, 'test failed: ') }));
      return { ...fail('tests', issues), tests };
    }
    const warnings = effectWarnings(parsed.data.rules).map((w) => ({ file, ...at(['rules', w.index, 'args']), field: `rules[${w.index}].args`, message: w.message }));
    return { ok: true, policy: parsed.data, ...(warnings.length > 0 ? { warnings } : {}), ...(tests.length > 0 ? { tests } : {}) };
  }
  return fail('schema', unknownKeysFirst(parsed.error.issues).map((issue) => issueAt(file, data, issue, doc, lineCounter)));
}

/**
 * Validates a rule list that is not a file (a VS Code setting, the headless config's already parsed
 * `policy.rules`). Errors carry `file: source` and the field, without line numbers.
 */
export function parsePolicyRules(value: unknown, source: string): { readonly ok: true; readonly rules: PolicyRule[] } | { readonly ok: false; readonly error: PolicyLoadError } {
  const parsed = policyRulesSchema.safeParse(value ?? []);
  if (parsed.success) return { ok: true, rules: parsed.data };
  return fail('schema', unknownKeysFirst(parsed.error.issues).map((issue) => issueAt(source, value, issue)));
}

/** `file:line:column: field: message`, the form editors and terminals link. */
export function formatPolicyIssue(issue: PolicyIssue): string {
  const where = issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.column ?? 1}` : issue.file;
  return `${where}: ${issue.field !== undefined ? `${issue.field}: ` : ''}${issue.message}`;
}

/** What is in force after a (re)load, and why. */
export interface PolicyInForce {
  readonly policy: PolicyFile;
  /** `loaded`: the new source is in force. `missing`: no source, no rules. `kept`: the source is invalid and the last valid policy stays. `fail-safe`: invalid with nothing valid before, so every call needs approval. */
  readonly status: 'loaded' | 'missing' | 'kept' | 'fail-safe';
  readonly error?: PolicyLoadError;
}

/**
 * Keeps the last valid policy of one source in force across reloads. An invalid source never means
 * "allow all": the previous valid policy stays; when there was none, a fail-safe policy that makes
 * every request need approval is used until the source is fixed. A missing source means no rules.
 */
export class LastValidPolicy {
  private inForce: PolicyInForce;

  constructor(readonly label: string) {
    this.inForce = { policy: { rules: [] }, status: 'missing' };
  }

  get current(): PolicyInForce {
    return this.inForce;
  }

  /** Takes the result of `loadPolicyFile`/`parsePolicyText` and returns what is in force now. */
  accept(result: PolicyLoadResult): PolicyInForce {
    if (result.ok) {
      this.inForce = { policy: result.policy, status: 'loaded' };
    } else if (result.error.code === 'not-found') {
      this.inForce = { policy: { rules: [] }, status: 'missing' };
    } else if (this.inForce.status === 'loaded' || this.inForce.status === 'kept') {
      this.inForce = { policy: this.inForce.policy, status: 'kept', error: result.error };
    } else {
      this.inForce = { policy: failSafePolicy(result.error), status: 'fail-safe', error: result.error };
    }
    return this.inForce;
  }
}

/** One rule that sends every request to approval, naming the broken source in its reason. */
export function failSafePolicy(error: PolicyIssue): PolicyFile {
  return {
    rules: [
      {
        id: 'invalid-policy-fail-safe',
        decision: 'approve',
        reason: `The policy ${formatPolicyIssue(error)} is invalid, so every call needs a human approval until it is fixed.`,
      },
    ],
  };
}

function fail(code: PolicyLoadError['code'], issues: PolicyIssue[]): { ok: false; error: PolicyLoadError } {
  const first = issues[0] ?? { file: '', message: 'invalid policy' };
  return { ok: false, error: { ...first, code, issues } };
}

function position(lineCounter: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

type ZodIssue = z.core.$ZodIssue;

/** A misspelt key also makes the real one "missing": the spelling is the error to show first. */
function unknownKeysFirst(issues: readonly ZodIssue[]): ZodIssue[] {
  return [...issues.filter((i) => i.code === 'unrecognized_keys'), ...issues.filter((i) => i.code !== 'unrecognized_keys')];
}

function issueAt(file: string, data: unknown, issue: ZodIssue, doc?: Document, lineCounter?: LineCounter): PolicyIssue {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  let fieldPath = path;
  let message = issue.message;
  let offset: number | undefined;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    fieldPath = [...path, key];
    message = `unknown field "${key}"${issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).map((k) => `"${k}"`).join(', ')})` : ''}`;
    if (doc !== undefined) {
      const node = doc.getIn(path, true);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair !== undefined && isScalar(pair.key)) offset = pair.key.range?.[0];
      }
    }
  } else if (!hasPath(data, path)) {
    message = `required field is missing (${issue.message.replace(/^Invalid (?:input|option): /, '')})`;
  }
  if (offset === undefined && doc !== undefined) {
    for (let n = path.length; n >= 0 && offset === undefined; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (node !== null && typeof node === 'object' && 'range' in node) offset = (node as { range?: [number, number, number] }).range?.[0];
    }
  }
  const field = formatField(fieldPath);
  return {
    file,
    ...(offset !== undefined && lineCounter !== undefined ? position(lineCounter, offset) : {}),
    ...(field !== '' ? { field } : {}),
    message,
  };
}

function hasPath(data: unknown, path: readonly (string | number)[]): boolean {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return false;
    current = (current as Record<string | number, unknown>)[key];
  }
  return true;
}

function formatField(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}
