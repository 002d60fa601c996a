// What-if (issue 20): a session of real calls through the gateway, with the real policy, approval and
// audit stages, replayed by the real `mcpcp policy test` through drafts with known differences.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, REPO_ROOT, startPlane, waitFor, type TestPlane } from '../../helpers/fixture-plane';
import type { PolicyRule } from '../../../src/core/policy';

const CLI = join(REPO_ROOT, 'dist/cli.js');

/** The policy in force while the session was recorded (the user layer). */
const RECORDED: PolicyRule[] = [
  { id: 'no-prod-echo', tool: 'echo', args: { text: { matches: 'prod-*' } }, decision: 'deny' },
  { id: 'tmp-deletes', tool: 'delete_thing', args: { name: { matches: 'tmp-*' } }, decision: 'allow' },
];

interface JsonOut {
  report: {
    replayed: number;
    unchanged: number;
    loosened: number;
    tightened: number;
    undecidable: number;
    groups: Array<{ direction: string; from: string; to: string; label: string; count: number; examples: Array<{ tool: string; args: string; callId: string }> }>;
    undecidableExamples: Array<{ tool: string; unknown: string[]; args: string }>;
  };
  source: { kind: string; verified: boolean; records: number };
  tests: Array<{ ok: boolean }>;
  loosens: boolean;
}

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, MCPCP_DATA_DIR: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('what-if: mcpcp policy test on a recorded session', () => {
  let plane: TestPlane;
  let stateDir: string;
  let work: string;
  let token: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mcpcp-whatif-'));
    plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: { rules: RECORDED } });
    stateDir = plane.stateDir!;
    token = plane.gateway.token;
    const client = await connectClient(plane, 'fx');
    try {
      await client.callTool({ name: 'echo', arguments: { text: 'hello' } }); // allow (default read-only)
      const denied = await client.callTool({ name: 'echo', arguments: { text: 'prod-db' } }); // deny (no-prod-echo)
      assert.equal(denied.isError, true);
      await client.callTool({ name: 'delete_thing', arguments: { name: 'tmp-1' } }); // allow (tmp-deletes)
      // approve (default destructive): a human rejects it.
      const held = client.callTool({ name: 'delete_thing', arguments: { name: 'keep' } });
      await waitFor(() => plane.oversight!.store.list().some((a) => a.tool === 'delete_thing'), 10_000, 'the approval');
      const approval = plane.oversight!.store.list().find((a) => a.tool === 'delete_thing')!;
      await plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: false, reason: 'no' }, { kind: 'vscode-ui' });
      assert.equal((await held).isError, true);
      // The gateway token is a secret the control plane knows: the audit masks it in the arguments.
      await client.callTool({ name: 'echo', arguments: { text: `deploy ${token}` } }); // allow
    } finally {
      await client.close();
      await plane.stop();
    }
  });

  function draft(name: string, text: string): string {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
  }

  function replayLive(file: string, extra: string[] = []): { code: number | null; out: JsonOut; stdout: string; stderr: string } {
    const r = run(['policy', 'test', file, '--layer', 'user', '--data-dir', stateDir, '--since', '1h', '--json', ...extra]);
    assert.ok(r.stdout, `policy test printed no report (exit ${r.code}): ${r.stderr}`);
    return { ...r, out: JSON.parse(r.stdout) as JsonOut };
  }

  it('the recorded session masks the known secret and records the policy inputs', () => {
    const lines = readFileSync(join(stateDir, 'audit', readdir(join(stateDir, 'audit'))), 'utf8');
    assert.ok(!lines.includes(token), 'the token is not in the audit');
    assert.match(lines, /"text":"deploy \[REDACTED\]"/);
  });

  it('the policy in force replayed as a draft changes nothing (the masked call is undecidable: its rule tests text)', () => {
    const file = draft('same.yaml', `rules:\n${RECORDED.map((r) => `  - ${JSON.stringify(r)}`).join('\n')}\n`);
    const r = replayLive(file);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual([r.out.report.replayed, r.out.report.unchanged, r.out.report.loosened, r.out.report.tightened, r.out.report.undecidable], [5, 4, 0, 0, 1]);
    assert.equal(r.out.source.verified, true);
  });

  it('deny -> allow is a loosening (exit 1), allow -> approve a tightening, each grouped by the deciding rule', () => {
    const file = draft(
      'loosen-deny.yaml',
      ['rules:', '  - {id: echo-all, tool: echo, decision: allow}', '  - {id: deletes-approve, tool: delete_thing, decision: approve}', ''].join('\n'),
    );
    const r = replayLive(file);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const { report } = r.out;
    assert.deepEqual([report.replayed, report.unchanged, report.loosened, report.tightened, report.undecidable], [5, 3, 1, 1, 0]);
    const loose = report.groups.find((g) => g.direction === 'loosened')!;
    assert.deepEqual([loose.from, loose.to, loose.count, loose.label], ['deny', 'allow', 1, 'rule "echo-all" (#1 of the user policy)']);
    assert.equal(loose.examples[0]!.args, '{"text":"prod-db"}');
    const tight = report.groups.find((g) => g.direction === 'tightened')!;
    assert.deepEqual([tight.from, tight.to, tight.count, tight.examples[0]!.args], ['allow', 'approve', 1, '{"name":"tmp-1"}']);
    assert.equal(r.out.loosens, true);
  });

  it('approve -> allow is a loosening too', () => {
    const file = draft('loosen-approve.yaml', ['rules:', `  - ${JSON.stringify(RECORDED[0])}`, '  - {id: all-deletes, tool: delete_thing, decision: allow}', ''].join('\n'));
    const r = replayLive(file);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.equal(r.out.report.loosened, 1);
    const g = r.out.report.groups[0]!;
    assert.deepEqual([g.direction, g.from, g.to, g.label, g.examples[0]!.args], ['loosened', 'approve', 'allow', 'rule "all-deletes" (#2 of the user policy)', '{"name":"keep"}']);
  });

  it('a rule testing a masked argument makes that call undecidable (never guessed); tightening alone exits 0', () => {
    const file = draft(
      'tighten.yaml',
      [
        'rules:',
        '  - {id: no-prod-anywhere, tool: echo, args: {text: {matches: "*prod*"}}, decision: deny}',
        `  - ${JSON.stringify(RECORDED[1])}`,
        '  - {id: keep-is-kept, tool: delete_thing, args: {name: keep}, decision: deny}',
        'tests:',
        '  - {server: fx, tool: echo, builtin: true, annotations: {readOnlyHint: true}, args: {text: prod-x}, expect: deny}',
        '',
      ].join('\n'),
    );
    const r = replayLive(file);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const { report } = r.out;
    assert.deepEqual([report.replayed, report.unchanged, report.loosened, report.tightened, report.undecidable], [5, 3, 0, 1, 1]);
    assert.deepEqual(report.undecidableExamples.map((e) => [e.tool, e.unknown, e.args]), [['echo', ['args.text'], '{"text":"deploy [REDACTED]"}']]);
    assert.deepEqual([report.groups[0]!.from, report.groups[0]!.to, report.groups[0]!.examples[0]!.args], ['approve', 'deny', '{"name":"keep"}']);
    assert.equal(r.out.tests.length, 1);
    assert.ok(r.out.tests[0]!.ok);
  });

  it('a masked argument the deciding rules do not test stays decidable', () => {
    // The rule testing text comes after a rule that decides every echo call.
    const file = draft('masked-irrelevant.yaml', ['rules:', '  - {tool: echo, server: fx, decision: allow}', '  - {tool: echo, args: {text: {matches: "*x*"}}, decision: deny}', `  - ${JSON.stringify(RECORDED[1])}`, ''].join('\n'));
    const r = replayLive(file);
    assert.equal(r.out.report.undecidable, 0);
    assert.equal(r.out.report.loosened, 1); // prod-db: deny -> allow
  });

  it('--with-LAYER keeps a layer beside the draft: a workspace draft cannot loosen what the user layer denies', () => {
    const user = draft('user.yaml', `rules:\n${RECORDED.map((x) => `  - ${JSON.stringify(x)}`).join('\n')}\n`);
    // A workspace allow for everything: evaluated beside the user layer, it loosens nothing.
    const ws = draft('ws.yaml', 'rules:\n  - {tool: "*", decision: allow}\n  - {tool: delete_thing, args: {name: {matches: "tmp-*"}}, decision: deny}\n');
    const kept = run(['policy', 'test', ws, '--layer', 'workspace', '--with-user', user, '--data-dir', stateDir, '--since', '1h', '--json']);
    assert.equal(kept.code, 0, kept.stderr + kept.stdout);
    const out = JSON.parse(kept.stdout) as JsonOut;
    assert.deepEqual([out.report.loosened, out.report.tightened, out.report.undecidable], [0, 0, 1]);
    // Without the user layer the same draft is compared with history alone: the prod-db denial is
    // loosened (nothing left denies it).
    const alone = run(['policy', 'test', ws, '--layer', 'workspace', '--data-dir', stateDir, '--since', '1h', '--json']);
    assert.equal(alone.code, 1);
    assert.equal((JSON.parse(alone.stdout) as JsonOut).report.loosened, 1);
    // --with naming the replaced layer is a usage error.
    assert.equal(run(['policy', 'test', ws, '--layer', 'workspace', '--with-workspace', user, '--data-dir', stateDir]).code, 2);
  });

  it('a failing test of the draft fails the run even when nothing loosens', () => {
    const file = draft('bad-test.yaml', ['rules:', ...RECORDED.map((x) => `  - ${JSON.stringify(x)}`), 'tests:', '  - {server: fx, tool: echo, annotations: {readOnlyHint: true}, args: {text: prod-1}, expect: allow}', ''].join('\n'));
    const r = run(['policy', 'test', file, '--layer', 'user', '--data-dir', stateDir, '--since', '1h']);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /draft tests: 0 of 1 passed/);
    assert.match(r.stdout, /verdict: the draft loosens nothing that was recorded/);
  });

  it('an exported audit replays without the key; a CSV export is refused', () => {
    const exported = run(['audit', 'export', '--data-dir', stateDir]);
    assert.equal(exported.code, 0, exported.stderr);
    const ci = mkdtempSync(join(tmpdir(), 'mcpcp-whatif-ci-'));
    const file = join(ci, 'audit.jsonl');
    writeFileSync(file, exported.stdout);
    const loose = draft('ci-loose.yaml', ['rules:', '  - {id: echo-all, tool: echo, decision: allow}', `  - ${JSON.stringify(RECORDED[1])}`, ''].join('\n'));
    // A data folder with no key at all: the export needs none.
    const r = run(['policy', 'test', loose, '--layer', 'user', '--audit', file, '--data-dir', join(ci, 'empty'), '--json']);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as JsonOut;
    assert.deepEqual([out.source.kind, out.source.verified, out.report.replayed, out.report.loosened], ['file', false, 5, 1]);
    const text = run(['policy', 'test', loose, '--layer', 'user', '--audit', file]);
    assert.match(text.stdout, /exported audit .* \(not verified: no key\)/);
    assert.match(text.stdout, /LOOSENED {2}deny -> allow {2}by rule "echo-all" \(#1 of the user policy\): 1 call/);
    const csv = run(['audit', 'export', '--format', 'csv', '--data-dir', stateDir]);
    const csvFile = join(ci, 'audit.csv');
    writeFileSync(csvFile, csv.stdout);
    const refused = run(['policy', 'test', loose, '--layer', 'user', '--audit', csvFile]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /CSV export, which has no call arguments/);
  });

  it('a live audit whose chain does not verify is refused (exit 2), not replayed', () => {
    const copy = mkdtempSync(join(tmpdir(), 'mcpcp-whatif-tamper-'));
    spawnSync('cp', ['-r', join(stateDir, 'audit'), join(stateDir, 'audit-checkpoints'), join(stateDir, 'keys'), copy]);
    // The untouched copy verifies and replays: the refusal below is the edit's doing.
    const file0 = draft('same0.yaml', `rules:\n${RECORDED.map((x) => `  - ${JSON.stringify(x)}`).join('\n')}\n`);
    assert.equal(run(['policy', 'test', file0, '--layer', 'user', '--data-dir', copy, '--since', '1h']).code, 0);
    const name = readdir(join(copy, 'audit'));
    const path = join(copy, 'audit', name);
    // Rewrite history: the denied call now reads as allowed.
    writeFileSync(path, readFileSync(path, 'utf8').replace('"decision":"deny"', '"decision":"allow"'));
    const file = draft('same2.yaml', `rules:\n${RECORDED.map((x) => `  - ${JSON.stringify(x)}`).join('\n')}\n`);
    const r = run(['policy', 'test', file, '--layer', 'user', '--data-dir', copy, '--since', '1h']);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /does not verify/);
  });
});

