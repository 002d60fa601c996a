// The approval card's "Allow this tool from now on…" as VS Code's webview runs it: the real UI
// bundle (dist/media) in Debian chromium, with `acquireVsCodeApi` standing in for the webview's
// message port. The button is shown only on cards the host marked `canAlwaysAllow`, posts only the
// approval id, and shows the host's answer. (At /ui the app wires no such action, and the request
// is refused: test/unit/web-ui/sessions-and-feed.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ApprovalView, DashboardState } from '../../../src/protocol/ui';

const ROOT = join(__dirname, '../../..');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function approval(id: string, tool: string, canAlwaysAllow: boolean | undefined): ApprovalView {
  const now = Date.now();
  return {
    id,
    kind: 'tool',
    server: 'memory',
    tool,
    args: { name: 'notes' },
    digest: 'a'.repeat(64),
    preview: { status: 'untrusted', note: 'third-party server: no preview' },
    reason: `Tool "${tool}" of server "memory" does not declare whether it is read-only or destructive, so it needs a human approval.`,
    createdAt: now,
    expiresAt: now + 300_000,
    status: 'pending',
    ...(canAlwaysAllow !== undefined ? { canAlwaysAllow } : {}),
  };
}

function state(pending: ApprovalView[]): DashboardState {
  const zero = { server: '*', tool: '*', calls: 0, errors: 0, errorRate: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 };
  return { generatedAt: Date.now(), windowMs: 3_600_000, servers: [], totals: zero, tools: [], series: [], pending, history: [], recentCalls: [], toolBudget: { total: 0, limit: 128 }, policy: { readOnlyMode: false, problems: [] } };
}

describe('approval card in a VS Code webview: "Allow this tool from now on…"', () => {
  let browser: Browser;
  const script = readFileSync(join(ROOT, 'dist/media/main.js'), 'utf8');
  const style = readFileSync(join(ROOT, 'dist/media/main.css'), 'utf8');

  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
  });

  async function open(host: 'vscode'): Promise<Page> {
    const page = await browser.newPage();
    await page.setContent(`<!doctype html><html><head><style>${style}</style></head><body data-host="${host}" data-view="approvals"><div id="app"></div></body></html>`);
    // A string, not a function: tsx would wrap a function's inner arrows in its `__name` helper, absent in the page.
    await page.evaluate('window.posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), getState: () => undefined, setState: () => undefined });');
    await page.addScriptTag({ content: script });
    return page;
  }

  it('shows the button only on cards the host marked, posts only the approval id, and shows the answer', async () => {
    const page = await open('vscode');
    await page.waitForFunction('window.posted.some((m) => m.type === "ready")');
    const post = (message: unknown): Promise<unknown> => page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
    await post({ type: 'state', state: state([approval('a1', 'create_entities', true), approval('a2', 'delete_entities', false), approval('a3', 'old_host', undefined)]) });
    const cards = page.locator('li.approval');
    await cards.nth(2).waitFor();
    const buttonOf = (id: string) => page.locator(`li.approval[data-approval-id="${id}"] button.always-allow`);
    assert.equal(await buttonOf('a1').count(), 1);
    assert.equal(await buttonOf('a2').count(), 0, 'not offered for a tool the host did not mark (destructive)');
    assert.equal(await buttonOf('a3').count(), 0, 'not offered when the host says nothing');
    assert.equal(await buttonOf('a1').innerText(), 'Allow this tool from now on…');

    await buttonOf('a1').click();
    const request = await page.waitForFunction('window.posted.find((m) => m.method === "approval.allowTool")');
    const sent = (await request.jsonValue()) as { id: string; method: string; params: unknown };
    assert.deepEqual(sent.params, { approvalId: 'a1' }, 'only the id: the host resolves the tool');
    const status = page.locator('li.approval[data-approval-id="a1"] .card-status');
    assert.equal(await status.innerText(), 'Asking in VS Code…');
    await post({ type: 'response', id: sent.id, ok: true, result: { written: true, message: '"create_entities" on memory is always allowed now.' } });
    await page.waitForFunction(`document.querySelector('li.approval[data-approval-id="a1"] .card-status')?.textContent?.includes('always allowed now')`);
    // The call itself still waits for a decision: Approve and Reject are untouched.
    assert.equal(await page.locator('li.approval[data-approval-id="a1"] button.approve').getAttribute('aria-disabled'), null);
    await page.close();
  });
});

