// `npm run build:runtime`: the folder the service runs from (the container image copies it as is).
// Only what `mcpcp serve` needs: the CLI/engine bundle, the built-in server bundles beside it in
// servers/, the web UI assets in media/, and a minimal package.json. Everything is bundled; the
// only modules left out are ssh2's optional native ones (cpu-features, the .node crypto binding),
// which ssh2 loads inside try/catch and replaces with pure JavaScript. So: no node_modules.
//
// Usage: node scripts/build-runtime.mjs [--out DIR]   (default dist-runtime/)
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const outFlag = process.argv.indexOf('--out');
const out = resolve(outFlag >= 0 ? process.argv[outFlag + 1] : 'dist-runtime');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The same options as esbuild.config.mjs --production (minified, no fixtures, no extension).
const node = { bundle: true, minify: true, sourcemap: false, legalComments: 'none', logLevel: 'warning', platform: 'node', format: 'cjs', target: 'node22', external: ['cpu-features', '*.node'] };
const servers = readdirSync('src/servers', { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'kit' && existsSync(join('src/servers', d.name, 'main.ts')))
  .map((d) => ({ in: join('src/servers', d.name, 'main.ts'), out: d.name }));

await Promise.all([
  esbuild.build({ ...node, entryPoints: ['src/cli/main.ts'], outfile: join(out, 'cli.js'), banner: { js: '#!/usr/bin/env node' } }),
  esbuild.build({ ...node, entryPoints: servers, outdir: join(out, 'servers') }),
  esbuild.build({ bundle: true, minify: true, sourcemap: false, legalComments: 'none', logLevel: 'warning', platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['media/src/main.ts'], outfile: join(out, 'media', 'main.js') }),
]);

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const runtime = {
  name: 'mcp-control-plane-runtime',
  version: pkg.version,
  description: 'MCP Control Plane service (mcpcp serve): bundled, no dependencies to install.',
  license: pkg.license,
  private: true,
  type: 'commonjs',
  bin: { mcpcp: 'cli.js' },
  engines: { node: pkg.engines.node },
};
writeFileSync(join(out, 'package.json'), `${JSON.stringify(runtime, null, 2)}\n`);
if (existsSync('LICENSE')) writeFileSync(join(out, 'LICENSE'), readFileSync('LICENSE'));

const files = [];
const walk = (dir, prefix = '') => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}/`);
    else files.push(`${prefix}${e.name}`);
  }
};
walk(out);
process.stdout.write(`runtime in ${out}: ${files.sort().join(', ')}\n`);
