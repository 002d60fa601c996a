// A person signs in to /ui in a real browser (Debian chromium through playwright-core) through the
// local OIDC issuer's sign-in page (authorization code + PKCE), sees an operator's call waiting,
// approves it, and the fixture tool runs. The session cookie is HttpOnly and SameSite=Strict.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { waitFor } from '../../helpers/fixture-plane';
import { connectAs, startTeamPlane, type TeamPlane } from '../../helpers/team-plane';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('team mode: signing in to /ui in a real browser', () => {
  let t: TeamPlane;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    t = await startTeamPlane();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    context.setDefaultTimeout(20_000);
    // Only the gateway and the issuer, both on loopback.
    await context.route(/^(?!http:\/\/127\.0\.0\.1:\d+\/)/, (route) => {
      problems.push(`request outside loopback: ${route.request().url()}`);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('signs in through the issuer, lands on /ui with an HttpOnly SameSite=Strict session, and approves a waiting call', async () => {
    await page.goto(`${t.base}/ui`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    // The issuer's page (another origin): PKCE S256 was asked for, or it would show an error.
    await page.getByRole('button', { name: 'Sign in as Bob' }).click();
    await page.getByRole('heading', { name: 'MCP Control Plane', level: 1 }).waitFor();
    await page.locator('.connection', { hasText: 'Live' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui');

    const cookies = await context.cookies(`${t.base}/ui`);
    const session = cookies.find((c) => c.name === 'mcpcp_ui');
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/ui');
    assert.equal(cookies.some((c) => c.name === 'mcpcp_signin'), false, 'the sign-in cookie is gone once used');

    // Alice (operator) asks for a destructive call; Bob approves it in the page.
    const marker = join(t.stateDir, 'browser-marker');
    const alice = await connectAs(t.mcpUrl(), await t.issuer.accessToken({ sub: 'u-alice', email: 'alice@example.com', roles: ['operator'] }));
    const call = alice.callTool({ name: 'write_marker', arguments: { path: marker, text: 'from the browser' } }, undefined, { timeout: 60_000 });
    await page.goto(`${t.base}/ui?view=approvals`);
    const approve = page.getByRole('button', { name: 'Approve write_marker on fx' });
    await approve.waitFor();
    assert.equal(existsSync(marker), false);
    await approve.click();
    const result = await call;
    assert.equal(result.isError, undefined, JSON.stringify(result.content));
    assert.equal(readFileSync(marker, 'utf8'), 'from the browser\n');
    await alice.close();
    // The history names the person who decided.
    await waitFor(async () => (await page.locator('body').innerText()).includes('bob@example.com'), 10_000, 'the decider in the history');
    assert.deepEqual(problems, []);
  });
});
