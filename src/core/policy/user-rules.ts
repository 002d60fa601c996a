// Rules the human writes from the UI ("Always Allow", "Always Require Approval", per-tool
// enable/disable): computes the new user rule list (or tool filter) and says what it wrote. The
// caller (VS Code) persists the result; nothing here touches settings.
import { BUILTIN_TOOL_ANNOTATIONS } from './builtin-catalogue';
import { compileGlob } from './glob';
import { PolicyEngine, effectiveAnnotations, type PolicyRequest, type PolicyRuleRef, type ToolAnnotations } from './engine';
import { policyRuleSchema, type PolicyRule } from './schema';

/** One tool of one server, with what it declares about itself. */
export interface ToolRef {
  readonly server: string;
  readonly tool: string;
  /** Whether the server is built in (its annotations are trusted). */
  readonly builtin: boolean;
  /** The tool's annotations as the server lists them (absent: none declared). */
  readonly annotations?: ToolAnnotations;
}

/** What a UI-written rule does for one tool. */
export type ToolRuleDecision = 'allow' | 'approve';

/** Marks a rule as written from the UI for exactly one tool (the only rules these functions replace). */
export const UI_RULE_MARK = 'Written by MCP Control Plane from the UI';

/** A literal name as a glob (`*`, `?`, `[`, `]`, `{`, `}`, `,` and `\` escaped). */
export function literalGlob(name: string): string {
  return name.replace(/[\\*?[\]{},]/g, '\\$&');
}

/**
 * Whether a tool may be loosened to "always allow" from the UI: never a destructive one. Destructive
 * means: the server declared it (`destructiveHint: true`, or `readOnlyHint: false` without
 * `destructiveHint: false`, which the MCP spec reads as destructive), or, for a built-in server, its
 * catalogue entry says so (a built-in tool the catalogue does not know is refused too). A
 * third-party tool that declares nothing is not known to be destructive: it waits for approval by
 * default, and this is how the human says "this one is fine".
 */
export function mayAlwaysAllow(ref: Pick<ToolRef, 'annotations'> & Partial<Pick<ToolRef, 'server' | 'tool' | 'builtin'>>): boolean {
  const catalogue = ref.builtin === true && ref.server !== undefined && ref.tool !== undefined ? BUILTIN_TOOL_ANNOTATIONS[ref.server]?.[ref.tool] : undefined;
  if (ref.builtin === true && catalogue === undefined && ref.annotations === undefined) return false;
  for (const annotations of [ref.annotations, catalogue]) {
    if (annotations === undefined) continue;
    const a = effectiveAnnotations({ kind: 'tool', annotations });
    if (a.annotated && a.destructive) return false;
  }
  return true;
}

/** The rule "always allow" / "always require approval" writes for one tool. */
export function toolRule(ref: Pick<ToolRef, 'server' | 'tool'>, decision: ToolRuleDecision): PolicyRule {
  const verb = decision === 'allow' ? 'always-allow' : 'always-approve';
  const id = `${verb} ${ref.server}/${ref.tool}`;
  return {
    id: id.length <= 100 ? id : `${id.slice(0, 99)}…`,
    description: `${UI_RULE_MARK} (${decision === 'allow' ? 'Always Allow' : 'Always Require Approval'}).`,
    server: literalGlob(ref.server),
    tool: literalGlob(ref.tool),
    decision,
  };
}

/** A rule written from the UI for exactly this tool (any decision). */
export function isUiRuleFor(rule: PolicyRule, ref: Pick<ToolRef, 'server' | 'tool'>): boolean {
  return rule.description?.startsWith(UI_RULE_MARK) === true && rule.server === literalGlob(ref.server) && rule.tool === literalGlob(ref.tool) && rule.args === undefined && rule.effect === undefined;
}

