import type { AuditRecord } from '../audit';
import { findBuiltin } from '../builtin-servers';
import { PolicyEngine, type PolicyLayers, type PolicyRequest, type PolicyResult, type PolicyRuleRef } from '../policy';
import type { PolicyDecisionKind, PolicyFile, PolicyRequestKind, PolicyRule } from '../policy';
import { ROLES } from '../team/principal';

/** What the audit log puts in place of a secret value it knows (the redactor's replacement). */
export const AUDIT_SECRET_MASK = '[REDACTED]';

export type PolicyLayerName = 'user' | 'config' | 'workspace';

export interface WhatIfOptions {
  /** The draft: its rules replace `layer`; its `readOnlyMode` is OR-ed with the kept layers'. */
  readonly draft: PolicyFile;
  readonly layer: PolicyLayerName;
  /** The layers kept as they are (the one named by `layer` is ignored). */
  readonly others?: PolicyLayers;
  /** Examples kept per group. Default 5. */
  readonly maxExamples?: number;
  /** The mask to look for in recorded arguments. Default `AUDIT_SECRET_MASK`. */
  readonly mask?: string;
  /**
   * How an example's arguments are shown (the replay itself uses the recorded values): pass the
   * full redactor's `redactRecord`, so a report pasted into a CI log or shown at /ui does not carry
   * credential-looking values the audit kept for replay. Default: as recorded.
   */
  readonly display?: (args: Readonly<Record<string, unknown>>) => unknown;
}

/** One replayed call, as a report shows it. */
export interface WhatIfExample {
  readonly callId: string;
  readonly ts: string;
  readonly instance: string;
  readonly kind: PolicyRequestKind;
  readonly server: string;
  readonly tool: string;
  /** The recorded arguments, compact and cut to 160 characters. */
  readonly args: string;
  readonly recorded: { readonly decision: PolicyDecisionKind; readonly rule?: PolicyRuleRef };
  /** Absent for an undecidable call. */
  readonly draft?: { readonly decision: PolicyDecisionKind; readonly rule: PolicyRuleRef; readonly reason: string };
  /** Undecidable calls: the recorded fields the outcome depends on that the record does not hold. */
  readonly unknown?: readonly string[];
}

/** `loosened`: deny → approve/allow, approve → allow. `tightened`: the reverse. */
export type WhatIfDirection = 'loosened' | 'tightened';

/** Changed calls with the same direction, decisions and deciding draft rule. */
export interface WhatIfGroup {
  readonly direction: WhatIfDirection;
  readonly from: PolicyDecisionKind;
  readonly to: PolicyDecisionKind;
  /** The rule (or default) that gives the draft's decision. */
  readonly rule: PolicyRuleRef;
  /** "rule "x" (#2 of the config policy)", "default read-only", … */
  readonly label: string;
  readonly count: number;
  readonly examples: readonly WhatIfExample[];
}

export interface WhatIfReport {
  readonly layer: PolicyLayerName;
  /** Calls with both their request and their recorded decision. */
  readonly replayed: number;
  readonly unchanged: number;
  readonly loosened: number;
  readonly tightened: number;
  readonly undecidable: number;
  /** Requests without a recorded decision (refused before policy: validation, audit failure, a session limit). */
  readonly withoutDecision: number;
  /** Time of the first and last replayed call. */
  readonly from?: string;
  readonly to?: string;
  readonly groups: readonly WhatIfGroup[];
  readonly undecidableExamples: readonly WhatIfExample[];
}

const RANK: Record<PolicyDecisionKind, number> = { allow: 0, approve: 1, deny: 2 };
const REQUEST_TYPES = new Map<string, PolicyRequestKind>([
  ['call.requested', 'tool'],
  ['resource.read', 'resource'],
  ['prompt.get', 'prompt'],
]);
/** More rules than this whose outcome hides behind a mask in one call: undecidable without trying. */
const MAX_UNCERTAIN = 8;

/**
 * Replays recorded calls through a draft policy. Each request record (`call.requested`,
 * `resource.read`, `prompt.get`) is paired with its `policy.decided` (same instance and call id);
 * the request is rebuilt from the recorded policy inputs and evaluated by `PolicyEngine` (the
 * gateway's engine) with the draft in `layer` and the other layers as given. A call whose outcome
 * depends on a value the record masked (a known secret inside an argument a rule tests) is
 * undecidable: every combination of the rules that test masked fields matching or not is
 * evaluated, and only when all give the same decision is the call decided.
 */