function readdir(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  assert.equal(files.length, 1, `one audit file in ${dir}: ${files.join(', ')}`);
  return files[0]!;
}

describe('what-if in the UI: policy.test and opening an example, on a running instance', () => {
  it('the Test Policy request replays the live audit with the layers in force, and an example opens its records', async () => {
    // The user layer in force; a single workspace list kept beside the draft.
    const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], {
      oversight: { rules: RECORDED, workspaceRules: [{ id: 'ws-no-secret-echo', tool: 'echo', args: { text: { equals: 'secret-plan' } }, decision: 'deny' }] },
    });
    try {
      const client = await connectClient(plane, 'fx');
      await client.callTool({ name: 'echo', arguments: { text: 'prod-db' } }); // deny (user)
      await client.callTool({ name: 'echo', arguments: { text: 'secret-plan' } }); // deny (workspace)
      await client.callTool({ name: 'delete_thing', arguments: { name: 'tmp-1' } }); // allow (user)
      await client.close();
      const { handleUiRequest } = await import('../../../src/core/web-ui');
      const { uiToHostSchema } = await import('../../../src/protocol/ui');
      const ctx = { backend: plane.oversight!, by: { kind: 'vscode-ui' as const }, setWindow: () => undefined };
      const ask = async (method: string, params: unknown): Promise<{ ok: boolean; result?: unknown; error?: string }> => {
        const request = uiToHostSchema.parse({ type: 'request', id: 'r1', method, params });
        assert.ok(request.type === 'request');
        return (await handleUiRequest(request, ctx)) as { ok: boolean; result?: unknown; error?: string };
      };
      // The draft drops the prod-db rule: deny -> allow. The workspace denial stays (kept layer).
      const text = ['rules:', `  - ${JSON.stringify(RECORDED[1])}`, 'tests:', '  - {server: fx, tool: echo, annotations: {readOnlyHint: true}, args: {text: prod-1}, expect: deny}', ''].join('\n');
      const r = await ask('policy.test', { name: 'draft.yaml', text, sinceMs: 3_600_000 });
      assert.ok(r.ok, r.error);
      const view = r.result as { layer: string; kept: string; loosens: boolean; report: JsonOut['report']; tests: Array<{ ok: boolean }>; source: { verified: boolean } };
      assert.equal(view.layer, 'config'); // the fixture plane sets no operator layer: the default
      // ...so name the user layer, as VS Code does.
      const u = await ask('policy.test', { name: 'draft.yaml', text, sinceMs: 3_600_000, layer: 'user' });
      const uv = u.result as typeof view;
      assert.deepEqual([uv.report.replayed, uv.report.loosened, uv.report.unchanged, uv.loosens, uv.source.verified], [3, 1, 2, true, true]);
      assert.match(uv.kept, /workspace layer/);
      assert.equal(uv.tests[0]!.ok, false);
      const example = uv.report.groups[0]!.examples[0]!;
      assert.equal(example.args, '{"text":"prod-db"}');
      const opened = await ask('audit.query', { filter: { callId: example.callId }, limit: 50 });
      const records = (opened.result as { records: Array<{ type: string; callId?: string; decision?: string }> }).records;
      // Exactly the records of that call: requested, denied, failed (the denial ends the call).
      assert.deepEqual(records.map((x) => x.type).sort(), ['call.failed', 'call.requested', 'policy.decided']);
      assert.ok(records.every((x) => x.callId === example.callId));
      assert.equal(records.find((x) => x.type === 'policy.decided')?.decision, 'deny');
      // An invalid draft says what to fix.
      const bad = await ask('policy.test', { name: 'bad.yaml', text: 'rules:\n  - {tool: echo, decision: maybe}\n', sinceMs: 3_600_000 });
      assert.equal(bad.ok, false);
      assert.match(bad.error ?? '', /bad\.yaml.*decision/);
    } finally {
      await plane.stop();
    }
  });
});
