import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  LastValidPolicy,
  PolicyEngine,
  formatPolicyIssue,
  loadPolicyFile,
  parsePolicyRules,
  parsePolicyText,
  type PolicyRequest,
} from '../../../src/core/policy';

const FILE = '/repo/.mcpcp/policy.yaml';

const VALID = `# workspace policy
version: 1
readOnlyMode: false
rules:
  - id: prod
    server: kubernetes
    tool: "*_delete"
    args:
      context: { matches: "prod-*" }
      namespace: [kube-system, default]
      force: true
    decision: deny
    reason: Production deletes are not allowed from this repository.
`;

describe('parsePolicyText: valid input', () => {
  it('parses the documented shape with shorthands expanded', () => {
    const result = parsePolicyText(VALID, FILE);
    assert.ok(result.ok);
    assert.equal(result.policy.rules.length, 1);
    assert.deepEqual(result.policy.rules[0]?.args, {
      context: { matches: 'prod-*' },
      namespace: { in: ['kube-system', 'default'] },
      force: { equals: true },
    });
  });

  it('treats an empty file as a policy without rules', () => {
    const result = parsePolicyText('', FILE);
    assert.deepEqual(result, { ok: true, policy: { rules: [] } });
  });

  it('accepts JSON, which is YAML', () => {
    const result = parsePolicyText('{"rules":[{"tool":"x","decision":"deny"}]}', FILE);
    assert.ok(result.ok);
  });
});

describe('parsePolicyText: precise errors (file, line, column, field)', () => {
  const cases: readonly { name: string; text: string; line: number; column: number; field?: string; message: RegExp; code: string }[] = [
    {
      name: 'unknown field, pointing at the key',
      text: 'rules:\n  - tool: x\n    decison: deny\n',
      line: 3,
      column: 5,
      field: 'rules[0].decison',
      message: /unknown field "decison"/,
      code: 'schema',
    },
    {
      name: 'missing decision, pointing at the rule',
      text: 'rules:\n  - id: a\n    tool: x\n',
      line: 2,
      column: 5,
      field: 'rules[0].decision',
      message: /required field is missing/,
      code: 'schema',
    },
    {
      name: 'bad decision value, pointing at the value',
      text: 'rules:\n  - tool: x\n    decision: maybe\n',
      line: 3,
      column: 15,
      field: 'rules[0].decision',
      message: /allow.*approve.*deny/,
      code: 'schema',
    },
    {
      name: 'second rule reported with its index',
      text: 'rules:\n  - tool: x\n    decision: deny\n  - tool: 5\n    decision: deny\n',
      line: 4,
      column: 11,
      field: 'rules[1].tool',
      message: /./,
      code: 'schema',
    },
    {
      name: 'unknown predicate operator',
      text: 'rules:\n  - decision: deny\n    args:\n      context: { matchs: "prod-*" }\n',
      line: 4,
      column: 18,
      field: 'rules[0].args.context.matchs',
      message: /unknown field "matchs"/,
      code: 'schema',
    },
    {
      name: 'invalid regex under a dotted argument path',
      text: 'rules:\n  - decision: deny\n    args:\n      target.name:\n        regex: "(unclosed"\n',
      line: 5,
      column: 16,
      field: 'rules[0].args["target.name"].regex',
      message: /not a valid regular expression/,
      code: 'schema',
    },
    {
      name: 'empty predicate',
      text: 'rules:\n  - decision: deny\n    args:\n      context: {}\n',
      line: 4,
      column: 16,
      field: 'rules[0].args.context',
      message: /at least one of/,
      code: 'schema',
    },
    {
      name: 'YAML 1.2: yes is a string, not a boolean',
      text: 'readOnlyMode: yes\n',
      line: 1,
      column: 15,
      field: 'readOnlyMode',
      message: /expected boolean/,
      code: 'schema',
    },
    {
      name: 'tool and prompt together',
      text: 'rules:\n  - tool: x\n    prompt: y\n    decision: deny\n',
      line: 3,
      column: 13,
      field: 'rules[0].prompt',
      message: /only one of tool, resource, prompt/,
      code: 'schema',
    },
    {
      name: 'YAML syntax error: unclosed quote (reported where the scalar ends)',
      text: 'rules:\n  - tool: "x\n    decision: deny\n',
      line: 4,
      column: 1,
      message: /Missing closing "quote/,
      code: 'yaml',
    },
    {
      name: 'YAML syntax error: tab indentation',
      text: 'rules:\n  - tool: x\n\tdecision: deny\n',
      line: 3,
      column: 1,
      message: /Tabs are not allowed/,
      code: 'yaml',
    },
    {
      name: 'duplicate key',
      text: 'rules:\n  - tool: x\n    tool: y\n    decision: deny\n',
      line: 3,
      column: 5,
      message: /unique/i,
      code: 'yaml',
    },
    {
      name: 'rules is not a list',
      text: 'rules:\n  tool: x\n',
      line: 2,
      column: 3,
      field: 'rules',
      message: /expected array/,
      code: 'schema',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = parsePolicyText(c.text, FILE);
      assert.ok(!result.ok, 'must fail');
      const e = result.error;
      assert.equal(e.code, c.code);
      assert.equal(e.file, FILE);
      assert.deepEqual({ line: e.line, column: e.column }, { line: c.line, column: c.column }, formatPolicyIssue(e));
      assert.equal(e.field, c.field);
      assert.match(e.message, c.message);
      assert.ok(e.issues.length >= 1);
      assert.ok(formatPolicyIssue(e).startsWith(`${FILE}:${c.line}:${c.column}: `));
    });
  }
});