/** The result of placing a UI rule in the user's rule list. */
export interface PlacedRule {
  /** The whole new user rule list (write it as is). */
  readonly rules: PolicyRule[];
  /** The rule written. */
  readonly rule: PolicyRule;
  /** Its 0-based position in `rules`. */
  readonly index: number;
  /** UI rules for the same tool that were removed (the earlier choice for it). */
  readonly replaced: PolicyRule[];
  /** The decision for a call of the tool without arguments, before and after (the real engine). */
  readonly before: PolicyResultSummary;
  readonly after: PolicyResultSummary;
  /**
   * User rules that come first and can still decide some calls of the tool differently (they have
   * conditions on arguments or effects, or match everything): the new rule does not override them.
   * Empty when the new rule decides every call of the tool.
   */
  readonly precededBy: Array<{ readonly index: number; readonly rule: PolicyRule }>;
  /** False when a rule before it matches every call of the tool, so writing it would change nothing. */
  readonly effective: boolean;
}

export interface PolicyResultSummary {
  readonly decision: 'allow' | 'approve' | 'deny';
  readonly rule: PolicyRuleRef;
}

/**
 * Puts an "always allow" or "always require approval" rule for one tool into the user's rules.
 * First match decides (docs/policy.md), so where it goes is what it means:
 * - `allow` (loosening) goes after every `deny` rule of the user, and after every `approve` rule
 *   that could match the tool: whatever the user denied or sent to approval stays so.
 * - `approve` (tightening) goes before the first rule that could allow the tool, but never before
 *   a `deny` rule that could match it (an approval must not soften a deny).
 * "Could match" ignores `args` and `effect` conditions (unknown until a call), and judges `server`,
 * `tool`, `kind`, `builtin` and `annotations` against the tool. An earlier UI rule for the same
 * tool is replaced. The user's own rules are never edited or reordered.
 */
export function placeToolRule(current: readonly PolicyRule[], ref: ToolRef, decision: ToolRuleDecision): PlacedRule {
  const rule = toolRule(ref, decision);
  const replaced = current.filter((r) => isUiRuleFor(r, ref));
  const rules = current.filter((r) => !isUiRuleFor(r, ref));
  const could = rules.map((r) => couldMatch(r, ref));
  let index: number;
  if (decision === 'allow') {
    let last = -1;
    rules.forEach((r, i) => {
      if (r.decision === 'deny' || (r.decision === 'approve' && could[i])) last = i;
    });
    index = last + 1;
  } else {
    const firstAllow = rules.findIndex((r, i) => r.decision === 'allow' && could[i]);
    let lastDeny = -1;
    rules.forEach((r, i) => {
      if (r.decision === 'deny' && could[i]) lastDeny = i;
    });
    index = Math.max(firstAllow === -1 ? rules.length : firstAllow, lastDeny + 1);
  }
  const next = [...rules.slice(0, index), rule, ...rules.slice(index)];
  // Rules before it that can decide a call of this tool differently (not a stricter-or-same rule for a tightening).
  const precededBy = rules
    .slice(0, index)
    .map((r, i) => ({ index: i, rule: r }))
    .filter(({ rule: r, index: i }) => could[i] && r.decision !== decision && !(decision === 'approve' && r.decision === 'deny'));
  const shadowing = precededBy.find(({ rule: r }) => r.args === undefined && r.effect === undefined);
  return {
    rules: next,
    rule,
    index,
    replaced,
    before: summary(new PolicyEngine({ user: current }).evaluate(request(ref))),
    after: summary(new PolicyEngine({ user: next }).evaluate(request(ref))),
    precededBy,
    effective: shadowing === undefined,
  };
}

/** Removes the UI rules for one tool (back to what the user's own rules and the defaults say). */
export function removeToolRules(current: readonly PolicyRule[], ref: Pick<ToolRef, 'server' | 'tool'>): { rules: PolicyRule[]; removed: PolicyRule[] } {
  return { rules: current.filter((r) => !isUiRuleFor(r, ref)), removed: current.filter((r) => isUiRuleFor(r, ref)) };
}

