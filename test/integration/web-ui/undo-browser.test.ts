// Undo from /ui in a real browser (Debian chromium through playwright-core): the real control
// plane with the Kubernetes server against the API emulator; an agent scales a Deployment, a human
// opens Undo on that call in the dashboard's recent calls, reads the preview (inverse, drift check),
// submits it, approves the undo's own card, and the replicas are back. The approvals history offers
// Undo too.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureApproverCredential } from '../../../src/core/approvals';
import { createWebUiRoute, type WebUiRoute } from '../../../src/core/web-ui';
import { startEmulator, writeKubeconfig } from '../../fixtures/k8s-emulator/index';
import { REPO_ROOT } from '../../helpers/fixture-plane';
import { startUndoPlane, type UndoPlane } from '../undo/harness';

const SCREENSHOTS = join(REPO_ROOT, 'test-results/screenshots');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('undo in the web UI (real browser)', () => {
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  let up: UndoPlane;
  let route: WebUiRoute;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    emulator = await startEmulator();
    up = await startUndoPlane({ env: { KUBECONFIG: writeKubeconfig([{ name: 'emu', emulator, namespace: 'shop' }]) }, config: (c) => ({ ...c, servers: { git: { enabled: false } } }) });
    const ensured = await ensureApproverCredential(up.stateDir);
    if (!ensured.created) throw new Error(`${up.stateDir} already had an approver credential`);
    const credential = ensured.credential;
    route = createWebUiRoute({ backend: up.plane.oversight, dataDir: up.stateDir, assetsDir: join(REPO_ROOT, 'dist/media') });
    up.plane.gateway.addPublicRoutes([route.handle]);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1300, height: 1000 } });
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`http://127.0.0.1:${up.plane.gateway.listeningPort}/ui`);
    await page.getByLabel('Approver credential').fill(credential);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.connection', { hasText: 'Live' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    route?.dispose();
    await up?.stop();
    await emulator?.close();
  });

  it('Undo on a recent call: preview with the drift check, submit, approve the undo, restored', async () => {
    const deployments = emulator.cluster.findType('apps', 'v1', 'deployments')!;
    const replicas = (): number => (emulator.cluster.get(deployments, 'shop', 'web') as { spec: { replicas: number } }).spec.replicas;
    const client = await up.client('kubernetes');
    const scaling = client.callTool({ name: 'scale', arguments: { name: 'web', replicas: 6 } });
    await page.getByRole('button', { name: 'Approve scale on kubernetes' }).click();
    await scaling;
    assert.equal(replicas(), 6);

    // In the dashboard's recent calls (the approvals history has one too, checked below).
    await page.locator('table.calls button[data-undo]', { hasText: 'Undo' }).first().click();
    const panel = page.locator('section.undo-panel');
    await panel.locator('pre', { hasText: 'Drift: none' }).waitFor();
    assert.match(await panel.locator('pre').innerText(), /Inverse: scale .*"replicas":3/);
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-undo-preview.png'), fullPage: true });
    await panel.getByRole('button', { name: 'Submit undo for approval' }).click();
    await panel.getByRole('status').filter({ hasText: 'waits for an approval' }).waitFor();
    assert.equal(replicas(), 6, 'nothing ran before the approval');
    // The undo is a destructive call like any other: its own card, approved by a human.
    await page.getByRole('button', { name: 'Approve scale on kubernetes' }).click();
    for (let i = 0; i < 200 && replicas() !== 3; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(replicas(), 3);
    await page.locator('table.calls td.detail', { hasText: 'undo of' }).first().waitFor();
    // The approvals history offers Undo on the approved calls as well.
    assert.ok((await page.locator('.history-slot button[data-undo]').count()) >= 1);
    assert.deepEqual(problems, []);
  });
});
