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
