import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PolicyEngine,
  disabledToolNames,
  mayAlwaysAllow,
  placeToolRule,
  policyRuleSchema,
  removeToolRules,
  toolFilterWith,
  uiDecisionFor,
  type PolicyRule,
  type ToolRef,
} from '../../../src/core/policy';
import { toolOffered } from '../../../src/core/supervisor/managed-server';

/** Rules as a user would write them, validated through the one schema. */
function rules(...input: unknown[]): PolicyRule[] {
  return input.map((r) => policyRuleSchema.parse(r));
}

const UNANNOTATED: ToolRef = { server: 'memory', tool: 'create_entities', builtin: false };
const READ_ONLY: ToolRef = { server: 'memory', tool: 'read_graph', builtin: false, annotations: { readOnlyHint: true } };
const PUSH: ToolRef = { server: 'git', tool: 'push', builtin: true, annotations: { readOnlyHint: false, destructiveHint: true } };

function decide(user: PolicyRule[], ref: ToolRef, args: Record<string, unknown> = {}): string {
  return new PolicyEngine({ user }).evaluate({ kind: 'tool', server: ref.server, name: ref.tool, builtin: ref.builtin, args, ...(ref.annotations ? { annotations: ref.annotations } : {}) }).decision;
}

describe('user rules written from the UI', () => {
  it('"always allow" turns the default approval of an unannotated third-party tool into allow, and only for that tool', () => {
    const placed = placeToolRule([], UNANNOTATED, 'allow');
    assert.equal(placed.before.decision, 'approve');
    assert.equal(placed.before.rule.source, 'default');
    assert.equal(placed.after.decision, 'allow');
    assert.deepEqual(placed.after.rule, { source: 'user', index: 0, id: 'always-allow memory/create_entities' });
    assert.equal(placed.effective, true);
    assert.equal(decide(placed.rules, { ...UNANNOTATED, tool: 'delete_entities' }), 'approve');
    assert.equal(decide(placed.rules, { ...UNANNOTATED, server: 'memory2' }), 'approve');
    // What is written is a valid rule of the one schema.
    assert.doesNotThrow(() => policyRuleSchema.parse(placed.rule));
  });

  it('"always allow" goes after every deny rule of the user, so each deny still wins', () => {
    const user = rules(
      { server: 'memory', tool: 'create_entities', args: { name: { matches: 'prod-*' } }, decision: 'deny' },
      { server: 'other', decision: 'deny' },
      { server: 'memory', tool: 'read_*', decision: 'allow' },
    );
    const placed = placeToolRule(user, UNANNOTATED, 'allow');
    assert.equal(placed.index, 2, 'after both deny rules, even one about another server');
    assert.deepEqual(placed.rules.slice(0, 2), user.slice(0, 2));
    assert.equal(decide(placed.rules, UNANNOTATED, { name: 'prod-db' }), 'deny', 'the deny with a condition still wins');
    assert.equal(decide(placed.rules, UNANNOTATED, { name: 'dev-db' }), 'allow');
    assert.deepEqual(placed.precededBy.map((p) => p.index), [0]);
    assert.equal(placed.effective, true);
  });

  it('"always allow" also stays behind an approve rule the user wrote for that tool, and says when it would change nothing', () => {
    const user = rules({ server: 'memory', decision: 'approve', reason: 'memory needs a human' });
    const placed = placeToolRule(user, UNANNOTATED, 'allow');
    assert.equal(placed.index, 1);
    assert.equal(placed.effective, false);
    assert.equal(placed.after.decision, 'approve');
    assert.deepEqual(placed.precededBy.map((p) => p.index), [0]);
  });

  it('an approve rule about another server does not hold an "always allow" back', () => {
    const user = rules({ server: 'fs', decision: 'approve' }, { decision: 'allow', tool: 'x' });
    const placed = placeToolRule(user, UNANNOTATED, 'allow');
    assert.equal(placed.index, 0);
    assert.equal(placed.effective, true);
  });

  it('"always require approval" takes effect before an allow rule of the user that covers the tool', () => {
    const user = rules({ server: 'memory', decision: 'allow' }, { server: 'git', decision: 'deny' });
    const placed = placeToolRule(user, READ_ONLY, 'approve');
    assert.equal(placed.before.decision, 'allow');
    assert.equal(placed.index, 0);
    assert.equal(placed.after.decision, 'approve');
    assert.equal(decide(placed.rules, { ...READ_ONLY, tool: 'search_nodes' }), 'allow', 'other tools keep the user allow');
  });

  it('"always require approval" never softens a deny: it goes after deny rules that could match the tool', () => {
    const user = rules(
      { server: 'memory', tool: 'read_graph', args: { full: true }, decision: 'allow' },
      { server: 'memory', decision: 'deny', reason: 'memory is off limits' },
    );
    assert.equal(decide(user, READ_ONLY), 'deny');
    const placed = placeToolRule(user, READ_ONLY, 'approve');
    assert.equal(placed.index, 2);
    assert.equal(decide(placed.rules, READ_ONLY), 'deny', 'still denied');
    assert.deepEqual(placed.precededBy.map((p) => p.index), [0], 'the conditional allow before it is named');
    assert.equal(placed.effective, true);
  });

  it('"always require approval" of a read-only built-in tool turns allow into approve', () => {
    const status: ToolRef = { server: 'git', tool: 'repo_status', builtin: true, annotations: { readOnlyHint: true, destructiveHint: false } };
    const placed = placeToolRule([], status, 'approve');
    assert.equal(placed.before.decision, 'allow');
    assert.equal(placed.after.decision, 'approve');
  });

  it('a second choice for the same tool replaces the first; the user\'s own rules are untouched', () => {
    const own = rules({ server: 'memory', tool: 'create_entities', decision: 'allow', description: 'mine' });
    const first = placeToolRule(own, UNANNOTATED, 'approve');
    assert.equal(uiDecisionFor(first.rules, UNANNOTATED), 'approve');
    const second = placeToolRule(first.rules, UNANNOTATED, 'allow');
    assert.equal(second.replaced.length, 1);
    assert.equal(second.rules.filter((r) => r.description?.startsWith('Written by')).length, 1);
    assert.ok(second.rules.some((r) => r.description === 'mine'), 'the hand-written rule stays');
    assert.equal(uiDecisionFor(second.rules, UNANNOTATED), 'allow');
    const removed = removeToolRules(second.rules, UNANNOTATED);
    assert.deepEqual(removed.rules, own);
  });

  it('tool names with glob characters are matched literally', () => {
    const odd: ToolRef = { server: 'x', tool: 'get*', builtin: false };
    const placed = placeToolRule([], odd, 'allow');
    assert.equal(decide(placed.rules, odd), 'allow');
    assert.equal(decide(placed.rules, { ...odd, tool: 'get_everything' }), 'approve');
  });

  it('"always allow" is never offered for a destructive tool, by its declaration or the built-in catalogue', () => {
    assert.equal(mayAlwaysAllow(PUSH), false);
    assert.equal(mayAlwaysAllow({ server: 'git', tool: 'push', builtin: true }), false, 'the catalogue says git push is destructive');
    assert.equal(mayAlwaysAllow({ server: 'git', tool: 'push', builtin: true, annotations: { readOnlyHint: true } }), false, 'the catalogue wins over a listing that claims otherwise');
    assert.equal(mayAlwaysAllow({ server: 'git', tool: 'made_up', builtin: true }), false, 'a built-in tool nobody knows is refused');
    assert.equal(mayAlwaysAllow({ server: 'git', tool: 'repo_status', builtin: true }), true);
    assert.equal(mayAlwaysAllow({ annotations: { readOnlyHint: false } }), false, 'a declared write without destructiveHint:false is destructive by the spec');
    assert.equal(mayAlwaysAllow({ annotations: { destructiveHint: true } }), false);
    assert.equal(mayAlwaysAllow({ annotations: { readOnlyHint: true } }), true);
    assert.equal(mayAlwaysAllow({ annotations: { readOnlyHint: false, destructiveHint: false } }), true);
    // A third-party tool that declares nothing waits for approval by default: the human may say it is fine.
    assert.equal(mayAlwaysAllow(UNANNOTATED), true);
  });
});

