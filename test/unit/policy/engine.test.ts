import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PolicyEngine,
  effectiveAnnotations,
  isSecretResourceUri,
  normaliseResourceUri,
  policyRuleSchema,
  type PolicyLayers,
  type PolicyRequest,
  type PolicyRule,
  type ToolAnnotations,
} from '../../../src/core/policy';

const READ_ONLY: ToolAnnotations = { readOnlyHint: true };
const DESTRUCTIVE: ToolAnnotations = { readOnlyHint: false, destructiveHint: true };
const ADDITIVE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false };

function tool(name: string, options: Partial<PolicyRequest> = {}): PolicyRequest {
  return { kind: 'tool', server: 'kubernetes', name, builtin: true, annotations: READ_ONLY, args: {}, ...options };
}

/** Rules as a user would write them, validated through the one schema. */
function rules(...input: unknown[]): PolicyRule[] {
  return input.map((r) => policyRuleSchema.parse(r));
}

interface Case {
  readonly name: string;
  readonly layers?: PolicyLayers;
  readonly request: PolicyRequest;
  readonly decision: 'allow' | 'approve' | 'deny';
  /** Expected rule reference: `source`, `source#index` or `default:id`. */
  readonly by: string;
}

function ref(result: ReturnType<PolicyEngine['evaluate']>): string {
  const r = result.rule;
  if (r.source === 'default') return `default:${r.id ?? ''}`;
  return r.index === undefined ? r.source : `${r.source}#${r.index}`;
}

function runTable(cases: readonly Case[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const result = new PolicyEngine(c.layers ?? {}).evaluate(c.request);
      assert.equal(result.decision, c.decision, result.reason);
      assert.equal(ref(result), c.by);
      assert.ok(result.reason.length > 10, 'a reason for the user and the model');
    });
  }
}

describe('policy defaults (no rule matches)', () => {
  runTable([
    { name: 'read-only tool → allow', request: tool('pods_list'), decision: 'allow', by: 'default:read-only' },
    { name: 'destructive tool → approve', request: tool('pod_delete', { annotations: DESTRUCTIVE }), decision: 'approve', by: 'default:destructive' },
    {
      name: 'write tool with spec-default destructiveHint → approve',
      request: tool('resource_apply', { annotations: { readOnlyHint: false } }),
      decision: 'approve',
      by: 'default:destructive',
    },
    {
      name: 'built-in non-destructive write → allow',
      request: tool('namespace_create', { annotations: ADDITIVE }),
      decision: 'allow',
      by: 'default:builtin-non-destructive',
    },
    {
      name: 'third-party non-destructive write → approve',
      request: tool('issue_create', { server: 'github', builtin: false, annotations: ADDITIVE }),
      decision: 'approve',
      by: 'default:third-party-write',
    },
    {
      name: 'third-party tool without annotations → approve',
      request: tool('do_things', { server: 'acme', builtin: false, annotations: undefined }),
      decision: 'approve',
      by: 'default:third-party-unannotated',
    },
    {
      name: 'third-party tool with only openWorldHint counts as unannotated → approve',
      request: tool('do_things', { server: 'acme', builtin: false, annotations: { openWorldHint: false } }),
      decision: 'approve',
      by: 'default:third-party-unannotated',
    },
    {
      name: 'third-party read-only tool → allow',
      request: tool('search', { server: 'acme', builtin: false, annotations: READ_ONLY }),
      decision: 'allow',
      by: 'default:read-only',
    },
    {
      name: 'built-in tool without annotations is destructive by the spec default → approve',
      request: tool('thing', { annotations: undefined }),
      decision: 'approve',
      by: 'default:destructive',
    },
    { name: 'force: true on a read-only tool → approve', request: tool('pods_list', { args: { force: true } }), decision: 'approve', by: 'default:force-or-reveal' },
    { name: 'reveal: "yes" → approve', request: tool('secret_get', { args: { reveal: 'yes' } }), decision: 'approve', by: 'default:force-or-reveal' },
    { name: 'reveal: 1 → approve', request: tool('secret_get', { args: { reveal: 1 } }), decision: 'approve', by: 'default:force-or-reveal' },
    { name: 'force: false → not escalated', request: tool('pods_list', { args: { force: false } }), decision: 'allow', by: 'default:read-only' },
    { name: 'reveal: "false" → not escalated', request: tool('pods_list', { args: { reveal: 'false' } }), decision: 'allow', by: 'default:read-only' },
    { name: 'force: null → not escalated', request: tool('pods_list', { args: { force: null } }), decision: 'allow', by: 'default:read-only' },
    {
      name: 'resource read → allow',
      request: { kind: 'resource', server: 'kubernetes', name: 'k8s://dev/namespaces/default/pods/web-1', builtin: true, args: {} },
      decision: 'allow',
      by: 'default:resource-read',
    },
    {
      name: 'Kubernetes Secret resource → approve',
      request: { kind: 'resource', server: 'kubernetes', name: 'k8s://dev/namespaces/default/secrets/db', builtin: true, args: {} },
      decision: 'approve',
      by: 'default:secret-resource',
    },
    {
      name: 'prompt get → allow',
      request: { kind: 'prompt', server: 'git', name: 'summarize', builtin: true, args: { force: true } },
      decision: 'allow',
      by: 'default:prompt-get',
    },
  ]);
});