export function replayAudit(records: Iterable<AuditRecord>, options: WhatIfOptions): WhatIfReport {
  const mask = options.mask ?? AUDIT_SECRET_MASK;
  const maxExamples = options.maxExamples ?? 5;
  const layers: PolicyLayers = {
    ...options.others,
    [options.layer]: options.draft.rules,
    readOnlyMode: options.others?.readOnlyMode === true || options.draft.readOnlyMode === true,
  };
  const engine = new PolicyEngine(layers);
  const requests = new Map<string, AuditRecord>();
  const pairs: Array<{ request: AuditRecord; decided: AuditRecord }> = [];
  for (const record of records) {
    if (record.callId === undefined) continue;
    const key = `${record.instance}\u0000${record.callId}`;
    if (REQUEST_TYPES.has(record.type)) requests.set(key, record);
    else if (record.type === 'policy.decided') {
      const request = requests.get(key);
      if (request !== undefined && isPolicyDecision(record.decision)) {
        pairs.push({ request, decided: record });
        requests.delete(key);
      }
    }
  }
  const groups = new Map<string, { group: Omit<WhatIfGroup, 'count' | 'examples'>; count: number; examples: WhatIfExample[] }>();
  const undecidableExamples: WhatIfExample[] = [];
  let unchanged = 0;
  let loosened = 0;
  let tightened = 0;
  let undecidable = 0;
  for (const { request, decided } of pairs) {
    const recordedDecision = decided.decision as PolicyDecisionKind;
    const example = (extra: Partial<WhatIfExample>): WhatIfExample => ({
      callId: request.callId ?? '',
      ts: request.ts,
      instance: request.instance,
      kind: REQUEST_TYPES.get(request.type) ?? 'tool',
      server: request.server ?? '',
      tool: request.tool ?? '',
      args: summariseArgs(options.display && request.args ? options.display(request.args) : request.args),
      recorded: { decision: recordedDecision, ...(decided.rule ? { rule: decided.rule as PolicyRuleRef } : {}) },
      ...extra,
    });
    const outcome = decide(engine, layers, request, mask);
    if ('unknown' in outcome) {
      undecidable++;
      if (undecidableExamples.length < maxExamples * 4) undecidableExamples.push(example({ unknown: outcome.unknown }));
      continue;
    }
    const result = outcome.result;
    if (result.decision === recordedDecision) {
      unchanged++;
      continue;
    }
    const direction: WhatIfDirection = RANK[result.decision] < RANK[recordedDecision] ? 'loosened' : 'tightened';
    if (direction === 'loosened') loosened++;
    else tightened++;
    const key = `${direction}|${recordedDecision}|${result.decision}|${result.rule.source}|${result.rule.index ?? ''}|${result.rule.id ?? ''}`;
    const entry = groups.get(key) ?? { group: { direction, from: recordedDecision, to: result.decision, rule: result.rule, label: ruleLabel(result.rule) }, count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < maxExamples) entry.examples.push(example({ draft: { decision: result.decision, rule: result.rule, reason: result.reason } }));
    groups.set(key, entry);
  }
  const ordered = [...groups.values()]
    .map((g) => ({ ...g.group, count: g.count, examples: g.examples }))
    .sort((a, b) => (a.direction === b.direction ? b.count - a.count : a.direction === 'loosened' ? -1 : 1));
  const first = pairs[0]?.request.ts;
  const last = pairs[pairs.length - 1]?.request.ts;
  return {
    layer: options.layer,
    replayed: pairs.length,
    unchanged,
    loosened,
    tightened,
    undecidable,
    withoutDecision: requests.size,
    ...(first !== undefined ? { from: first } : {}),
    ...(last !== undefined ? { to: last } : {}),
    groups: ordered,
    undecidableExamples,
  };
}

function isPolicyDecision(value: unknown): value is PolicyDecisionKind {
  return value === 'allow' || value === 'approve' || value === 'deny';
}

/** "rule "no-force" (#2 of the config policy)", "the default (destructive)", "read-only mode". */
export function ruleLabel(rule: PolicyRuleRef): string {
  if (rule.source === 'default') return `the default${rule.id !== undefined ? ` (${rule.id})` : ''}`;
  if (rule.source === 'read-only-mode') return 'read-only mode';
  return `rule ${rule.id !== undefined ? `"${rule.id}" ` : ''}(#${(rule.index ?? 0) + 1} of the ${rule.source} policy)`;
}

/** Compact JSON of the arguments, cut to 160 characters. */
export function summariseArgs(args: unknown): string {
  if (args === undefined) return '{}';
  const text = JSON.stringify(args) ?? '{}';
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** Where the mask occurs in a recorded value: paths of masked values, and of objects with a masked key. */
interface Masked {
  /** Dotted paths (from `args` or `effect`) whose value contains the mask. */
  readonly values: string[][];
  /** Dotted paths of objects one of whose keys contains the mask (any path under them is unknown). */
  readonly keys: string[][];
}

function findMasked(value: unknown, mask: string, path: string[], out: Masked, depth = 0): void {
  if (depth > 64) return;
  if (typeof value === 'string') {
    if (value.includes(mask)) out.values.push(path);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => findMasked(v, mask, [...path, String(i)], out, depth + 1));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k.includes(mask)) out.keys.push(path);
    findMasked(v, mask, [...path, k], out, depth + 1);
  }
}

function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((s, i) => b[i] === s);
}