describe('the team section of VS Code\'s Approvals view (same cards, decided through the approver session)', () => {
  let browser: Browser;
  const script = readFileSync(join(ROOT, 'dist/media/main.js'), 'utf8');
  const style = readFileSync(join(ROOT, 'dist/media/main.css'), 'utf8');
  const HOSTILE_TOOL = '<img src=x onerror="window.pwned=1">';

  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
  });

  async function open(width: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.setContent(`<!doctype html><html><head><style>${style}</style></head><body data-host="vscode" data-view="approvals"><div id="app"></div></body></html>`);
    await page.evaluate('window.posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), getState: () => undefined, setState: () => undefined });');
    await page.addScriptTag({ content: script });
    await page.waitForFunction('window.posted.some((m) => m.type === "ready")');
    return page;
  }

  function teamApproval(id: string, tool: string, extra: Partial<ApprovalView> = {}): ApprovalView {
    return {
      ...approval(id, tool, undefined),
      server: 'fx',
      args: { path: `/srv/${'very-long-segment-'.repeat(12)}end`, note: '</pre><script>window.pwned=2</script>' },
      preview: { status: 'ok', text: `--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+${'z'.repeat(200)}` },
      requestedBy: 'alice@example.com',
      requestedByRoles: ['operator'],
      ...extra,
    };
  }

  it('without a team URL there is no section; signed out, the sign-in row and no team card; its button asks the host to sign in', async () => {
    const page = await open(300);
    const post = (message: unknown): Promise<unknown> => page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
    await post({ type: 'state', state: state([approval('local-1', 'create_entities', undefined)]) });
    await post({ type: 'team', team: null });
    await page.locator('li.approval').first().waitFor();
    assert.equal(await page.locator('section.team').isVisible(), false, 'no team URL: no section');
    await post({ type: 'team', team: { kind: 'signed-out', host: 'mcp.example.com' } });
    const section = page.locator('section.team');
    await section.waitFor({ state: 'visible' });
    assert.equal(await section.locator('h2').innerText(), 'Team · mcp.example.com');
    assert.match(await section.innerText(), /Sign in as approver to see the team's approvals/);
    assert.equal(await section.locator('li.approval').count(), 0, 'no team card before the sign-in');
    assert.equal(await section.locator('section.pending').isVisible(), false, 'no empty team list before the sign-in');
    await section.getByRole('button', { name: 'Sign in as approver…' }).click();
    const request = await page.waitForFunction('window.posted.find((m) => m.method === "team.signIn")');
    const sent = (await request.jsonValue()) as { id: string; params: unknown };
    assert.deepEqual(sent.params, {});
    await post({ type: 'response', id: sent.id, ok: true, result: { signedIn: true, name: 'bob@example.com' } });
    await page.waitForFunction(`document.querySelector('section.team .team-sign-in-row')?.textContent?.includes('Signed in as bob@example.com')`);
    await page.close();
  });

  it('signed in: the team\'s approvals as cards (who asked and their roles, four-eyes state, preview, countdown), hostile text shown as text, nothing overflowing 297 px', async () => {
    const page = await open(297);
    const post = (message: unknown): Promise<unknown> => page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
    await post({ type: 'state', state: state([approval('same-id', 'create_entities', undefined)]) });
    const hostile = teamApproval('same-id', HOSTILE_TOOL, { approvals: { given: 1, required: 2, by: ['carol@example.com'] } });
    await post({ type: 'team', team: { kind: 'signed-in', host: `${'team-control-plane-'.repeat(4)}.example.com`, signedInAs: 'bob@example.com', roles: ['approver'], pending: [hostile, teamApproval('t2', `delete_${'x'.repeat(120)}`)] } });
    const cards = page.locator('section.team li.approval');
    await cards.nth(1).waitFor();
    // Escaping: the tool name is text, no element of it reached the page, no script ran.
    assert.equal(await page.locator('img').count(), 0, 'an <img> from the service reached the DOM');
    assert.equal(await page.evaluate('window.pwned'), undefined);
    const first = cards.first();
    assert.equal(await first.locator('h3 code').innerText(), HOSTILE_TOOL);
    assert.match(await first.locator('pre.args').innerText(), /<\/pre><script>window\.pwned=2<\/script>/);
    const facts = await first.locator('dl.facts').innerText();
    assert.match(facts, /Requested by\s+alice@example\.com \(operator\)/);
    assert.match(facts, /Approvals\s+1 of 2 different approvers \(carol@example\.com\)/);
    assert.match(await first.locator('.countdown').innerText(), /^expires in /);
    assert.equal(await first.locator('.preview pre.diff .line.add').count(), 1);
    assert.match(await page.locator('section.team .team-who').innerText(), /Signed in as bob@example\.com \(approver\)/);
    assert.equal(await page.locator('section.team .team-sign-in-row').isVisible(), false, 'signed in: no sign-in row');
    assert.equal(await page.getByRole('button', { name: 'Sign in as approver…' }).count(), 0, 'signed in: no sign-in button a person can reach');
    // The local card with the same id is its own card: no element id twice on the page.
    const duplicates = await page.evaluate<string[]>(`(() => { const seen = new Set(); const dup = []; for (const el of document.querySelectorAll('[id]')) { if (seen.has(el.id)) dup.push(el.id); seen.add(el.id); } return dup; })()`);
    assert.deepEqual(duplicates, []);
    // A 297 px sidebar: nothing scrolls sideways; the countdown and the buttons stay in view.
    const fits = await page.evaluate<{ overflow: number; page: number; boxes: number[][]; wide: string[] }>(`(() => {
      const card = document.querySelector('section.team li.approval');
      const box = (q) => { const r = card.querySelector(q).getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; };
      const page = document.documentElement.clientWidth;
      const wide = ['scrollX=' + window.scrollX, ...[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > page + 1 || e.getBoundingClientRect().left < -1 || e.scrollWidth > page + 1)].map((e) => typeof e === 'string' ? e : e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().left) + '..' + Math.round(e.getBoundingClientRect().right) + ' sw' + e.scrollWidth);
      return { overflow: document.documentElement.scrollWidth - page, page, boxes: [box('.countdown'), box('button.approve'), box('button.reject'), box('h3')], wide };
    })()`);
    assert.ok(fits.overflow <= 0, `the page scrolls sideways by ${fits.overflow}px: ${fits.wide.slice(0, 8).join(', ')}`);
    for (const [left, right] of fits.boxes) assert.ok(left! >= 0 && right! <= fits.page, `an element at ${left}–${right} px in a ${fits.page} px page`);
    await page.screenshot({ path: join(ROOT, 'test-results', 'team-approval-card-297px.png'), fullPage: true }).catch(() => undefined);
    await page.close();
  });

  it('Reject and Approve go to the host as team.decide bound to the digest; the answer says who decided, a refusal shows in plain words; focus falls back to Reject', async () => {
    const page = await open(320);
    const post = (message: unknown): Promise<unknown> => page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
    await post({ type: 'state', state: state([]) });
    const a = teamApproval('t1', 'noop');
    const b = teamApproval('t2', 'noop_two', { digest: 'b'.repeat(64) });
    const team = (pending: ApprovalView[]) => ({ type: 'team', team: { kind: 'signed-in', host: '127.0.0.1:9', signedInAs: 'bob@example.com', roles: ['approver'], pending } });
    await post(team([a, b]));
    const card = (id: string) => page.locator(`section.team li.approval[data-approval-id="${id}"]`);
    await card('t2').waitFor();

    await card('t1').getByRole('button', { name: 'Reject noop on fx' }).click();
    const rejected = (await (await page.waitForFunction('window.posted.find((m) => m.method === "team.decide")')).jsonValue()) as { id: string; params: unknown };
    assert.deepEqual(rejected.params, { approvalId: 't1', digest: 'a'.repeat(64), approve: false });
    assert.equal(await page.locator('section.pending').first().locator('li.approval').count(), 0, 'nothing went to the local list');
    await post({ type: 'response', id: rejected.id, ok: true, result: { status: 'rejected', decidedBy: 'ui-session (bob@example.com)' } });
    await page.waitForFunction(`document.querySelector('section.team li.approval[data-approval-id="t1"] .card-status')?.textContent === 'Rejected by bob@example.com: the call gets an error.'`);

    await card('t2').locator('button.approve').click();
    const approved = (await (await page.waitForFunction('window.posted.filter((m) => m.method === "team.decide")[1]')).jsonValue()) as { id: string; params: unknown };
    assert.deepEqual(approved.params, { approvalId: 't2', digest: 'b'.repeat(64), approve: true });
    const refusal = 'You asked for this call yourself: nobody decides their own request, so another approver must decide it.';
    await post({ type: 'response', id: approved.id, ok: false, error: refusal });
    await page.waitForFunction(`document.querySelector('section.team li.approval[data-approval-id="t2"] .card-status.error')?.textContent === ${JSON.stringify(`Not recorded: ${refusal}`)}`);
    // The card stays and can be decided again (not busy).
    assert.equal(await card('t2').locator('button.approve').getAttribute('aria-disabled'), 'false');

    // The safe choice stays the default: when the focused card goes, focus lands on the next card's Reject.
    await card('t1').locator('button.approve').focus();
    await post(team([b]));
    await page.waitForFunction(`document.querySelectorAll('section.team li.approval').length === 1`);
    assert.equal(await page.evaluate('document.activeElement?.getAttribute("aria-label")'), 'Reject noop_two on fx');

    // Four-eyes: a first approval is recorded and the card says it waits for another approver.
    await card('t2').locator('button.approve').click();
    const vote = (await (await page.waitForFunction('window.posted.filter((m) => m.method === "team.decide")[2]')).jsonValue()) as { id: string };
    await post({ type: 'response', id: vote.id, ok: true, result: { status: 'pending', note: '1 of 2 approvals; another approver must approve it', decidedBy: 'ui-session (bob@example.com)' } });
    await page.waitForFunction(`document.querySelector('section.team li.approval[data-approval-id="t2"] .card-status')?.textContent === 'Your approval is recorded by bob@example.com: 1 of 2 approvals; another approver must approve it.'`);
    await page.close();
  });
});
