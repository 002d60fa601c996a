import { z } from 'zod';
import { globProblem } from './glob';
import { ROLES } from '../team/principal';

/** What a policy decides for one request. Strictness order: deny > approve > allow. */
export const policyDecisionSchema = z.enum(['allow', 'approve', 'deny']);
export type PolicyDecisionKind = z.infer<typeof policyDecisionSchema>;

/** The three MCP requests that go through policy. */
export const requestKindSchema = z.enum(['tool', 'resource', 'prompt']);
export type PolicyRequestKind = z.infer<typeof requestKindSchema>;

const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const globSchema = z
  .string()
  .min(1)
  .superRefine((glob, ctx) => {
    const problem = globProblem(glob);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `glob ${problem}` });
  });
/** One glob or a list of globs (any may match). */
const globsSchema = z.union([globSchema, z.array(globSchema).min(1)]);

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/**
 * A test on the argument at a dotted path (`namespace`, `target.context`, `items.0.name`). All
 * operators given must hold. Shorthands: a scalar means `equals` (`force: true`), a list means `in`
 * (`namespace: [default, kube-system]`).
 * - `equals`: strict equality with a string, number, boolean or null (no type coercion).
 * - `in`: equals one of the listed scalars.
 * - `matches`: a glob (or list of globs) over the string form of a string, number or boolean.
 * - `regex`: a JavaScript regular expression, searched (not anchored: use `^…$`), at most 512 chars;
 *   user and config policies only (refused in a workspace policy).
 * - `exists`: the path is present (null counts as present) / absent.
 * - `truthy`: the value is "set" — present and not null, false, 0, "" or "false" — / not set.
 * When the value is an array, `equals`, `in`, `matches` and `regex` are judged element by element
 * in the safer direction: for an `allow` rule every element must satisfy them (and the array must
 * not be empty), for `approve` and `deny` rules one element is enough.
 */
export const argPredicateSchema = z.preprocess(
  (value) => {
    if (Array.isArray(value)) return { in: value };
    if (value === null || typeof value !== 'object') return { equals: value };
    return value;
  },
  z
    .strictObject({
      equals: scalarSchema.optional(),
      in: z.array(scalarSchema).min(1).optional(),
      matches: globsSchema.optional(),
      regex: z.string().min(1).max(512).refine(isValidRegex, { message: 'not a valid regular expression' }).optional(),
      exists: z.boolean().optional(),
      truthy: z.boolean().optional(),
    })
    .refine((p) => Object.keys(p).length > 0, {
      message: 'a predicate needs at least one of equals, in, matches, regex, exists, truthy',
    }),
);
export type ArgPredicate = z.infer<typeof argPredicateSchema>;

/**
 * Tests on a request's effective annotations (see `effectiveAnnotations`). Resource reads and prompt
 * gets count as read-only, non-destructive and annotated.
 */
export const annotationMatchSchema = z.strictObject({
  readOnly: z.boolean().optional(),
  destructive: z.boolean().optional(),
  idempotent: z.boolean().optional(),
  openWorld: z.boolean().optional(),
  /** The server declared `readOnlyHint` or `destructiveHint`. */
  annotated: z.boolean().optional(),
});
export type AnnotationMatch = z.infer<typeof annotationMatchSchema>;

/**
 * One policy rule: every condition given must hold; a rule without conditions matches everything.
 * `tool`, `resource` and `prompt` each restrict the rule to that kind of request and match its name
 * (tool name, resource URI, prompt name) against globs; at most one of them may be given, and
 * `kind` may not contradict it. `reason` is shown to the approver and returned to the model; a
 * generated one is used when it is left out.
 */