/** The predicate paths of a rule (`args.x.y`, `effect.z`) that reach a masked value. */
function maskedPredicates(rule: PolicyRule, masked: Masked): string[] {
  const hits: string[] = [];
  for (const root of ['args', 'effect'] as const) {
    for (const path of Object.keys(rule[root] ?? {})) {
      const p = [root, ...path.split('.')];
      const hit = masked.values.some((m) => isPrefix(m, p) || isPrefix(p, m)) || masked.keys.some((k) => isPrefix(k, p));
      if (hit) hits.push(`${root}.${path}`);
    }
  }
  return hits;
}

type Decided = { result: PolicyResult } | { unknown: string[] };

/**
 * The draft's decision for one recorded request, or the fields it depends on that the record does
 * not hold: masked values a rule tests, and whether the server is built in when that was not
 * recorded (records before `detail.builtin`) and the server is not one of the built-in names.
 */
function decide(engine: PolicyEngine, layers: PolicyLayers, record: AuditRecord, mask: string): Decided {
  const kind = REQUEST_TYPES.get(record.type) ?? 'tool';
  const detail = record.detail !== null && typeof record.detail === 'object' ? (record.detail as Record<string, unknown>) : {};
  const recordedBuiltin = typeof detail['builtin'] === 'boolean' ? (detail['builtin'] as boolean) : undefined;
  const builtins: boolean[] = recordedBuiltin !== undefined ? [recordedBuiltin] : findBuiltin(record.server ?? '') !== undefined ? [true] : [true, false];
  const effect = record.effect !== null && typeof record.effect === 'object' && !Array.isArray(record.effect) ? (record.effect as Record<string, unknown>) : undefined;
  // Team mode: who asked, as recorded, so rules on principal, role and group replay as they decided.
  const p = record.principal;
  const principal = p?.id !== undefined ? { id: p.id, name: p.name ?? p.id, roles: ROLES.filter((r) => p.roles?.includes(r)), groups: p.groups ?? [] } : undefined;
  const base = (builtin: boolean): PolicyRequest => ({
    kind,
    server: record.server ?? '',
    name: record.tool ?? '',
    builtin,
    ...(record.annotations !== undefined ? { annotations: record.annotations } : {}),
    args: record.args ?? {},
    ...(effect !== undefined ? { effect } : {}),
    ...(principal !== undefined ? { principal } : {}),
  });
  const masked: Masked = { values: [], keys: [] };
  findMasked(record.args ?? {}, mask, ['args'], masked);
  if (effect !== undefined) findMasked(effect, mask, ['effect'], masked);
  // The rules whose match depends on a masked value, and could match given everything else.
  const uncertain: Array<{ layer: PolicyLayerName; index: number; stripped: PolicyRule; fields: string[] }> = [];
  if (masked.values.length > 0 || masked.keys.length > 0) {
    for (const layer of ['user', 'config', 'workspace'] as const) {
      (layers[layer] ?? []).forEach((rule, index) => {
        const fields = maskedPredicates(rule, masked);
        if (fields.length === 0) return;
        const stripped = stripPredicates(rule, fields);
        const couldMatch = builtins.some((b) => new PolicyEngine({ config: [stripped] }).evaluate(base(b)).rule.source === 'config');
        if (couldMatch) uncertain.push({ layer, index, stripped, fields });
      });
    }
  }
  const unknownFields = [...new Set(uncertain.flatMap((u) => u.fields))];
  if (uncertain.length > MAX_UNCERTAIN) return { unknown: unknownFields };
  const results: PolicyResult[] = [];
  for (const builtin of builtins) {
    const request = base(builtin);
    if (uncertain.length === 0) {
      results.push(engine.evaluate(request));
      continue;
    }
    for (let bits = 0; bits < 1 << uncertain.length; bits++) {
      const variant: Record<PolicyLayerName, PolicyRule[]> = { user: [...(layers.user ?? [])], config: [...(layers.config ?? [])], workspace: [...(layers.workspace ?? [])] };
      uncertain.forEach((u, i) => {
        // Matches: the rule without its masked predicates. Does not match: a rule that cannot match
        // this request (the opposite `builtin`), keeping every index in place.
        variant[u.layer][u.index] = (bits & (1 << i)) !== 0 ? u.stripped : { ...u.stripped, builtin: !builtin };
      });
      results.push(new PolicyEngine({ ...variant, readOnlyMode: layers.readOnlyMode === true }).evaluate(request));
    }
  }
  const decisions = new Set(results.map((r) => r.decision));
  if (decisions.size === 1) return { result: results[0]! };
  return { unknown: [...unknownFields, ...(builtins.length > 1 ? ['builtin (not recorded; the server is not a built-in name)'] : [])] };
}

function stripPredicates(rule: PolicyRule, fields: readonly string[]): PolicyRule {
  const out: Record<string, unknown> = { ...rule };
  for (const root of ['args', 'effect'] as const) {
    const predicates = rule[root];
    if (predicates === undefined) continue;
    const kept = Object.fromEntries(Object.entries(predicates).filter(([path]) => !fields.includes(`${root}.${path}`)));
    if (Object.keys(kept).length > 0) out[root] = kept;
    else delete out[root];
  }
  return out as PolicyRule;
}
