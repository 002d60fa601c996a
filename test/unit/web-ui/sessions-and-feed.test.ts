// Web UI sessions, the credential throttle, the state feed and the shared request handler, the
// last two over the real oversight backend (approval store, audit log in a temp dir) with no
// servers running.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { approvalsConfigSchema, gatewayConfigSchema, supervisorConfigSchema } from '../../../src/core/config/schema';
import { Gateway } from '../../../src/core/gateway/gateway';
import { Metrics } from '../../../src/core/metrics/metrics';
import { openOversight, type Oversight } from '../../../src/core/oversight/oversight';
import { LayeredPolicy } from '../../../src/core/oversight/policy-source';
import { Redactor } from '../../../src/core/redact';
import { Supervisor } from '../../../src/core/supervisor/supervisor';
import { CredentialThrottle, StateFeed, UiSessions, handleUiRequest, renderUiPage, secretEquals, webviewCsp } from '../../../src/core/web-ui';
import { uiToHostSchema, webviewToHostSchema, type DashboardState } from '../../../src/protocol/ui';

describe('web UI sessions', () => {
  it('end after the idle time or the absolute lifetime, whichever comes first', () => {
    let now = 1_000_000;
    const sessions = new UiSessions({ idleMs: 1000, maxAgeMs: 5000, now: () => now });
    const s = sessions.create();
    assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(s.id, s.csrfToken);
    now += 900;
    assert.equal(sessions.get(s.id)?.id, s.id, 'use keeps it alive');
    now += 900;
    assert.ok(sessions.get(s.id));
    now += 1001;
    assert.equal(sessions.get(s.id), undefined, 'idle too long');
    const t = sessions.create();
    for (let i = 0; i < 6; i++) {
      now += 900;
      sessions.get(t.id);
    }
    assert.equal(sessions.get(t.id), undefined, 'past the absolute lifetime despite use');
    assert.equal(sessions.get(undefined), undefined);
  });

  it('keep at most maxSessions, dropping the least recently used', () => {
    let now = 0;
    const sessions = new UiSessions({ maxSessions: 2, now: () => now });
    const a = sessions.create();
    now++;
    const b = sessions.create();
    now++;
    sessions.get(a.id);
    now++;
    sessions.create();
    assert.ok(sessions.isAlive(a.id));
    assert.equal(sessions.isAlive(b.id), false);
    assert.equal(sessions.size, 2);
  });

  it('secretEquals compares any lengths without throwing, and never matches empty', () => {
    assert.equal(secretEquals('abc', 'abc'), true);
    assert.equal(secretEquals('abd', 'abc'), false);
    assert.equal(secretEquals('abcd', 'abc'), false);
    assert.equal(secretEquals('', ''), false);
    assert.equal(secretEquals(undefined, 'abc'), false);
  });

  it('the credential throttle holds wrong answers per source, doubling and one after another; another source is not slowed', () => {
    let now = 0;
    const throttle = new CredentialThrottle({ maxFailures: 2, windowMs: 1000, baseDelayMs: 100, maxDelayMs: 400, maxHeld: 3, now: () => now });
    assert.deepEqual(throttle.fail('a'), { holdMs: 0 });
    assert.deepEqual(throttle.fail('a'), { holdMs: 0 });
    assert.deepEqual(throttle.fail('a'), { holdMs: 100 });
    assert.deepEqual(throttle.fail('a'), { holdMs: 300 }, 'released after the previous one: parallel guessing is no faster');
    assert.deepEqual(throttle.fail('a'), { holdMs: 700 }, 'the hold doubles up to maxDelayMs');
    assert.deepEqual(throttle.fail('a'), { refuseMs: 700 }, 'more than maxHeld at once are refused without holding');
    assert.deepEqual(throttle.fail('b'), { holdMs: 0 }, 'another source is not slowed');
    for (let i = 0; i < 3; i++) throttle.release('a');
    now += 1_000;
    assert.deepEqual(throttle.fail('a'), { holdMs: 0 }, 'failures leave the window');
  });
});

describe('UI pages', () => {
  it('carry no inline script; the webview CSP allows only the nonce and the webview source', () => {
    const html = renderUiPage({ host: 'vscode', view: 'approvals', title: 'A <b>', nonce: 'n0nce', scriptUrl: 'https://x/main.js?a=1&b=2', styleUrl: 'https://x/main.css', cspMeta: webviewCsp('https://x', 'n0nce') });
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0]![2], '', 'no inline code');
    assert.match(scripts[0]![1]!, /nonce="n0nce" src="https:\/\/x\/main\.js\?a=1&#38;b=2"/);
    assert.match(html, /<title>A &#60;b&#62;<\/title>/);
    assert.match(html, /content="default-src &#39;none&#39;; style-src https:\/\/x; img-src https:\/\/x data:; font-src https:\/\/x; script-src &#39;nonce-n0nce&#39;/);
    assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/);
  });
});

