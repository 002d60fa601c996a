// Bundles every entry point: the extension (cjs, `vscode` external; a shell and its main bundle),
// one file per MCP server under dist/servers/, the headless CLI, the webview UI (browser) and, for
// tests, the fixture servers.
// `--production` minifies and drops the test fixtures.
import * as esbuild from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  sourcemap: true,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const node = { ...common, platform: 'node', format: 'cjs', target: 'node22' };

/** Every folder of src/servers with an index.ts, except the shared kit, is a server program. */
const serverEntries = existsSync('src/servers')
  ? readdirSync('src/servers', { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'kit' && existsSync(join('src/servers', d.name, 'main.ts')))
      .map((d) => ({ in: join('src/servers', d.name, 'main.ts'), out: d.name }))
  : [];

const fixtureEntries = existsSync('test/fixtures/servers')
  ? readdirSync('test/fixtures/servers')
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({ in: join('test/fixtures/servers', f), out: f.replace(/\.ts$/, '') }))
  : [];

/**
 * Inside the main bundle, `vscode` is src/extension/main-vscode.ts (VS Code's API, but contributed
 * commands register with the shell, which registered those ids at activation); that file's own
 * import is VS Code's module.
 */
const mainVscodeFile = resolve('src/extension/main-vscode.ts');
const mainVscode = {
  name: 'main-vscode',
  setup(build) {
    build.onResolve({ filter: /^vscode$/ }, (args) => (args.importer === mainVscodeFile ? { path: 'vscode', external: true } : { path: mainVscodeFile }));
  },
};

const builds = [
  // ssh2's optional native modules (cpu-features, the .node crypto binding) are loaded inside
  // try/catch and fall back to pure JavaScript: they stay external. The extension and the CLI read
  // the device inventory with the network server's own parser (src/core/consent/devices.ts).
  // The extension is two bundles. dist/extension.js (src/extension/shell.ts) is what VS Code loads
  // and activates: `vscode` and the command ids only, a few KB, so that loading it and the activate
  // call stay well under 50 ms. It requires dist/extension-main.js (src/extension/extension.ts: the
  // rest, src/core with zod and the MCP SDK, 3.8 MB) a macrotask after activation.
  { ...node, entryPoints: ['src/extension/shell.ts'], outfile: 'dist/extension.js', external: ['vscode', './extension-main.js'] },
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension-main.js', external: ['cpu-features', '*.node'], plugins: [mainVscode] },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, external: ['cpu-features', '*.node'] },
  { ...node, entryPoints: serverEntries, outdir: 'dist/servers', external: ['cpu-features', '*.node'] },
];
if (existsSync('media/src/main.ts')) {
  builds.push({ ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['media/src/main.ts'], outfile: 'dist/media/main.js' });
}
if (!production && fixtureEntries.length > 0) {
  builds.push({ ...node, entryPoints: fixtureEntries, outdir: 'dist/test/fixtures/servers' });
}

const active = builds.filter((b) => (b.entryPoints ?? []).length > 0);
if (watch) {
  const contexts = await Promise.all(active.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(active.map((b) => esbuild.build(b)));
}
