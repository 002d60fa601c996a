// What the suite asks of the browser that shows the workbench (test/vscode/run.mjs answers):
// screenshots under test-results/ and the text of workbench elements the extension API cannot
// see (the status bar, Developer: Show Running Extensions). Through files in MCPCP_VSCODE_SHOTS;
// without it (another launcher, such as @vscode/test-electron), `canDriveWorkbench()` is false.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { waitFor } = require('./wait');

let seq = 0;

function canDriveWorkbench() {
  return Boolean(process.env.MCPCP_VSCODE_SHOTS);
}

async function request(body, timeout = 30_000) {
  const dir = process.env.MCPCP_VSCODE_SHOTS;
  if (!dir) throw new Error('MCPCP_VSCODE_SHOTS is not set: only test/vscode/run.mjs answers workbench requests');
  const id = `${process.pid}-${Date.now()}-${++seq}`;
  fs.writeFileSync(path.join(dir, `${id}.tmp`), JSON.stringify(body));
  fs.renameSync(path.join(dir, `${id}.tmp`), path.join(dir, `${id}.request.json`));
  const done = path.join(dir, `${id}.done.json`);
  await waitFor(`the workbench to answer ${JSON.stringify(body)}`, () => fs.existsSync(done), { timeout });
  const answer = JSON.parse(fs.readFileSync(done, 'utf8'));
  fs.rmSync(done);
  if (answer.error) throw new Error(`workbench request ${JSON.stringify(body)}: ${answer.error}`);
  return answer;
}

/** A PNG of the whole workbench, or of the element `selector`, as test-results/…/screenshots/<name>.png. */
async function screenshot(name, { selector } = {}) {
  return (await request({ screenshot: name, ...(selector ? { selector } : {}) })).file;
}

/** Resizes the browser window the workbench is shown in (1280x800 by default). */
async function setViewport(width, height) {
  await request({ viewport: { width, height } });
}

/**
 * The innerText of the first workbench element matching the playwright `selector`; with `hover`,
 * after the mouse rested on that element (to read a hover such as an activation reason).
 */
async function workbenchText(selector, { hover } = {}) {
  return (await request({ ...(hover ? { hover } : {}), text: selector })).text;
}

const THEMES = { light: 'Default Light Modern', dark: 'Default Dark Modern' };

/**
 * Runs `shoot(theme)` once in the light and once in the dark theme (workbench.colorTheme in the
 * user settings), then puts the previous theme back.
 */
async function inBothThemes(shoot) {
  const section = vscode.workspace.getConfiguration('workbench');
  const before = section.inspect('colorTheme')?.globalValue;
  try {
    for (const [theme, label] of Object.entries(THEMES)) {
      await section.update('colorTheme', label, vscode.ConfigurationTarget.Global);
      await waitFor(`the ${theme} theme`, () => (theme === 'light' ? vscode.window.activeColorTheme.kind === vscode.ColorThemeKind.Light : vscode.window.activeColorTheme.kind === vscode.ColorThemeKind.Dark), { timeout: 10_000 });
      // Webviews repaint with the new theme's variables a moment after the workbench.
      await new Promise((r) => setTimeout(r, 800));
      await shoot(theme);
    }
  } finally {
    await section.update('colorTheme', before, vscode.ConfigurationTarget.Global);
  }
}

module.exports = { canDriveWorkbench, screenshot, workbenchText, inBothThemes, setViewport };