describe('state feed and request handler over the real oversight backend', () => {
  let dir: string;
  let oversight: Oversight;
  let supervisor: Supervisor;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcpcp-webui-unit-'));
    const metrics = new Metrics();
    const gateway = new Gateway({ config: gatewayConfigSchema.parse({}), roots: () => [], metrics });
    supervisor = new Supervisor({ config: supervisorConfigSchema.parse({}), hooks: gateway });
    const policy = new LayeredPolicy();
    policy.setBase({ user: [], readOnlyMode: false });
    oversight = await openOversight({ stateDir: dir, instancePrefix: 'unit', policy, approvals: approvalsConfigSchema.parse({}), redactor: new Redactor(), metrics, supervisor, gatewayUrl: (s) => `http://127.0.0.1:1/mcp/${s}` });
  });
  after(async () => {
    await oversight.close();
    supervisor.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const request = (name: string) =>
    oversight.store.request({ server: 'fx', tool: 'delete_thing', args: { name }, displayArgs: { name }, reason: 'destructive', preview: { status: 'ok', result: { content: [{ type: 'text', text: `would delete ${name}` }] }, truncated: false } });

  it('pushes state on refresh, coalesces a burst of changes, and stops after dispose', async () => {
    const feed = new StateFeed(oversight, { throttleMs: 100, refreshMs: 0 });
    const got: DashboardState[] = [];
    const sub = feed.subscribe(60_000, (s) => got.push(s));
    sub.refresh();
    await waitUntil(() => got.length === 1);
    assert.deepEqual(got[0]!.pending, []);
    assert.equal(got[0]!.windowMs, 60_000);
    for (let i = 0; i < 10; i++) request(`burst-${i}`);
    await waitUntil(() => got.at(-1)?.pending.length === 10);
    await new Promise((r) => setTimeout(r, 250));
    assert.ok(got.length <= 3, `ten changes gave ${got.length - 1} pushes`);
    assert.equal(got.at(-1)!.pending[0]!.preview.text, 'would delete burst-0');
    sub.setWindow(900_000);
    await waitUntil(() => got.at(-1)?.windowMs === 900_000);
    sub.dispose();
    const count = got.length;
    request('after');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(got.length, count);
    assert.equal(feed.size, 0);
    oversight.rejectPending('test cleanup');
  });

  it('handleUiRequest decides as the host says, and turns refusals into ok: false', async () => {
    const { approval } = request('handled');
    let windowMs = 0;
    const ctx = { backend: oversight, by: { kind: 'vscode-ui' as const }, setWindow: (ms: number) => (windowMs = ms) };
    const wrong = await handleUiRequest({ type: 'request', id: 'a', method: 'approval.decide', params: { approvalId: approval.id, digest: 'f'.repeat(64), approve: true } }, ctx);
    assert.equal(wrong.type === 'response' && !wrong.ok && /other arguments/.test(wrong.error), true, JSON.stringify(wrong));
    const ok = await handleUiRequest({ type: 'request', id: 'b', method: 'approval.decide', params: { approvalId: approval.id, digest: approval.digest, approve: false, reason: '  not today ' } }, ctx);
    assert.deepEqual(ok, { type: 'response', id: 'b', ok: true, result: { status: 'rejected', decidedBy: 'vscode-ui' } });
    assert.deepEqual(oversight.store.get(approval.id)?.decision?.by, { kind: 'vscode-ui' });
    assert.equal(oversight.store.get(approval.id)?.decision?.reason, 'not today');
    const again = await handleUiRequest({ type: 'request', id: 'c', method: 'approval.decide', params: { approvalId: approval.id, digest: approval.digest, approve: true } }, ctx);
    assert.equal(again.type === 'response' && !again.ok && /no longer pending/.test(again.error), true);
    const win = await handleUiRequest({ type: 'request', id: 'd', method: 'dashboard.setWindow', params: { windowMs: 120_000 } }, ctx);
    assert.deepEqual(win, { type: 'response', id: 'd', ok: true, result: { windowMs: 120_000 } });
    assert.equal(windowMs, 120_000);
    await waitUntil(async () => {
      const page = await handleUiRequest({ type: 'request', id: 'e', method: 'audit.query', params: { filter: { type: 'approval.decided' } } }, ctx);
      return page.type === 'response' && page.ok && 'records' in page.result && page.result.records.some((r) => r.decision === 'rejected');
    });
  });

  it('"Allow this tool from now on" is refused where the host offers no modal (/ui), and handed only the approval id in VS Code', async () => {
    const { approval } = request('allow-tool');
    const web = { backend: oversight, by: { kind: 'approver-credential' as const }, setWindow: () => undefined };
    const refused = await handleUiRequest({ type: 'request', id: 'f', method: 'approval.allowTool', params: { approvalId: approval.id } }, web);
    assert.equal(refused.type === 'response' && !refused.ok && /only in VS Code/.test(refused.error), true, JSON.stringify(refused));
    const asked: string[] = [];
    const vscodeHost = { ...web, by: { kind: 'vscode-ui' as const }, allowTool: async (id: string) => (asked.push(id), { written: false, message: 'Cancelled: nothing was written.' }) };
    const answered = await handleUiRequest({ type: 'request', id: 'g', method: 'approval.allowTool', params: { approvalId: approval.id } }, vscodeHost);
    assert.deepEqual(answered, { type: 'response', id: 'g', ok: true, result: { written: false, message: 'Cancelled: nothing was written.' } });
    assert.deepEqual(asked, [approval.id]);
    oversight.rejectPending('test cleanup');
  });

  it('the team section\'s requests (team.signIn, team.decide) parse only as VS Code webview messages, never at /ui', () => {
    const decide = { type: 'request', id: 't', method: 'team.decide', params: { approvalId: 'a1', digest: 'd'.repeat(64), approve: true } };
    const signIn = { type: 'request', id: 's', method: 'team.signIn', params: {} };
    // /ui parses what it receives with uiToHostSchema: both are refused there (400, invalid message).
    assert.equal(uiToHostSchema.safeParse(decide).success, false);
    assert.equal(uiToHostSchema.safeParse(signIn).success, false);
    assert.equal(webviewToHostSchema.safeParse(decide).success, true);
    assert.equal(webviewToHostSchema.safeParse(signIn).success, true);
    // Nothing but the approval's id, digest, choice and reason: no URL, no cookie, no header.
    assert.equal(webviewToHostSchema.safeParse({ ...signIn, params: { url: 'http://evil.example' } }).success, false);
  });
});

async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
