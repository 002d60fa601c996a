// The Test Policy view at /ui in a real browser (Debian chromium through playwright-core): real
// calls recorded through the gateway, a draft picked with the file input, the report rendered, an
// example opened to its audit records.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT, connectClient, waitFor } from '../../helpers/fixture-plane';
import { startWebUiPlane, type WebUiPlane } from '../web-ui/web-ui-plane';

const SCREENSHOTS = join(REPO_ROOT, 'test-results/screenshots');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('Test Policy view at /ui', () => {
  let ui: WebUiPlane;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ui = await startWebUiPlane();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    context.setDefaultTimeout(20_000);
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

  it('a picked draft is replayed against the recorded calls; the loosening and its example show', async () => {
    // History: a read-only call (allowed) and a destructive one (held for approval, rejected).
    const client = await connectClient(ui.plane, 'fx');
    await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    const held = client.callTool({ name: 'delete_thing', arguments: { name: 'staging-db' } });
    const oversight = ui.plane.oversight!;
    await waitFor(() => oversight.store.list().some((a) => a.tool === 'delete_thing'), 10_000, 'the approval');
    const a = oversight.store.list().find((x) => x.tool === 'delete_thing')!;
    await oversight.decide({ approvalId: a.id, digest: a.digest, approve: false, reason: 'not today' }, { kind: 'vscode-ui' });
    await held;
    await client.close();

    await page.goto(`${ui.base}/ui`);
    await page.getByLabel('Approver credential').fill(ui.credential);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Test policy' }).click();
    await page.getByRole('heading', { name: 'Test Policy', level: 1 }).waitFor();
    await page.getByLabel('Draft policy', { exact: true }).setInputFiles({ name: 'draft.yaml', mimeType: 'text/yaml', buffer: Buffer.from('rules:\n  - {id: deletes-ok, tool: delete_thing, decision: allow}\n') });
    const verdict = page.locator('p.verdict');
    await verdict.waitFor();
    assert.equal(await verdict.innerText(), 'The draft LOOSENS 1 recorded call.');
    const group = page.locator('section.whatif-group.loosened');
    assert.match(await group.locator('h3').innerText(), /Loosened: approve → allow by rule "deletes-ok" \(#1 of the config policy\) \(1 call\)/);
    assert.match(await group.locator('tbody tr').first().innerText(), /fx\/delete_thing\s+\{"name":"staging-db"\}/);
    await group.getByRole('button', { name: 'Open' }).click();
    const records = group.locator('.example-records li');
    await records.first().waitFor();
    const texts = await records.allInnerTexts();
    assert.ok(texts.some((t) => /call\.requested/.test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => /policy\.decided approve/.test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => /approval\.decided rejected/.test(t)), texts.join('\n'));
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-policy-test.png'), fullPage: true });

    // A tightening only: nothing loosens.
    await page.getByLabel('Draft policy', { exact: true }).setInputFiles({ name: 'tight.yaml', mimeType: 'text/yaml', buffer: Buffer.from('rules:\n  - {tool: echo, decision: approve}\n') });
    await page.locator('p.verdict', { hasText: 'The draft loosens nothing that was recorded.' }).waitFor();
    assert.match(await page.locator('section.whatif-group.tightened h3').innerText(), /Tightened: allow → approve/);
    // An invalid draft: the error says where.
    await page.getByLabel('Draft policy', { exact: true }).setInputFiles({ name: 'bad.yaml', mimeType: 'text/yaml', buffer: Buffer.from('rules:\n  - {tool: echo, decision: maybe}\n') });
    await page.locator('.policy-test-result p.error').waitFor();
    assert.match(await page.locator('.policy-test-result p.error').innerText(), /bad\.yaml.*decision/);
    assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  });
});
