import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUILTIN_EFFECT_TOOLS, BUILTIN_TOOL_ANNOTATIONS, LastValidPolicy, PolicyEngine, effectWarnings, parsePolicyText } from '../../../src/core/policy';

const ROOT = join(__dirname, '../../..');

const GOOD = `
rules:
  - { server: git, tool: push, effect: { destinationRef: refs/heads/main }, decision: deny }
tests:
  - { server: git, tool: push, effect: { destinationRef: refs/heads/main }, expect: deny }
  - { server: git, tool: diff, expect: allow }
`;

describe('policy tests: run at load', () => {
  it('a file whose cases pass loads, with the results', () => {
    const r = parsePolicyText(GOOD, 'p.yaml', { layer: 'config' });
    assert.ok(r.ok);
    assert.deepEqual(r.tests?.map((t) => [t.actual, t.ok]), [['deny', true], ['allow', true]]);
  });

  it('a failing case makes the file invalid, at the line of the case; the last valid policy stays', () => {
    const bad = GOOD.replace('tool: diff, expect: allow', 'tool: diff, expect: deny');
    const r = parsePolicyText(bad, 'p.yaml', { layer: 'config' });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'tests');
    assert.equal(!r.ok && r.error.line, 6);
    assert.match(!r.ok ? r.error.message : '', /expected deny, got allow/);
    const holder = new LastValidPolicy('p.yaml');
    holder.accept(parsePolicyText(GOOD, 'p.yaml', { layer: 'config' }));
    const kept = holder.accept(r);
    assert.equal(kept.status, 'kept');
    assert.equal(kept.policy.rules.length, 1);
  });

  it('a case naming a built-in tool that does not exist fails, listing the real ones', () => {
    const r = parsePolicyText('rules: []\ntests:\n  - { server: kubernetes, tool: pod_delete, expect: approve }\n', 'p.yaml');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error.message : '', /the built-in server "kubernetes" has no tool "pod_delete"; its tools: .*resource_delete/);
  });

  it('a third-party case is judged by the annotations it gives', () => {
    const r = parsePolicyText(
      'rules: []\ntests:\n  - { server: fx, tool: wipe, expect: approve }\n  - { server: fx, tool: look, annotations: { readOnlyHint: true }, expect: allow }\n',
      'p.yaml',
    );
    assert.ok(r.ok, JSON.stringify(r));
  });

  it('a case needs exactly one of tool, resource, prompt', () => {
    const r = parsePolicyText('rules: []\ntests:\n  - { server: git, expect: allow }\n', 'p.yaml');
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'schema');
  });
});

describe('effect rules', () => {
  const engine = new PolicyEngine({ user: [{ server: 'git', tool: 'push', effect: { destinationRef: { equals: 'refs/heads/main' } }, decision: 'deny' }] });
  const push = (args: Record<string, unknown>, effect?: Record<string, unknown>) =>
    engine.evaluate({ kind: 'tool', server: 'git', name: 'push', builtin: true, annotations: BUILTIN_TOOL_ANNOTATIONS['git']!['push']!, args, ...(effect ? { effect } : {}) }).decision;

  it('match the effect whatever the arguments say', () => {
    assert.equal(push({}, { destinationRef: 'refs/heads/main' }), 'deny');
    assert.equal(push({ branch: 'feature', remoteBranch: 'main' }, { destinationRef: 'refs/heads/main' }), 'deny');
    assert.equal(push({ branch: 'main' }, { destinationRef: 'refs/heads/release' }), 'approve');
  });

  it('never match a call without an effect', () => {
    assert.equal(push({ branch: 'main' }), 'approve');
  });

  it('are judged in the safer direction on lists (one core device denies)', () => {
    const e = new PolicyEngine({ user: [{ server: 'network', effect: { tags: { equals: 'core' } }, decision: 'deny' }, { server: 'network', effect: { tags: { equals: 'lab' } }, decision: 'allow' }] });
    const req = (tags: string[]) => e.evaluate({ kind: 'tool', server: 'network', name: 'config_apply', builtin: true, annotations: BUILTIN_TOOL_ANNOTATIONS['network']!['config_apply']!, args: {}, effect: { tags } }).decision;
    assert.equal(req(['edge', 'core']), 'deny');
    assert.equal(req(['lab', 'edge']), 'approve');
    assert.equal(req(['lab']), 'allow');
  });

  it('an args rule on a tool that declares effects loads with a warning; an effect rule does not', () => {
    const r = parsePolicyText('rules:\n  - { server: kubernetes, tool: scale, args: { namespace: kube-system }, decision: deny }\n  - { server: git, tool: [log, diff], args: { repo: x }, decision: allow }\n', 'p.yaml', { layer: 'config' });
    assert.ok(r.ok);
    assert.equal(r.warnings?.length, 1);
    assert.equal(r.warnings?.[0]?.field, 'rules[0].args');
    assert.equal(r.warnings?.[0]?.line, 2);
    assert.match(r.warnings?.[0]?.message ?? '', /^use effect fields: kubernetes\/scale declare/);
    assert.deepEqual(effectWarnings([{ server: 'kubernetes', args: { namespace: { equals: 'kube-system' } }, decision: 'deny' }]).length, 1);
    assert.deepEqual(effectWarnings([{ server: 'git', tool: 'push', effect: { destinationRef: { equals: 'refs/heads/main' } }, decision: 'deny' }]), []);
  });

  it('a workspace file may not use regex in effect predicates either', () => {
    const r = parsePolicyText('rules:\n  - { server: git, effect: { destinationRef: { regex: "main$" } }, decision: deny }\n', 'p.yaml');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? `${r.error.field}: ${r.error.message}` : '', /rules\[0\]\.effect\.destinationRef\.regex: "regex" is not allowed/);
  });
});

