// The two extension bundles as `npm run build` writes them (unminified: esbuild names each module it
// inlined in a `// <path>` comment). VS Code's activation figure counts loading dist/extension.js,
// so the shell must stay a few KB: vscode, the command ids and nothing of src/core or node_modules.
// Inside dist/extension-main.js every `vscode` import must be src/extension/main-vscode.ts, which
// hands contributed commands to the shell (a direct registration throws "already exists" in VS Code).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';

const root = join(__dirname, '..', '..', '..');

/** The source files esbuild inlined, from its `// path` comments before each module. */
function inlinedModules(bundle: string): string[] {
  return [...bundle.matchAll(/^\/\/ ((?:src|node_modules)\/\S+)$/gm)].map((m) => m[1]!);
}

/** The module names the bundle requires at run time. */
function requires(bundle: string): string[] {
  return [...new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!))].sort();
}

describe('the extension bundles', () => {
  let shell = '';
  let main = '';
  before(() => {
    for (const f of ['dist/extension.js', 'dist/extension-main.js']) assert.ok(existsSync(join(root, f)), `run \`npm run build\` first: ${f} is missing`);
    shell = readFileSync(join(root, 'dist/extension.js'), 'utf8');
    main = readFileSync(join(root, 'dist/extension-main.js'), 'utf8');
    assert.ok(inlinedModules(main).length > 100, 'dist/extension-main.js has no module comments: a minified build? run `npm run build`');
  });

  it('the shell VS Code loads holds only itself and the command ids, and requires only vscode and the main bundle', () => {
    assert.deepEqual([...new Set(inlinedModules(shell))].sort(), ['src/extension/adopt/commands.ts', 'src/extension/commands.ts', 'src/extension/shell.ts', 'src/extension/team/commands.ts']);
    assert.deepEqual(requires(shell), ['./extension-main.js', 'vscode']);
    const size = statSync(join(root, 'dist/extension.js')).size;
    assert.ok(size < 100 * 1024, `dist/extension.js is ${size} bytes`);
  });

  it('the main bundle holds the engine and reaches VS Code\'s API only through main-vscode.ts', () => {
    const modules = inlinedModules(main);
    assert.ok(modules.includes('src/extension/extension.ts') && modules.includes('src/core/control-plane.ts'), 'the main bundle lacks the extension or the control plane');
    assert.ok(!modules.includes('src/extension/shell.ts'), 'the main bundle carries the shell (a second copy of its module state)');
    // Every require("vscode") of the bundle sits in the main-vscode.ts module.
    const sections = main.split(/^(?=\/\/ (?:src|node_modules)\/\S+$)/m);
    const requiring = sections.filter((s) => s.includes('require("vscode")')).map((s) => /^\/\/ (\S+)/.exec(s)?.[1]);
    assert.deepEqual([...new Set(requiring)], ['src/extension/main-vscode.ts']);
  });
});