describe('workspace files cannot run regular expressions', () => {
  const text = 'rules:\n  - decision: deny\n    args:\n      context:\n        regex: "^prod"\n';

  it('reports regex in a workspace file with its position', () => {
    const result = parsePolicyText(text, FILE);
    assert.ok(!result.ok);
    assert.equal(result.error.field, 'rules[0].args.context.regex');
    assert.equal(result.error.line, 5);
    assert.match(result.error.message, /not allowed in a workspace policy/);
  });

  it('accepts regex in user and config files', () => {
    assert.ok(parsePolicyText(text, FILE, { layer: 'user' }).ok);
    assert.ok(parsePolicyText(text, FILE, { layer: 'config' }).ok);
  });

  it('the engine refuses a workspace regex rule however it arrives', () => {
    const parsed = parsePolicyText(text, FILE, { layer: 'user' });
    assert.ok(parsed.ok);
    assert.throws(() => new PolicyEngine({ workspace: parsed.policy.rules }), { code: 'POLICY_INVALID' });
    assert.doesNotThrow(() => new PolicyEngine({ user: parsed.policy.rules }));
  });
});

describe('loadPolicyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-policy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a file from disk', async () => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, VALID);
    const result = await loadPolicyFile(file);
    assert.ok(result.ok);
  });

  it('reports a missing file as not-found', async () => {
    const result = await loadPolicyFile(join(dir, 'absent.yaml'));
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'not-found');
  });

  it('reports an unreadable path', async () => {
    const result = await loadPolicyFile(dir);
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'unreadable');
  });

  it('reports errors with the real path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'rules:\n  - tool: x\n');
    const result = await loadPolicyFile(file);
    assert.ok(!result.ok);
    assert.equal(result.error.file, file);
    assert.equal(result.error.line, 2);
  });
});

describe('parsePolicyRules (settings)', () => {
  it('validates a settings value and names the field', () => {
    const result = parsePolicyRules([{ tool: 'x', decision: 'deny' }, { tool: 'y', decision: 'nope' }], 'settings:mcpControlPlane.policy.rules');
    assert.ok(!result.ok);
    assert.equal(result.error.field, '[1].decision');
    assert.equal(result.error.line, undefined);
    assert.equal(formatPolicyIssue(result.error).split(':')[0], 'settings');
  });

  it('treats undefined as no rules', () => {
    assert.deepEqual(parsePolicyRules(undefined, 's'), { ok: true, rules: [] });
  });
});

describe('LastValidPolicy: a broken policy never means allow all', () => {
  const readOnlyCall: PolicyRequest = { kind: 'tool', server: 'git', name: 'repo_status', builtin: true, annotations: { readOnlyHint: true }, args: {} };
  const deleteCall: PolicyRequest = { ...readOnlyCall, name: 'branch_delete', annotations: { destructiveHint: true } };

  it('keeps the last valid policy when the file turns invalid, and takes the fix', () => {
    const tracker = new LastValidPolicy(FILE);
    const first = tracker.accept(parsePolicyText('rules:\n  - server: git\n    decision: deny\n', FILE));
    assert.equal(first.status, 'loaded');
    const broken = tracker.accept(parsePolicyText('rules:\n  - server: git\n    decision: alow\n', FILE));
    assert.equal(broken.status, 'kept');
    assert.equal(broken.error?.line, 3);
    assert.equal(new PolicyEngine({ workspace: broken.policy.rules }).evaluate(readOnlyCall).decision, 'deny');
    const brokenAgain = tracker.accept(parsePolicyText('rules: [', FILE));
    assert.equal(brokenAgain.status, 'kept');
    assert.deepEqual(brokenAgain.policy, first.policy);
    const fixed = tracker.accept(parsePolicyText('rules: []\n', FILE));
    assert.equal(fixed.status, 'loaded');
    assert.equal(fixed.error, undefined);
  });

  it('falls back to approve-everything when nothing valid was ever loaded', () => {
    const tracker = new LastValidPolicy(FILE);
    const state = tracker.accept(parsePolicyText('rules:\n  - decision: [\n', FILE));
    assert.equal(state.status, 'fail-safe');
    const engine = new PolicyEngine({ user: [], workspace: state.policy.rules });
    const result = engine.evaluate(readOnlyCall);
    assert.equal(result.decision, 'approve');
    assert.match(result.reason, /policy\.yaml:\d+:\d+: .* is invalid, so every call needs a human approval/);
    assert.equal(engine.evaluate(deleteCall).decision, 'approve');
  });

  it('treats a deleted file as no rules', () => {
    const tracker = new LastValidPolicy(FILE);
    tracker.accept(parsePolicyText('rules:\n  - decision: deny\n', FILE));
    const state = tracker.accept({ ok: false, error: { code: 'not-found', file: FILE, message: 'policy file not found', issues: [] } });
    assert.equal(state.status, 'missing');
    assert.deepEqual(state.policy.rules, []);
  });
});
