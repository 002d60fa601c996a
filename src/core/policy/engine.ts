import { ControlPlaneError } from '../errors';
import { hasRole, type Role } from '../team/principal';
import { compileGlob } from './glob';
import {
  policyRuleSchema,
  type ArgPredicate,
  type PolicyDecisionKind,
  type PolicyRequestKind,
  type PolicyRule,
} from './schema';

/** MCP tool annotations as a server declares them. The spec calls them hints. */
export interface ToolAnnotations {
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

/** One request as the gateway sees it, before it is forwarded. */
export interface PolicyRequest {
  readonly kind: PolicyRequestKind;
  readonly server: string;
  /** Tool name, resource URI or prompt name. */
  readonly name: string;
  /** A built-in server of this extension (its annotations are trusted; third-party writes need approval). */
  readonly builtin: boolean;
  /** The tool's annotations; ignored for resources and prompts. */
  readonly annotations?: ToolAnnotations;
  /** Tool arguments or prompt arguments; `{}` for resource reads. */
  readonly args: Readonly<Record<string, unknown>>;
  /**
   * What the call will change, as the built-in server resolved it without side effects (see
   * `src/servers/kit/effect.ts`); absent for tools that declare no effect, or when resolution
   * failed (the gateway then asks a human).
   */
  readonly effect?: Readonly<Record<string, unknown>>;
  /** Team mode: who asks (absent in the loopback single-user mode). */
  readonly principal?: PolicyPrincipal;
}

/** The part of a principal policy sees. */
export interface PolicyPrincipal {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly groups: readonly string[];
}

/** Where a decision came from. `index` is 0-based within its layer; messages show it 1-based. */
export interface PolicyRuleRef {
  readonly source: 'user' | 'config' | 'workspace' | 'default' | 'read-only-mode' | 'role';
  readonly index?: number;
  readonly id?: string;
}

export interface PolicyResult {
  readonly decision: PolicyDecisionKind;
  /** Plain words for the approver and for the model (it ends up in the `isError` result). */
  readonly reason: string;
  readonly rule: PolicyRuleRef;
  /** For `approve`: distinct approvers needed (a rule's `approvers`; absent means 1). */
  readonly approvers?: number;
}

/**
 * The rule layers. `user` (VS Code settings) and `config` (the headless operator's config) are the
 * base layers, evaluated in that order; `workspace` (`.mcpcp/policy.yaml`) can only tighten.
 * `readOnlyMode` is the OR of every source's switch: the caller must not let a workspace file turn
 * off a mode set elsewhere.
 */
export interface PolicyLayers {
  readonly user?: readonly PolicyRule[];
  readonly config?: readonly PolicyRule[];
  readonly workspace?: readonly PolicyRule[];
  readonly readOnlyMode?: boolean;
}

/** Annotations after applying the MCP spec's defaults (see `effectiveAnnotations`). */
export interface EffectiveAnnotations {
  readonly readOnly: boolean;
  readonly destructive: boolean;
  readonly idempotent: boolean;
  readonly openWorld: boolean;
  readonly annotated: boolean;
}

const RANK: Record<PolicyDecisionKind, number> = { allow: 0, approve: 1, deny: 2 };

/** The stricter of two decisions (deny > approve > allow). */
export function stricterDecision(a: PolicyDecisionKind, b: PolicyDecisionKind): PolicyDecisionKind {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * A tool's annotations with the MCP spec's defaults filled in: `readOnlyHint` false,
 * `destructiveHint` true (only meaningful when not read-only), `idempotentHint` false,
 * `openWorldHint` true. `annotated` says whether the server declared `readOnlyHint` or
 * `destructiveHint` at all. Resource reads and prompt gets are read-only, non-destructive,
 * idempotent, closed-world and annotated by nature.
 */
export function effectiveAnnotations(request: Pick<PolicyRequest, 'kind' | 'annotations'>): EffectiveAnnotations {
  if (request.kind !== 'tool') return { readOnly: true, destructive: false, idempotent: true, openWorld: false, annotated: true };
  const a = request.annotations ?? {};
  const readOnly = a.readOnlyHint === true;
  return {
    readOnly,
    destructive: !readOnly && a.destructiveHint !== false,
    idempotent: a.idempotentHint === true,
    openWorld: a.openWorldHint !== false,
    annotated: typeof a.readOnlyHint === 'boolean' || typeof a.destructiveHint === 'boolean',
  };
}

/**
 * True for resource URIs that name secrets: a path segment `secret` or `secrets` (any case), or a
 * `kind=Secret` query. The Kubernetes server's Secret resources must be addressed this way
 * (`k8s://<context>/namespaces/<ns>/secrets/<name>`).
 */
export function isSecretResourceUri(uri: string): boolean {
  const test = (u: string): boolean => /(?:^|[/:])secrets?(?:\.v1)?\.?(?:[/?#]|$)|[?&]kind=secrets?(?:[&#]|$)/i.test(u);
  return test(uri) || test(normaliseResourceUri(uri));
}

/**
 * A resource URI as policy judges it, so that spellings of one object meet the same rules:
 * percent-encoding decoded (repeatedly: `%252F`), backslashes as slashes, repeated slashes after the
 * scheme's `//` collapsed, `.` and `..` segments resolved. `k8s://ctx/web/v1%2FSecret/db` is judged
 * as `k8s://ctx/web/v1/Secret/db`. The server still receives the URI as sent.
 */
export function normaliseResourceUri(uri: string): string {
  let out = uri;
  for (let i = 0; i < 4; i++) {
    let next: string;
    try {
      next = decodeURIComponent(out);
    } catch {
      next = out.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
    if (next === out) break;
    out = next;
  }
  out = out.replace(/\\/g, '/');
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([\s\S]*)$/i.exec(out);
  const prefix = m?.[1] ?? '';
  const segments: string[] = [];
  for (const seg of (m?.[2] ?? out).split('/')) {
    if (seg === '.' || (seg === '' && segments.length > 0)) continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  return prefix + segments.join('/');
}

/** A value counts as "set" unless it is absent, null, false, 0, "" or "false". */
export function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '' && value !== 'false';
}

/** Arguments whose being set always needs a human (`force` overrides safety checks, `reveal` shows secrets). */
const ESCALATING_ARGS = ['force', 'reveal'] as const;

interface CompiledRule {
  readonly ref: PolicyRuleRef;
  readonly rule: PolicyRule;
  readonly matches: (request: PolicyRequest, annotations: EffectiveAnnotations) => boolean;
}

/**
 * Evaluates requests against layered rules. Immutable: build a new engine when a layer changes.
 *
 * Order (see docs/policy.md):
 * 1. Base: the first matching rule of `user` then `config` decides; when none matches, the defaults
 *    decide (`defaultDecision`).
 * 2. Workspace: the first matching `workspace` rule, if any, gives a second decision; the result is
 *    the stricter of the two (deny > approve > allow). A workspace `allow` therefore never loosens
 *    anything; it only stops later workspace rules from matching. On an `approve` or `deny` tie an
 *    explicit workspace rule is reported rather than a default; otherwise the base is reported (a
 *    workspace rule is never named as the reason something was allowed).
 * 3. Read-only mode: a request that is not read-only is denied, whatever the rules say.
 * 4. Roles (team mode): a principal without `operator` or `admin` is denied what is not read-only.
 *
 * Rules are validated with `policyRuleSchema` and compiled once here; an invalid rule throws
 * `ControlPlaneError` `POLICY_INVALID` (load rules through `loadPolicyFile`/`parsePolicyRules`, which
 * report errors precisely, so this only catches programming errors). Workspace rules may not use
 * `regex`: a repository's file must not be able to run a backtracking regular expression over
 * model-chosen arguments in the gateway (globs are matched without regular expressions).
 */
export class PolicyEngine {
  readonly readOnlyMode: boolean;
  private readonly base: readonly CompiledRule[];
  private readonly workspace: readonly CompiledRule[];

  constructor(layers: PolicyLayers) {
    this.readOnlyMode = layers.readOnlyMode === true;
    this.base = [...compileLayer('user', layers.user ?? []), ...compileLayer('config', layers.config ?? [])];
    this.workspace = compileLayer('workspace', layers.workspace ?? []);
  }

  evaluate(input: PolicyRequest): PolicyResult {
    // One object, one set of rules: a resource URI is judged in its normalised spelling.
    const request = input.kind === 'resource' ? { ...input, name: normaliseResourceUri(input.name) } : input;
    const annotations = effectiveAnnotations(request);
    const baseRule = this.base.find((r) => r.matches(request, annotations));
    const base = baseRule !== undefined ? ruleResult(baseRule) : defaultDecision(request, annotations);
    const wsRule = this.workspace.find((r) => r.matches(request, annotations));
    let result = base;
    if (wsRule !== undefined) {
      const ws = ruleResult(wsRule);
      const wins =
        RANK[ws.decision] > RANK[base.decision] || (ws.decision === base.decision && ws.decision !== 'allow' && base.rule.source === 'default');
      if (wins) result = ws;
      // A workspace rule only tightens: it may raise the number of approvers, never lower it.
      if (result.decision === 'approve' && ws.decision === 'approve' && (ws.approvers ?? 1) > (result.approvers ?? 1)) result = { ...result, approvers: ws.approvers as number };
    }
    if (this.readOnlyMode && !annotations.readOnly && result.decision !== 'deny') {
      result = {
        decision: 'deny',
        reason: `Read-only mode is on: ${describe(request)} is not read-only, so it is not run. Use a read-only tool, or ask the user to switch read-only mode off.`,
        rule: { source: 'read-only-mode' },
      };
    }
    // Roles bound what rules can allow: without operator (or admin) only read-only requests run.
    const principal = request.principal;
    if (principal !== undefined && !hasRole(principal, 'operator') && !annotations.readOnly && result.decision !== 'deny') {
      result = {
        decision: 'deny',
        reason: `${principal.name} holds the role${principal.roles.length === 1 ? '' : 's'} ${principal.roles.join(', ') || 'none'}, which may only make read-only requests: ${describe(request)} is not read-only. Use a read-only tool, or ask an admin for the operator role.`,
        rule: { source: 'role', id: 'operator-required' },
      };
    }
    return result;
  }
}

/**
 * What applies when no base rule matches:
 * - resource read: `approve` when the URI names a secret (`isSecretResourceUri`) or its resolved
 *   effect is a Kubernetes Secret, else `allow`;
 * - prompt get: `allow` (a prompt only returns messages);
 * - tool call with `force` or `reveal` set (`isSet`): `approve`, even for a read-only tool;
 * - third-party tool that declares neither `readOnlyHint` nor `destructiveHint`: `approve`;
 * - read-only tool: `allow`;
 * - destructive tool (declared, or by the spec's default for a write): `approve`;
 * - non-destructive write (`readOnlyHint: false, destructiveHint: false`): `allow` on a built-in
 *   server, whose annotations we wrote; `approve` on a third-party one.
 */
export function defaultDecision(request: PolicyRequest, annotations = effectiveAnnotations(request)): PolicyResult {
  const d = (decision: PolicyDecisionKind, id: string, reason: string): PolicyResult => ({ decision, reason, rule: { source: 'default', id } });
  const what = describe(request);
  if (request.kind === 'resource') {
    return isSecretResourceUri(request.name) || request.effect?.['kind'] === 'Secret'
      ? d('approve', 'secret-resource', `Reading ${what} may reveal a secret, so it needs a human approval.`)
      : d('allow', 'resource-read', `Reading ${what} is allowed by default.`);
  }
  if (request.kind === 'prompt') return d('allow', 'prompt-get', `Getting ${what} is allowed by default.`);
  const flag = ESCALATING_ARGS.find((k) => Object.hasOwn(request.args, k) && isSet(request.args[k]));
  if (flag !== undefined) return d('approve', 'force-or-reveal', `${capitalize(what)} sets "${flag}", which needs a human approval.`);
  if (!annotations.annotated && !request.builtin) {
    return d('approve', 'third-party-unannotated', `${capitalize(what)} does not declare whether it is read-only or destructive, so it needs a human approval.`);
  }
  if (annotations.readOnly) return d('allow', 'read-only', `${capitalize(what)} is read-only.`);
  if (annotations.destructive) return d('approve', 'destructive', `${capitalize(what)} may change or delete things, so it needs a human approval.`);
  return request.builtin
    ? d('allow', 'builtin-non-destructive', `${capitalize(what)} only adds things and is allowed by default.`)
    : d('approve', 'third-party-write', `${capitalize(what)} changes things on a third-party server, so it needs a human approval.`);
}

function describe(request: Pick<PolicyRequest, 'kind' | 'server' | 'name'>): string {
  switch (request.kind) {
    case 'tool':
      return `tool "${request.name}" of server "${request.server}"`;
    case 'resource':
      return `resource "${request.name}" of server "${request.server}"`;
    case 'prompt':
      return `prompt "${request.name}" of server "${request.server}"`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function ruleResult(compiled: CompiledRule): PolicyResult {
  const { ref, rule } = compiled;
  const approvers = rule.decision === 'approve' && rule.approvers !== undefined && rule.approvers > 1 ? { approvers: rule.approvers } : {};
  if (rule.reason !== undefined) return { decision: rule.decision, reason: rule.reason, rule: ref, ...approvers };
  const label = `${rule.id !== undefined ? `"${rule.id}" ` : ''}(#${(ref.index ?? 0) + 1} of the ${ref.source} policy)`;
  const needs = approvers.approvers !== undefined ? `approvals from ${approvers.approvers} different people` : 'a human approval';
  const text = { allow: `Allowed by rule ${label}.`, approve: `Needs ${needs} under rule ${label}.`, deny: `Denied by rule ${label}.` };
  return { decision: rule.decision, reason: text[rule.decision], rule: ref, ...approvers };
}

function compileLayer(source: 'user' | 'config' | 'workspace', rules: readonly PolicyRule[]): CompiledRule[] {
  return rules.map((input, index) => {
    const parsed = policyRuleSchema.safeParse(input);
    if (!parsed.success) {
      throw new ControlPlaneError('POLICY_INVALID', `${source} policy rule #${index + 1}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {
        details: { source, index },
      });
    }
    const rule = parsed.data;
    if (source === 'workspace' && usesRegex(rule)) {
      throw new ControlPlaneError('POLICY_INVALID', `workspace policy rule #${index + 1}: "regex" is not allowed in a workspace policy (use "matches")`, {
        details: { source, index },
      });
    }
    const ref: PolicyRuleRef = rule.id !== undefined ? { source, index, id: rule.id } : { source, index };
    return { ref, rule, matches: compileRule(rule) };
  });
}

/** True when a rule has a `regex` predicate (refused in the workspace layer: see `parsePolicyText`). */
export function usesRegex(rule: PolicyRule): boolean {
  return [...Object.values(rule.args ?? {}), ...Object.values(rule.effect ?? {})].some((p) => p.regex !== undefined);
}

type Test = (request: PolicyRequest, annotations: EffectiveAnnotations) => boolean;

function compileRule(rule: PolicyRule): Test {
  const tests: Test[] = [];
  const kinds = new Set<PolicyRequestKind>(rule.kind === undefined ? [] : Array.isArray(rule.kind) ? rule.kind : [rule.kind]);
  for (const kind of ['tool', 'resource', 'prompt'] as const) {
    const globs = rule[kind];
    if (globs === undefined) continue;
    const name = compileGlobs(globs);
    tests.push((r) => r.kind === kind && name(r.name));
  }
  if (kinds.size > 0) tests.push((r) => kinds.has(r.kind));
  if (rule.server !== undefined) {
    const server = compileGlobs(rule.server);
    tests.push((r) => server(r.server));
  }
  if (rule.builtin !== undefined) {
    const builtin = rule.builtin;
    tests.push((r) => r.builtin === builtin);
  }
  if (rule.principal !== undefined) {
    const who = compileGlobs(rule.principal);
    tests.push((r) => r.principal !== undefined && (who(r.principal.id) || who(r.principal.name)));
  }
  if (rule.role !== undefined) {
    const roles = new Set<Role>(Array.isArray(rule.role) ? rule.role : [rule.role]);
    tests.push((r) => r.principal !== undefined && r.principal.roles.some((role) => roles.has(role)));
  }
  if (rule.group !== undefined) {
    const group = compileGlobs(rule.group);
    tests.push((r) => r.principal !== undefined && r.principal.groups.some((g) => group(g)));
  }
  if (rule.annotations !== undefined) {
    const wanted = Object.entries(rule.annotations).filter((e): e is [keyof EffectiveAnnotations, boolean] => typeof e[1] === 'boolean');
    tests.push((_r, a) => wanted.every(([k, v]) => a[k] === v));
  }
  const quantifier = rule.decision === 'allow' ? 'all' : 'any';
  for (const [path, predicate] of Object.entries(rule.args ?? {})) {
    const test = compilePredicate(path, predicate, quantifier);
    tests.push((r) => test(r.args));
  }
  for (const [path, predicate] of Object.entries(rule.effect ?? {})) {
    const test = compilePredicate(path, predicate, quantifier);
    tests.push((r) => r.effect !== undefined && test(r.effect));
  }
  return (request, annotations) => tests.every((t) => t(request, annotations));
}

function compileGlobs(globs: string | readonly string[]): (value: string) => boolean {
  const matchers = (typeof globs === 'string' ? [globs] : globs).map(compileGlob);
  return (value) => matchers.some((m) => m(value));
}

type Scalar = string | number | boolean | null;

function compilePredicate(path: string, p: ArgPredicate, quantifier: 'all' | 'any'): (args: Readonly<Record<string, unknown>>) => boolean {
  const segments = path.split('.');
  const elementTests: ((value: unknown) => boolean)[] = [];
  if (p.equals !== undefined) {
    const expected = p.equals;
    elementTests.push((v) => v === expected);
  }
  if (p.in !== undefined) {
    const allowed = new Set<Scalar>(p.in);
    elementTests.push((v) => isScalar(v) && allowed.has(v));
  }
  if (p.matches !== undefined) {
    const glob = compileGlobs(p.matches);
    elementTests.push((v) => isStringish(v) && glob(String(v)));
  }
  if (p.regex !== undefined) {
    const re = new RegExp(p.regex);
    elementTests.push((v) => isStringish(v) && re.test(String(v)));
  }
  const element = (v: unknown): boolean => elementTests.every((t) => t(v));
  return (args) => {
    const { found, value } = lookup(args, segments);
    if (p.exists !== undefined && found !== p.exists) return false;
    if (p.truthy !== undefined && isSet(value) !== p.truthy) return false;
    if (elementTests.length === 0) return true;
    if (!found) return false;
    if (Array.isArray(value)) return quantifier === 'all' ? value.length > 0 && value.every(element) : value.some(element);
    return element(value);
  };
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function isStringish(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Follows a dotted path through own properties only (never the prototype chain). */
function lookup(root: unknown, segments: readonly string[]): { found: boolean; value: unknown } {
  let current: unknown = root;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) return { found: false, value: undefined };
      const index = Number(segment);
      if (index >= current.length) return { found: false, value: undefined };
      current = current[index];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: current !== undefined, value: current };
}
