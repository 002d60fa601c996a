// Builds dist/servers/network.js the way the servers build does, plus the options ssh2 needs
// (its optional native modules stay external: cpu-features and the .node crypto binding are
// loaded inside try/catch and fall back to pure JavaScript). Until esbuild.config.mjs carries those
// options the entry is src/servers/network/program.ts; afterwards main.ts, built by `npm run build`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(__dirname, '../../..');
export const NETWORK_SERVER_JS = join(ROOT, 'dist/servers/network.js');

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
}

/** The built network server, rebuilt when a source file is newer. */
export async function builtNetworkServer(): Promise<string> {
  const src = join(ROOT, 'src/servers/network');
  if (existsSync(NETWORK_SERVER_JS) && statSync(NETWORK_SERVER_JS).mtimeMs >= Math.max(newest(src), newest(join(ROOT, 'src/servers/kit')))) return NETWORK_SERVER_JS;
  const entry = existsSync(join(src, 'main.ts')) ? join(src, 'main.ts') : join(src, 'program.ts');
  await build({
    entryPoints: [entry],
    outfile: NETWORK_SERVER_JS,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    sourcemap: true,
    logLevel: 'warning',
    legalComments: 'none',
    external: ['cpu-features', '*.node'],
  });
  return NETWORK_SERVER_JS;
}