describe('the built-in catalogue used by policy tests', () => {
  it('matches the catalogue snapshots (test/snapshots)', () => {
    for (const server of ['git', 'kubernetes', 'network']) {
      const snapshot = JSON.parse(readFileSync(join(ROOT, 'test/snapshots', `${server}.json`), 'utf8')) as { name: string; annotations: Record<string, unknown> }[];
      const fromSnapshot = Object.fromEntries(snapshot.map((t) => [t.name, { readOnlyHint: t.annotations['readOnlyHint'], destructiveHint: t.annotations['destructiveHint'], idempotentHint: t.annotations['idempotentHint'], openWorldHint: t.annotations['openWorldHint'] }]));
      assert.deepEqual(BUILTIN_TOOL_ANNOTATIONS[server], fromSnapshot, `src/core/policy/builtin-catalogue.ts is out of date for ${server}`);
      const effects = (snapshot as { name: string; _meta?: Record<string, unknown> }[]).filter((t) => t._meta?.['mcpcp/effect'] === true).map((t) => t.name).sort();
      assert.deepEqual([...(BUILTIN_EFFECT_TOOLS[server] ?? [])].sort(), effects, `BUILTIN_EFFECT_TOOLS is out of date for ${server}`);
    }
  });
});

describe('mcpcp policy check', () => {
  const CLI = join(ROOT, 'dist/cli.js');
  it('exits 0 with every case listed when they pass, 1 naming the failing case otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-policy-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, GOOD);
    const ok = spawnSync(process.execPath, [CLI, 'policy', 'check', good, '--layer', 'config'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^ok {4}tests\[0\] push on git effect .*: deny$/m);
    assert.match(ok.stdout, /valid, 1 rule, 2 tests passed/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, GOOD.replace('tool: diff, expect: allow', 'tool: diff, expect: deny'));
    const failed = spawnSync(process.execPath, [CLI, 'policy', 'check', bad, '--layer', 'config'], { encoding: 'utf8' });
    assert.equal(failed.status, 1);
    assert.match(failed.stdout, /^FAIL {2}tests\[1\] diff on git: expected deny, got allow/m);
    assert.match(failed.stdout, /1 of 2 tests failed/);
    const warned = join(dir, 'warn.yaml');
    writeFileSync(warned, 'rules:\n  - { server: network, tool: config_apply, args: { devices: core-1 }, decision: deny }\n');
    const w = spawnSync(process.execPath, [CLI, 'policy', 'check', warned], { encoding: 'utf8' });
    assert.equal(w.status, 0);
    assert.match(w.stdout, /warning: .*warn\.yaml:2:\d+: rules\[0\]\.args: use effect fields/);
    assert.equal(spawnSync(process.execPath, [CLI, 'policy', 'check', join(dir, 'missing.yaml')], { encoding: 'utf8' }).status, 1);
  });
});
