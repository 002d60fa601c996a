// The dashboard and approvals UI in a real browser (Debian chromium through playwright-core),
// served by a real gateway at /ui with the real oversight stages and the fixture server `fx`:
// sign in with the approver credential, see a destructive call wait with its preview, approve it
// from the keyboard and watch the fixture tool run, reject one with a click, filter the audit
// log, and keep screenshots in light and dark themes.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, connectClient, firstText } from '../../helpers/fixture-plane';
import { startWebUiPlane, type WebUiPlane } from './web-ui-plane';

const SCREENSHOTS = join(REPO_ROOT, 'test-results/screenshots');
// Page-side expressions as strings: this tsconfig has no DOM library.
const ACTIVE_LABEL = "document.activeElement?.getAttribute('aria-label') ?? undefined";
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('web UI in a real browser', () => {
  let ui: WebUiPlane;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Console errors and CSP violations the page reported. */
  const problems: string[] = [];

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ui = await startWebUiPlane();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1200, height: 900 } });
    // Generous for a loaded CI machine (npm test runs two files at once on 2 cores).
    context.setDefaultTimeout(20_000);
    // Nothing but the gateway: any other request would be a leak.
    await context.route(/^(?!http:\/\/127\.0\.0\.1:\d+\/)/, (route) => {
      problems.push(`request outside the gateway: ${route.request().url()}`);
      return route.abort();
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await ui?.stop();
  });

  it('the sign-in page refuses the client token and accepts the approver credential', async () => {
    await page.goto(`${ui.base}/ui`);
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-login-light.png') });
    const field = page.getByLabel('Approver credential');
    await field.fill(ui.plane.gateway.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong approver credential' }).waitFor();
    await page.getByLabel('Approver credential').fill(ui.credential);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'MCP Control Plane', level: 1 }).waitFor();
    await page.locator('.connection', { hasText: 'Live' }).waitFor();
    const row = page.locator('table.servers tr[data-server="fx"]');
    await row.waitFor();
    assert.match(await row.innerText(), /fx\s*built-in\s+running\s+running · up/);
  });

  it('a destructive call waits; the card shows the preview, arguments, rule and client; Enter on Approve runs it', async () => {
    const client = await connectClient(ui.plane, 'fx', { name: 'agent', version: '3.1' });
    // Some read-only traffic first, so the charts and the tool table have something to show.
    for (let i = 0; i < 6; i++) await client.callTool({ name: 'echo', arguments: { text: `hello ${i}` } });
    await client.callTool({ name: 'slow', arguments: { ms: 40, steps: 2 } });
    await page.locator('table.tools tbody tr', { hasText: 'echo' }).waitFor();
    const call = client.callTool({ name: 'delete_thing', arguments: { name: 'staging-db' } });
    const approve = page.getByRole('button', { name: 'Approve delete_thing on fx' });
    await approve.waitFor();
    const card = page.locator('li.approval', { has: approve });
    assert.equal(await card.locator('.preview pre').innerText(), 'would delete staging-db');
    assert.equal((await card.locator('pre.args').innerText()).trim(), 'name: "staging-db"');
    const facts = await card.locator('dl.facts').innerText();
    assert.match(facts, /Client\s+agent 3\.1/);
    assert.match(facts, /Rule\s+default/);
    assert.match(await card.locator('.approval-reason').innerText(), /may change or delete things/);
    // Screen readers hear about it.
    await page.locator('[aria-live="polite"]', { hasText: 'Approval needed: delete_thing on fx, asked by agent 3.1' }).waitFor();
    assert.equal(await page.title(), '(1) MCP Control Plane');
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-dashboard-light.png'), fullPage: true });

    // Dark theme through the toggle, same page.
    await page.getByLabel('Theme').selectOption('dark');
    const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(31, 31, 31)');
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-dashboard-dark.png'), fullPage: true });

    // Keyboard: the reason field, then Tab to Approve, Enter.
    await card.getByLabel('Reason (optional)').fill('cleanup ticket 7');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate<string | undefined>(ACTIVE_LABEL), 'Approve delete_thing on fx', 'Tab from the reason reaches Approve');
    await page.keyboard.press('Enter');
    const result = await call;
    assert.equal(result.isError, undefined);
    assert.equal(firstText(result), 'deleted staging-db; deleted so far: staging-db');
    // Live update, no reload: the card goes, the history and the recent calls show it.
    await approve.waitFor({ state: 'detached' });
    await page.getByText('No approvals pending.').waitFor();
    const history = page.locator('table.history tbody tr').first();
    await history.waitFor();
    assert.match(await history.innerText(), /delete_thing on fx\s+approved\s+with the approver credential \(web-ui\)\s+cleanup ticket 7/);
    await page.locator('table.calls tbody tr', { hasText: 'delete_thing' }).first().waitFor();
    assert.match(await page.locator('table.calls tbody tr', { hasText: 'delete_thing' }).first().innerText(), /fx\s+delete_thing\s+agent 3\.1\s+ok/);
    assert.equal(await page.title(), 'MCP Control Plane');
    await client.close();
  });

  it('Reject with a click: the call ends with the reason; focus moves on to the next approval', async () => {
    const client = await connectClient(ui.plane, 'fx');
    const first = client.callTool({ name: 'delete_thing', arguments: { name: 'one' } });
    await page.getByRole('button', { name: 'Approve delete_thing on fx' }).waitFor();
    const second = client.callTool({ name: 'delete_thing', arguments: { name: 'two' } });
    await page.locator('li.approval').nth(1).waitFor();
    const cards = page.locator('li.approval');
    const firstCard = cards.filter({ hasText: '"one"' });
    const secondCard = cards.filter({ hasText: '"two"' });
    await firstCard.getByLabel('Reason (optional)').fill('wrong target');
    await firstCard.getByRole('button', { name: 'Reject delete_thing on fx' }).click();
    const refused = await first;
    assert.equal(refused.isError, true);
    assert.match(firstText(refused), /Not approved: rejected by a human: wrong target/);
    await firstCard.waitFor({ state: 'detached' });
    const focused = await page.evaluate<string | undefined>(ACTIVE_LABEL);
    // The safe choice is the default: focus lands on the remaining card's Reject, not its Approve.
    assert.equal(focused, 'Reject delete_thing on fx', 'focus went to the remaining card');
    await secondCard.getByRole('button', { name: 'Reject delete_thing on fx' }).press('Space');
    assert.equal((await second).isError, true);
    await client.close();
  });

  it('filters recent calls through the audit log, and changes the statistics window', async () => {
    await page.getByLabel('Tool', { exact: true }).fill('delete_thing');
    await page.getByLabel('Outcome').selectOption('rejected');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('2 matching records.').waitFor();
    const rows = await page.locator('table.calls tbody tr').allInnerTexts();
    assert.equal(rows.length, 2);
    for (const r of rows) assert.match(r, /delete_thing\s+test-client 1\.2\.3\s+rejected/);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByText('Latest calls, live.').waitFor();

    await page.getByLabel('Statistics window').selectOption(String(15 * 60_000));
    await page.locator('[role="group"][aria-label="Totals over the last 15 min"]').waitFor();
    const calls = page.locator('figure.chart svg[aria-label^="Calls per minute over the last 15 min"]');
    await calls.waitFor();
    assert.match((await calls.getAttribute('aria-label')) ?? '', /: [1-9]\d* in total/);
    assert.ok((await page.locator('figure.chart rect.bar').count()) >= 15);
  });

  it('a card shows bidi, zero-width and control characters as escapes, flags first, and secret-looking values marked, not masked', async () => {
    const client = await connectClient(ui.plane, 'fx', { name: 'agent\u202E', version: '1' });
    const note = `keep\u202Eeurt :ecrof\u202C\u200B ${'x'.repeat(300)}\n  force: false`;
    await page.getByText('No approvals pending.').waitFor();
    const call = client.callTool({ name: 'delete_thing', arguments: { note, name: 'AKIAIOSFODNN7EXAMPLE', force: true } });
    await page.getByText('No approvals pending.').waitFor();
    const card = page.locator('li.approval', { hasText: 'AKIAIOSFODNN7EXAMPLE' });
    await card.waitFor();
    const args = await card.locator('pre.args').innerText();
    assert.ok(!/[\u202a-\u202e\u2066-\u2069\u200b-\u200f]/.test(await card.innerText()), 'a bidi or zero-width character reached the page');
    assert.match(args, /^force: true\n/, args);
    assert.match(args, /name: "AKIAIOSFODNN7EXAMPLE" {2}⚠ looks like a secret/);
    assert.match(args, /note: "keep<U\+202E>eurt :ecrof<U\+202C><U\+200B> x+/);
    assert.match(args, /\n {2}│ {3}force: false"/, 'the fake flag stays inside the note');
    assert.match(await card.locator('.preview pre').innerText(), /would delete AKIAIOSFODNN7EXAMPLE/);
    assert.match(await card.locator('dl.facts').innerText(), /Client\s+agent<U\+202E> 1/);
    await card.getByRole('button', { name: 'Reject delete_thing on fx' }).click();
    assert.equal((await call).isError, true);
    await client.close();
  });

  it('the approvals-only view fits a narrow sidebar-sized window, in dark', async () => {
    const narrow = await context.newPage();
    await narrow.setViewportSize({ width: 360, height: 720 });
    await narrow.emulateMedia({ colorScheme: 'dark' });
    await narrow.goto(`${ui.base}/ui?view=approvals`);
    const client = await connectClient(ui.plane, 'fx');
    const call = client.callTool({ name: 'delete_thing', arguments: { name: 'narrow' } });
    await narrow.getByRole('button', { name: 'Approve delete_thing on fx' }).waitFor();
    const overflow = await narrow.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await narrow.screenshot({ path: join(SCREENSHOTS, 'web-ui-approvals-dark.png'), fullPage: true });
    await narrow.getByRole('button', { name: 'Approve delete_thing on fx' }).click();
    assert.match(firstText(await call), /deleted narrow/);
    await narrow.close();
    await client.close();
  });

  it('in a 297 px sidebar a card with a long diff line fits: nothing overflows, the countdown and the changed line stay in view', async () => {
    const side = await context.newPage();
    await side.setViewportSize({ width: 297, height: 900 });
    await side.emulateMedia({ colorScheme: 'dark' });
    await side.goto(`${ui.base}/ui?view=approvals`);
    const client = await connectClient(ui.plane, 'fx');
    // A name whose preview ("would delete <name>") is a unified diff with a long path and a long unbreakable line.
    const long = `src/${'deeply-nested-folder/'.repeat(14)}file.ts`;
    const name = `x\n--- a/${long}\n+++ b/${long}\n@@ -1 +1 @@\n-const old = 1;\n+const replacement = "${'y'.repeat(160)}";`;
    const call = client.callTool({ name: 'delete_thing', arguments: { name } });
    try {
      const card = side.locator('li.approval').first();
      await card.locator('.preview pre.diff .line.add').waitFor();
      const fits = await side.evaluate<{ card: number[]; countdown: number[]; added: number[]; page: number; overflow: number }>(`(() => {
        const el = document.querySelector('li.approval');
        const box = (q) => { const r = el.querySelector(q).getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; };
        return { card: [el.scrollWidth, el.clientWidth], countdown: box('.countdown'), added: box('.preview pre.diff .line.add'), page: document.documentElement.clientWidth, overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth };
      })()`);
      assert.ok(fits.overflow <= 0, `the page scrolls sideways by ${fits.overflow}px`);
      assert.ok(fits.card[0]! <= fits.card[1]! + 1, `card content ${fits.card[0]} px in ${fits.card[1]} px`);
      assert.ok(fits.countdown[0]! >= 0 && fits.countdown[1]! <= fits.page, `countdown at ${fits.countdown.join('–')} px in a ${fits.page} px page`);
      assert.ok(fits.added[0]! >= 0 && fits.added[1]! <= fits.page, `changed line at ${fits.added.join('–')} px in a ${fits.page} px page`);
      await side.screenshot({ path: join(SCREENSHOTS, 'approval-card-narrow-sidebar-dark.png'), fullPage: true });
      await card.getByRole('button', { name: 'Reject delete_thing on fx' }).click();
      assert.equal((await call).isError, true);
    } finally {
      await side.close();
      await client.close();
    }
  });

  it('signing out closes the session: the page says so and the API refuses', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Approver credential').waitFor();
    const status = await page.evaluate(async () => (await fetch('/ui/api/approvals')).status);
    assert.equal(status, 401);
  });

  it('the page ran without errors, CSP violations or requests outside the gateway', () => {
    assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), []);
  });
});