/** The UI decision in force for a tool, if a UI rule exists for it. */
export function uiDecisionFor(current: readonly PolicyRule[], ref: Pick<ToolRef, 'server' | 'tool'>): ToolRuleDecision | undefined {
  const found = current.find((r) => isUiRuleFor(r, ref));
  return found?.decision === 'allow' || found?.decision === 'approve' ? found.decision : undefined;
}

function request(ref: ToolRef): PolicyRequest {
  return { kind: 'tool', server: ref.server, name: ref.tool, builtin: ref.builtin, args: {}, ...(ref.annotations ? { annotations: ref.annotations } : {}) };
}

function summary(result: { decision: 'allow' | 'approve' | 'deny'; rule: PolicyRuleRef }): PolicyResultSummary {
  return { decision: result.decision, rule: result.rule };
}

/** Whether a rule could match some call of the tool (conditions on arguments and effects count as "could"). */
function couldMatch(input: PolicyRule, ref: ToolRef): boolean {
  const parsed = policyRuleSchema.safeParse(input);
  if (!parsed.success) return true;
  const rule = parsed.data;
  if (rule.resource !== undefined || rule.prompt !== undefined) return false;
  if (rule.kind !== undefined && !(Array.isArray(rule.kind) ? rule.kind : [rule.kind]).includes('tool')) return false;
  const any = (globs: string | string[], value: string): boolean => (Array.isArray(globs) ? globs : [globs]).some((g) => compileGlob(g)(value));
  if (rule.server !== undefined && !any(rule.server, ref.server)) return false;
  if (rule.tool !== undefined && !any(rule.tool, ref.tool)) return false;
  if (rule.builtin !== undefined && rule.builtin !== ref.builtin) return false;
  if (rule.annotations !== undefined) {
    const a = effectiveAnnotations({ kind: 'tool', ...(ref.annotations ? { annotations: ref.annotations } : {}) });
    for (const [k, v] of Object.entries(rule.annotations)) if (typeof v === 'boolean' && a[k as keyof typeof a] !== v) return false;
  }
  return true;
}

/** A server's tool filter (`servers.<name>.tools`). */
export interface ToolFilter {
  include?: string[];
  exclude?: string[];
}

/**
 * The tool filter with one tool disabled (`exclude` gains its literal name) or enabled (its literal
 * name leaves `exclude`; when an `include` list does not offer it, the name is added there). A
 * glob in `exclude` that still hides the tool is reported in `stillHiddenBy`: the human edits it.
 */
export function toolFilterWith(filter: ToolFilter | undefined, tool: string, enabled: boolean): { filter: ToolFilter; changed: boolean; stillHiddenBy?: string } {
  const include = filter?.include ? [...filter.include] : undefined;
  const exclude = filter?.exclude ? [...filter.exclude] : undefined;
  const name = literalGlob(tool);
  const matches = (g: string): boolean => compileGlob(g)(tool);
  if (!enabled) {
    if (exclude?.some(matches)) return { filter: { ...(include ? { include } : {}), exclude }, changed: false };
    return { filter: { ...(include ? { include } : {}), exclude: [...(exclude ?? []), name] }, changed: true };
  }
  let changed = false;
  const kept = exclude?.filter((g) => {
    const drop = g === name || g === tool;
    if (drop) changed = true;
    return !drop;
  });
  const nextInclude = include && !include.some(matches) ? ((changed = true), [...include, name]) : include;
  const stillHiddenBy = kept?.find(matches);
  const out: ToolFilter = { ...(nextInclude ? { include: nextInclude } : {}), ...(kept && kept.length > 0 ? { exclude: kept } : {}) };
  return { filter: out, changed, ...(stillHiddenBy !== undefined ? { stillHiddenBy } : {}) };
}

/** Tools a filter hides by their literal name (disabled one by one, so they can be enabled one by one). */
export function disabledToolNames(filter: ToolFilter | undefined): string[] {
  return (filter?.exclude ?? []).filter((g) => !/(?<!\\)[*?[{]/.test(g)).map((g) => g.replace(/\\(.)/g, '$1'));
}