describe('policy rules: ordered, first match decides', () => {
  const user = rules(
    { id: 'no-kube-system', server: 'kubernetes', args: { namespace: 'kube-system' }, decision: 'deny', reason: 'kube-system is off limits.' },
    { id: 'prod-approve', server: 'kubernetes', args: { context: { matches: 'prod-*' } }, decision: 'approve' },
    { id: 'dev-free', server: 'kubernetes', args: { context: { matches: 'dev-*' } }, decision: 'allow' },
    { id: 'deletes', tool: '*_delete', decision: 'approve' },
  );
  runTable([
    { name: 'first rule wins over a later allow', layers: { user }, request: tool('pod_delete', { args: { namespace: 'kube-system', context: 'dev-1' } }), decision: 'deny', by: 'user#0' },
    { name: 'second rule: prod context', layers: { user }, request: tool('pods_list', { args: { context: 'prod-eu' } }), decision: 'approve', by: 'user#1' },
    {
      name: 'an allow rule beats the destructive default',
      layers: { user },
      request: tool('pod_delete', { annotations: DESTRUCTIVE, args: { context: 'dev-3' } }),
      decision: 'allow',
      by: 'user#2',
    },
    { name: 'tool glob', layers: { user }, request: tool('pod_delete', { annotations: READ_ONLY, args: { context: 'other' } }), decision: 'approve', by: 'user#3' },
    { name: 'no match → defaults', layers: { user }, request: tool('pods_list', { args: { context: 'other' } }), decision: 'allow', by: 'default:read-only' },
    {
      name: 'user rules come before config rules',
      layers: { user: rules({ tool: 'x', decision: 'allow' }), config: rules({ tool: 'x', decision: 'deny' }) },
      request: tool('x', { annotations: DESTRUCTIVE }),
      decision: 'allow',
      by: 'user#0',
    },
    {
      name: 'config rules apply when no user rule matches',
      layers: { user: rules({ tool: 'y', decision: 'allow' }), config: rules({ tool: 'x', decision: 'deny' }) },
      request: tool('x'),
      decision: 'deny',
      by: 'config#0',
    },
    {
      name: 'an explicit user allow overrides the force/reveal default',
      layers: { user: rules({ tool: 'secret_get', server: 'kubernetes', args: { namespace: 'sandbox' }, decision: 'allow' }) },
      request: tool('secret_get', { args: { namespace: 'sandbox', reveal: true } }),
      decision: 'allow',
      by: 'user#0',
    },
  ]);

  it('uses the rule reason, or generates one naming the rule', () => {
    const engine = new PolicyEngine({ user });
    assert.equal(engine.evaluate(tool('x', { args: { namespace: 'kube-system' } })).reason, 'kube-system is off limits.');
    assert.match(engine.evaluate(tool('x', { args: { context: 'prod-1' } })).reason, /"prod-approve" \(#2 of the user policy\)/);
    assert.deepEqual(engine.evaluate(tool('x', { args: { context: 'prod-1' } })).rule, { source: 'user', index: 1, id: 'prod-approve' });
  });
});

describe('workspace rules can only tighten', () => {
  const wsDenyProd = rules({ id: 'ws-prod', args: { context: { matches: 'prod-*' } }, decision: 'deny', reason: 'Not from this repository.' });
  runTable([
    {
      name: 'workspace allow cannot loosen a destructive default',
      layers: { workspace: rules({ decision: 'allow' }) },
      request: tool('pod_delete', { annotations: DESTRUCTIVE }),
      decision: 'approve',
      by: 'default:destructive',
    },
    {
      name: 'workspace allow cannot loosen a user approve',
      layers: { user: rules({ tool: 'pods_list', decision: 'approve' }), workspace: rules({ tool: 'pods_list', decision: 'allow' }) },
      request: tool('pods_list'),
      decision: 'approve',
      by: 'user#0',
    },
    {
      name: 'workspace allow cannot loosen a user deny',
      layers: { user: rules({ server: 'git', decision: 'deny' }), workspace: rules({ decision: 'allow' }) },
      request: tool('repo_status', { server: 'git' }),
      decision: 'deny',
      by: 'user#0',
    },
    {
      name: 'workspace allow cannot switch off the unannotated third-party approval',
      layers: { workspace: rules({ server: 'acme', decision: 'allow' }) },
      request: tool('run', { server: 'acme', builtin: false, annotations: undefined }),
      decision: 'approve',
      by: 'default:third-party-unannotated',
    },
    {
      name: 'workspace allow cannot switch off force/reveal',
      layers: { workspace: rules({ decision: 'allow' }) },
      request: tool('secret_get', { args: { reveal: true } }),
      decision: 'approve',
      by: 'default:force-or-reveal',
    },
    {
      name: 'workspace deny tightens a user allow',
      layers: { user: rules({ server: 'kubernetes', decision: 'allow' }), workspace: wsDenyProd },
      request: tool('pods_list', { args: { context: 'prod-us' } }),
      decision: 'deny',
      by: 'workspace#0',
    },
    {
      name: 'workspace approve tightens a read-only default',
      layers: { workspace: rules({ server: 'git', decision: 'approve' }) },
      request: tool('repo_log', { server: 'git' }),
      decision: 'approve',
      by: 'workspace#0',
    },
    {
      name: 'on a tie the explicit workspace rule is reported over a default',
      layers: { workspace: rules({ tool: '*_delete', decision: 'approve', reason: 'Deletes here need review.' }) },
      request: tool('pod_delete', { annotations: DESTRUCTIVE }),
      decision: 'approve',
      by: 'workspace#0',
    },
    {
      name: 'on a tie the base rule is reported over the workspace rule',
      layers: { user: rules({ tool: 'x', decision: 'approve' }), workspace: rules({ tool: 'x', decision: 'approve' }) },
      request: tool('x'),
      decision: 'approve',
      by: 'user#0',
    },
    {
      name: 'a workspace allow stops later workspace rules (exemption inside the workspace layer)',
      layers: { workspace: rules({ tool: 'pods_list', decision: 'allow' }, { server: 'kubernetes', decision: 'deny' }) },
      request: tool('pods_list'),
      decision: 'allow',
      by: 'default:read-only',
    },
    {
      name: 'the workspace deny applies to what its allow does not exempt',
      layers: { workspace: rules({ tool: 'pods_list', decision: 'allow' }, { server: 'kubernetes', decision: 'deny' }) },
      request: tool('pods_logs'),
      decision: 'deny',
      by: 'workspace#1',
    },
  ]);
});

describe('read-only mode', () => {
  runTable([
    { name: 'read-only tool still allowed', layers: { readOnlyMode: true }, request: tool('pods_list'), decision: 'allow', by: 'default:read-only' },
    { name: 'non-read-only tool denied', layers: { readOnlyMode: true }, request: tool('pod_delete', { annotations: DESTRUCTIVE }), decision: 'deny', by: 'read-only-mode' },
    {
      name: 'an allow rule does not beat read-only mode',
      layers: { readOnlyMode: true, user: rules({ decision: 'allow' }) },
      request: tool('namespace_create', { annotations: ADDITIVE }),
      decision: 'deny',
      by: 'read-only-mode',
    },
    {
      name: 'unannotated third-party tool denied',
      layers: { readOnlyMode: true },
      request: tool('run', { server: 'acme', builtin: false, annotations: undefined }),
      decision: 'deny',
      by: 'read-only-mode',
    },
    {
      name: 'a rule deny keeps its own reason',
      layers: { readOnlyMode: true, user: rules({ tool: 'x', decision: 'deny' }) },
      request: tool('x', { annotations: DESTRUCTIVE }),
      decision: 'deny',
      by: 'user#0',
    },
    {
      name: 'reveal on a read-only tool still needs approval',
      layers: { readOnlyMode: true },
      request: tool('secret_get', { args: { reveal: true } }),
      decision: 'approve',
      by: 'default:force-or-reveal',
    },
    {
      name: 'resource reads are read-only',
      layers: { readOnlyMode: true },
      request: { kind: 'resource', server: 'git', name: 'git://repo/README.md', builtin: true, args: {} },
      decision: 'allow',
      by: 'default:resource-read',
    },
  ]);
});

describe('argument predicates', () => {
  const predicateCases: readonly { name: string; predicate: unknown; args: Record<string, unknown>; match: boolean }[] = [
    { name: 'equals string', predicate: { equals: 'main' }, args: { v: 'main' }, match: true },
    { name: 'equals shorthand', predicate: 'main', args: { v: 'main' }, match: true },
    { name: 'equals is strict (no coercion)', predicate: { equals: 1 }, args: { v: '1' }, match: false },
    { name: 'equals boolean shorthand', predicate: true, args: { v: true }, match: true },
    { name: 'equals null', predicate: null, args: { v: null }, match: true },
    { name: 'equals null vs absent', predicate: null, args: {}, match: false },
    { name: 'in', predicate: { in: ['default', 'kube-system'] }, args: { v: 'kube-system' }, match: true },
    { name: 'in shorthand', predicate: ['a', 'b'], args: { v: 'c' }, match: false },
    { name: 'in with numbers', predicate: { in: [22, 830] }, args: { v: 830 }, match: true },
    { name: 'matches glob', predicate: { matches: 'prod-*' }, args: { v: 'prod-eu-1' }, match: true },
    { name: 'matches is anchored', predicate: { matches: 'prod-*' }, args: { v: 'my-prod-1' }, match: false },
    { name: 'matches list of globs', predicate: { matches: ['prod-*', 'live-?'] }, args: { v: 'live-2' }, match: true },
    { name: 'matches braces', predicate: { matches: 'core-{a,b}' }, args: { v: 'core-b' }, match: true },
    { name: 'matches class', predicate: { matches: 'r[0-9]' }, args: { v: 'rx' }, match: false },
    { name: 'matches number as string', predicate: { matches: '44*' }, args: { v: 443 }, match: true },
    { name: 'matches ignores objects', predicate: { matches: '*' }, args: { v: { a: 1 } }, match: false },
    { name: 'regex searched', predicate: { regex: 'prod' }, args: { v: 'eu-prod-1' }, match: true },
    { name: 'regex anchored by author', predicate: { regex: '^prod$' }, args: { v: 'eu-prod-1' }, match: false },
    { name: 'exists true', predicate: { exists: true }, args: { v: null }, match: true },
    { name: 'exists false', predicate: { exists: false }, args: {}, match: true },
    { name: 'exists false but present', predicate: { exists: false }, args: { v: 0 }, match: false },
    { name: 'truthy true', predicate: { truthy: true }, args: { v: 'yes' }, match: true },
    { name: 'truthy true on "false"', predicate: { truthy: true }, args: { v: 'false' }, match: false },
    { name: 'truthy false on absent', predicate: { truthy: false }, args: {}, match: true },
    { name: 'operators combine with AND', predicate: { matches: 'prod-*', in: ['prod-a', 'dev-a'] }, args: { v: 'prod-b' }, match: false },
    { name: 'array: deny rule needs one element', predicate: { in: ['kube-system'] }, args: { v: ['default', 'kube-system'] }, match: true },
    { name: 'array: empty never matches', predicate: { matches: '*' }, args: { v: [] }, match: false },
  ];
  for (const c of predicateCases) {
    it(`${c.name} → ${c.match ? 'matches' : 'no match'}`, () => {
      const engine = new PolicyEngine({ user: rules({ args: { v: c.predicate }, decision: 'deny' }) });
      assert.equal(engine.evaluate(tool('t', { args: c.args })).decision === 'deny', c.match);
    });
  }

  it('arrays in allow rules need every element to match (the safer direction)', () => {
    const engine = new PolicyEngine({ user: rules({ args: { context: { matches: 'dev-*' } }, decision: 'allow' }) });
    const destructive = { annotations: DESTRUCTIVE };
    assert.equal(engine.evaluate(tool('t', { ...destructive, args: { context: ['dev-1', 'dev-2'] } })).decision, 'allow');
    assert.equal(engine.evaluate(tool('t', { ...destructive, args: { context: ['dev-1', 'prod-1'] } })).decision, 'approve');
    assert.equal(engine.evaluate(tool('t', { ...destructive, args: { context: [] } })).decision, 'approve');
  });

  it('follows dotted paths into objects and arrays, never the prototype chain', () => {
    const engine = new PolicyEngine({
      user: rules(
        { args: { 'target.group': 'core' }, decision: 'deny' },
        { args: { 'items.1.name': { matches: 'x*' } }, decision: 'deny' },
        { args: { 'a.constructor': { exists: true } }, decision: 'deny' },
        { args: { toString: { exists: true } }, decision: 'deny' },
      ),
    });
    assert.equal(engine.evaluate(tool('t', { args: { target: { group: 'core' } } })).rule.index, 0);
    assert.equal(engine.evaluate(tool('t', { args: { items: [{ name: 'a' }, { name: 'xy' }] } })).rule.index, 1);
    assert.equal(engine.evaluate(tool('t', { args: { items: [{ name: 'xa' }] } })).rule.source, 'default');
    assert.equal(engine.evaluate(tool('t', { args: { a: {} } })).rule.source, 'default');
    assert.equal(engine.evaluate(tool('t', { args: {} })).rule.source, 'default');
  });

  it('covers the issue examples: context, namespace list, device group, git branch, force', () => {
    const engine = new PolicyEngine({
      user: rules(
        { id: 'prod', server: 'kubernetes', args: { context: { matches: 'prod-*' } }, annotations: { readOnly: false }, decision: 'approve' },
        { id: 'system-ns', server: 'kubernetes', args: { namespace: ['kube-system', 'kube-public'] }, decision: 'deny' },
        { id: 'core-devices', server: 'network', args: { group: 'core' }, annotations: { readOnly: false }, decision: 'deny' },
        { id: 'main-branch', server: 'git', tool: ['commit', 'push'], args: { branch: 'main' }, decision: 'approve' },
        { id: 'force-push', server: 'git', tool: 'push', args: { force: { truthy: true } }, decision: 'deny' },
      ),
    });
    const k8s = (name: string, args: Record<string, unknown>, annotations = DESTRUCTIVE): PolicyRequest => tool(name, { args, annotations });
    assert.equal(engine.evaluate(k8s('deployment_scale', { context: 'prod-eu', replicas: 0 })).rule.id, 'prod');
    assert.equal(engine.evaluate(k8s('pods_list', { context: 'prod-eu', namespace: 'kube-system' }, READ_ONLY)).rule.id, 'system-ns');
    assert.equal(engine.evaluate(tool('device_config_apply', { server: 'network', annotations: DESTRUCTIVE, args: { group: 'core' } })).decision, 'deny');
    assert.equal(engine.evaluate(tool('device_command', { server: 'network', annotations: READ_ONLY, args: { group: 'core' } })).decision, 'allow');
    assert.equal(engine.evaluate(tool('commit', { server: 'git', annotations: ADDITIVE, args: { branch: 'main' } })).rule.id, 'main-branch');
    assert.equal(engine.evaluate(tool('commit', { server: 'git', annotations: ADDITIVE, args: { branch: 'feature' } })).decision, 'allow');
    // The first match decides: main-branch comes before force-push.
    assert.equal(engine.evaluate(tool('push', { server: 'git', annotations: DESTRUCTIVE, args: { branch: 'main', force: true } })).rule.id, 'main-branch');
    assert.equal(engine.evaluate(tool('push', { server: 'git', annotations: DESTRUCTIVE, args: { branch: 'dev', force: true } })).rule.id, 'force-push');
  });
});

describe('rule conditions', () => {
  runTable([
    {
      name: 'kind: resource with a URI glob',
      layers: { user: rules({ resource: 'k8s://prod-*/**', decision: 'deny' }) },
      request: { kind: 'resource', server: 'kubernetes', name: 'k8s://prod-1/namespaces/a/pods/b', builtin: true, args: {} },
      decision: 'deny',
      by: 'user#0',
    },
    {
      name: 'a tool rule never matches a resource of the same name',
      layers: { user: rules({ tool: '*', decision: 'deny' }) },
      request: { kind: 'resource', server: 'kubernetes', name: 'x', builtin: true, args: {} },
      decision: 'allow',
      by: 'default:resource-read',
    },
    {
      name: 'an allow rule can open Secret resources',
      layers: { user: rules({ resource: 'k8s://dev/**', decision: 'allow' }) },
      request: { kind: 'resource', server: 'kubernetes', name: 'k8s://dev/namespaces/a/secrets/b', builtin: true, args: {} },
      decision: 'allow',
      by: 'user#0',
    },
    {
      name: 'prompt rule',
      layers: { user: rules({ prompt: 'deploy_*', decision: 'approve' }) },
      request: { kind: 'prompt', server: 'kubernetes', name: 'deploy_plan', builtin: true, args: {} },
      decision: 'approve',
      by: 'user#0',
    },
    {
      name: 'kind list',
      layers: { user: rules({ kind: ['resource', 'prompt'], server: 'acme', decision: 'deny' }) },
      request: { kind: 'prompt', server: 'acme', name: 'p', builtin: false, args: {} },
      decision: 'deny',
      by: 'user#0',
    },
    {
      name: 'builtin: false targets third-party servers',
      layers: { user: rules({ builtin: false, annotations: { readOnly: true }, decision: 'approve' }) },
      request: tool('search', { server: 'acme', builtin: false }),
      decision: 'approve',
      by: 'user#0',
    },
    {
      name: 'builtin: false does not match a built-in server',
      layers: { user: rules({ builtin: false, decision: 'deny' }) },
      request: tool('pods_list'),
      decision: 'allow',
      by: 'default:read-only',
    },
    {
      name: 'annotations.destructive uses the spec default',
      layers: { user: rules({ annotations: { destructive: true }, decision: 'deny' }) },
      request: tool('x', { annotations: { readOnlyHint: false } }),
      decision: 'deny',
      by: 'user#0',
    },
    {
      name: 'annotations.annotated: false finds undeclared tools',
      layers: { user: rules({ annotations: { annotated: false }, decision: 'deny' }) },
      request: tool('x', { annotations: { idempotentHint: true } }),
      decision: 'deny',
      by: 'user#0',
    },
    {
      name: 'server list of globs',
      layers: { user: rules({ server: ['k8s-*', 'git'], decision: 'deny' }) },
      request: tool('x', { server: 'k8s-prod' }),
      decision: 'deny',
      by: 'user#0',
    },
  ]);

  it('effective annotations follow the MCP defaults', () => {
    assert.deepEqual(effectiveAnnotations({ kind: 'tool' }), { readOnly: false, destructive: true, idempotent: false, openWorld: true, annotated: false });
    assert.deepEqual(effectiveAnnotations({ kind: 'tool', annotations: { readOnlyHint: true, destructiveHint: true } }), {
      readOnly: true,
      destructive: false,
      idempotent: false,
      openWorld: true,
      annotated: true,
    });
  });

  it('recognises Secret resource URIs', () => {
    for (const uri of ['k8s://c/namespaces/n/secrets/x', 'k8s://c/namespaces/n/secrets', 'kubernetes://c/api?kind=Secret&name=x', 'vault:secret/data/x']) {
      assert.ok(isSecretResourceUri(uri), uri);
    }
    // Other spellings of the same Secret (issue 13: an encoded slash skipped the rule).
    for (const uri of ['k8s://c/n/v1%2FSecret/x', 'k8s://c/n/v1%252FSecret/x', 'k8s://c/n/%73ecrets/x', 'k8s://c/n/secrets.v1./x', 'k8s://c/n/Secret.v1/x', 'k8s://c//n/./cm/../secrets/x', 'k8s://c/n/v1\\Secret/x']) {
      assert.ok(isSecretResourceUri(uri), uri);
    }
    for (const uri of ['k8s://c/namespaces/n/configmaps/secrets-doc', 'file:///repo/secrets.txt', 'git://repo/docs/secretary.md']) {
      assert.ok(!isSecretResourceUri(uri), uri);
    }
  });

  it('judges resource URIs normalised, so a resource rule meets every spelling', () => {
    assert.equal(normaliseResourceUri('k8s://c/n/v1%2FSecret/x'), 'k8s://c/n/v1/Secret/x');
    assert.equal(normaliseResourceUri('k8s://c//n/./a/../secrets/x'), 'k8s://c/n/secrets/x');
    assert.equal(normaliseResourceUri('k8s://c/n/%E2%9C%93'), 'k8s://c/n/✓');
    const engine = new PolicyEngine({ user: [{ resource: 'k8s://prod/*', decision: 'deny' }] });
    const read = (uri: string) => engine.evaluate({ kind: 'resource', server: 'kubernetes', name: uri, builtin: true, args: {} }).decision;
    assert.equal(read('k8s://prod/web/configmaps/x'), 'deny');
    assert.equal(read('k8s://prod%2Fweb/configmaps/x'), 'deny');
    assert.equal(read('k8s://dev/../prod/web/configmaps/x'), 'deny');
    assert.equal(read('k8s://dev/web/configmaps/x'), 'allow');
  });

  it('refuses rules that bypass the schema', () => {
    assert.throws(() => new PolicyEngine({ user: [{ decision: 'allow', args: { v: { regex: '(' } } }] }), { code: 'POLICY_INVALID' });
  });
});

describe('policy on who asks (team mode)', () => {
  const alice = { id: 'oidc:https://id.example.com#u-alice', name: 'alice@example.com', roles: ['operator' as const], groups: ['dev'] };
  const viewer = { id: 'apikey/Vw7tR2nB8cDe', name: 'dashboard', roles: ['viewer' as const], groups: [] };
  const admin = { id: 'oidc:https://id.example.com#u-root', name: 'root@example.com', roles: ['admin' as const], groups: ['platform'] };
  const write = { kind: 'tool' as const, server: 'fx', name: 'write_marker', builtin: false, annotations: { readOnlyHint: false, destructiveHint: false }, args: {} };
  const read = { kind: 'tool' as const, server: 'fx', name: 'echo', builtin: false, annotations: { readOnlyHint: true }, args: {} };

  it('principal globs match the id or the name; role and group match membership; none matches without a principal', () => {
    const engine = new PolicyEngine({
      config: [
        { principal: 'apikey/*', decision: 'deny', reason: 'keys' },
        { principal: '*@example.com', group: 'platform', decision: 'allow' },
        { role: ['operator'], decision: 'approve', reason: 'operators' },
      ],
    });
    assert.equal(engine.evaluate({ ...read, principal: viewer }).reason, 'keys');
    assert.equal(engine.evaluate({ ...write, principal: admin }).decision, 'allow');
    assert.equal(engine.evaluate({ ...read, principal: alice }).reason, 'operators');
    // The loopback single user has no principal: none of these rules match, the defaults decide.
    assert.equal(engine.evaluate(read).rule.source, 'default');
    assert.equal(engine.evaluate(write).decision, 'approve');
  });

  it('without operator or admin only read-only requests pass, whatever the rules allow', () => {
    const engine = new PolicyEngine({ config: [{ decision: 'allow' }] });
    const refused = engine.evaluate({ ...write, principal: viewer });
    assert.equal(refused.decision, 'deny');
    assert.deepEqual(refused.rule, { source: 'role', id: 'operator-required' });
    assert.match(refused.reason, /dashboard holds the role viewer, which may only make read-only requests/);
    assert.equal(engine.evaluate({ ...read, principal: viewer }).decision, 'allow');
    assert.equal(engine.evaluate({ ...write, principal: alice }).decision, 'allow');
    assert.equal(engine.evaluate({ ...write, principal: admin }).decision, 'allow');
    const approverOnly = { ...alice, roles: ['approver' as const] };
    assert.equal(engine.evaluate({ ...write, principal: approverOnly }).decision, 'deny');
  });

  it('rules with principal, role or group are valid in every layer and refuse unknown roles', () => {
    assert.throws(() => new PolicyEngine({ config: [{ role: 'superuser' as never, decision: 'allow' }] }), /POLICY_INVALID|config policy rule #1/);
    assert.doesNotThrow(() => new PolicyEngine({ workspace: [{ group: 'contractors', decision: 'deny' }] }));
  });
});