describe('per-tool enable/disable (servers.<name>.tools)', () => {
  it('disabling adds the literal name to exclude; the gateway filter then hides exactly that tool', () => {
    const { filter, changed } = toolFilterWith(undefined, 'create_entities', false);
    assert.equal(changed, true);
    assert.equal(toolOffered(filter, 'create_entities'), false);
    assert.equal(toolOffered(filter, 'create_relations'), true);
    assert.deepEqual(disabledToolNames(filter), ['create_entities']);
  });

  it('enabling removes it again, and adds it to an include list that does not offer it', () => {
    const disabled = toolFilterWith({ include: ['read_*'] }, 'read_graph', false).filter;
    assert.equal(toolOffered(disabled, 'read_graph'), false);
    const enabled = toolFilterWith(disabled, 'read_graph', true);
    assert.equal(toolOffered(enabled.filter, 'read_graph'), true);
    const fromInclude = toolFilterWith({ include: ['read_*'] }, 'search_nodes', true);
    assert.equal(toolOffered(fromInclude.filter, 'search_nodes'), true);
    assert.equal(toolOffered(fromInclude.filter, 'delete_all'), false);
  });

  it('a glob of the user that still hides the tool is reported, not edited', () => {
    const r = toolFilterWith({ exclude: ['delete_*'] }, 'delete_entities', true);
    assert.equal(r.stillHiddenBy, 'delete_*');
    assert.deepEqual(r.filter.exclude, ['delete_*']);
    assert.deepEqual(disabledToolNames({ exclude: ['delete_*', 'get\\*'] }), ['get*']);
  });
});