export const policyRuleSchema = z
  .strictObject({
    id: z.string().min(1).max(100).optional(),
    description: z.string().max(2000).optional(),
    kind: z.union([requestKindSchema, z.array(requestKindSchema).min(1)]).optional(),
    server: globsSchema.optional(),
    tool: globsSchema.optional(),
    resource: globsSchema.optional(),
    prompt: globsSchema.optional(),
    /** true: only built-in servers; false: only third-party servers. */
    builtin: z.boolean().optional(),
    annotations: annotationMatchSchema.optional(),
    args: z.record(z.string().min(1), argPredicateSchema).optional(),
    /**
     * Predicates on the call's effect (same operators as `args`), as the built-in server resolved it
     * before policy: git push `{type: git.push, remote, remoteUrl, sourceSha, destinationRef, force}`,
     * Kubernetes `{type: kubernetes, cluster, context, namespace, kind, name}`, network
     * `{type: network.config, device, tags}`. A rule with `effect` never matches a call without one.
     */
    effect: z.record(z.string().min(1), argPredicateSchema).optional(),
    /**
     * Team mode: who asks. `principal` globs match the principal's id (`oidc:<issuer>#<sub>`,
     * `apikey/<id>`) or its name (e-mail, API key owner); `role` holds when the principal has one
     * of the roles; `group` globs match one of its groups. A rule with any of them never matches a
     * call without a principal (the loopback single-user mode, a what-if replay of such calls).
     */
    principal: globsSchema.optional(),
    role: z.union([z.enum(ROLES), z.array(z.enum(ROLES)).min(1)]).optional(),
    group: globsSchema.optional(),
    decision: policyDecisionSchema,
    reason: z.string().min(1).max(1000).optional(),
    /** For `approve`: how many different people must approve (2: four-eyes). Default 1. */
    approvers: z.number().int().min(1).max(5).optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.approvers !== undefined && rule.decision !== 'approve') {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: `approvers applies to decision: approve only (this rule's decision is ${rule.decision})` });
    }
    const named = (['tool', 'resource', 'prompt'] as const).filter((k) => rule[k] !== undefined);
    if (named.length > 1) {
      ctx.addIssue({ code: 'custom', path: [named[1] ?? 'tool'], message: `give only one of tool, resource, prompt (found ${named.join(', ')})` });
    }
    const only = named[0];
    if (only !== undefined && rule.kind !== undefined) {
      const kinds = Array.isArray(rule.kind) ? rule.kind : [rule.kind];
      if (!kinds.includes(only)) ctx.addIssue({ code: 'custom', path: ['kind'], message: `kind ${kinds.join(', ')} contradicts "${only}"` });
    }
  });
export type PolicyRule = z.infer<typeof policyRuleSchema>;

/** Tool annotations as an MCP server declares them, for a policy test case of a third-party tool. */
const hintsSchema = z.strictObject({
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

/**
 * A sample call and the decision the file's rules must give it (`tests:` in a policy file). Run
 * when the file is loaded (a failing case makes the file invalid: the last valid policy stays) and
 * by `mcpcp policy check FILE`. Exactly one of `tool`, `resource`, `prompt`. A built-in server's
 * tool is judged by its real annotations (and must exist); a third-party tool by `annotations`.
 */
export const policyTestSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    server: z.string().min(1),
    tool: z.string().min(1).optional(),
    resource: z.string().min(1).optional(),
    prompt: z.string().min(1).optional(),
    /** Default: true for the built-in server names (git, kubernetes, network). */
    builtin: z.boolean().optional(),
    annotations: hintsSchema.optional(),
    args: z.record(z.string(), z.unknown()).optional(),
    effect: z.record(z.string(), z.unknown()).optional(),
    /** Team mode: who asks (for rules with `principal`, `role`, `group`). Absent: the loopback single user. */
    principal: z
      .strictObject({
        id: z.string().min(1),
        name: z.string().min(1).optional(),
        roles: z.array(z.enum(ROLES)).default([]),
        groups: z.array(z.string()).default([]),
      })
      .optional(),
    expect: policyDecisionSchema,
  })
  .superRefine((t, ctx) => {
    const named = (['tool', 'resource', 'prompt'] as const).filter((k) => t[k] !== undefined);
    if (named.length !== 1) ctx.addIssue({ code: 'custom', path: [named[1] ?? 'tool'], message: 'give exactly one of tool, resource, prompt' });
  });
export type PolicyTest = z.infer<typeof policyTestSchema>;

/** A rule list as it appears in a VS Code setting or the headless config's `policy.rules`. */
export const policyRulesSchema = z.array(policyRuleSchema);

/**
 * The workspace file `.mcpcp/policy.yaml` (and the same shape in the headless config). `readOnlyMode:
 * true` switches read-only mode on; `false` cannot switch off a mode another source turned on.
 */
export const policyFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  readOnlyMode: z.boolean().optional(),
  rules: policyRulesSchema.default([]),
  /** Sample calls with the decision expected of this file's rules (see `policyTestSchema`). */
  tests: z.array(policyTestSchema).optional(),
});
export type PolicyFile = z.infer<typeof policyFileSchema>;

/**
 * `policyFileSchema` for `.mcpcp/policy.yaml`: additionally refuses `regex` predicates, which a
 * repository's file may not run in the gateway (use `matches`).
 */
export const workspacePolicyFileSchema = policyFileSchema.superRefine((file, ctx) => {
  file.rules.forEach((rule, index) => {
    for (const [path, predicate] of [...Object.entries(rule.args ?? {}), ...Object.entries(rule.effect ?? {}).map(([k, v]) => [`effect:${k}`, v] as const)]) {
      if (predicate.regex !== undefined) {
        const where = path.startsWith('effect:') ? ['effect', path.slice(7)] : ['args', path];
        ctx.addIssue({ code: 'custom', path: ['rules', index, ...where, 'regex'], message: '"regex" is not allowed in a workspace policy; use "matches" (a glob)' });
      }
    }
  });
});
