// The built network server (dist/servers/network.js, from `npm run build`, which keeps ssh2's
// optional native modules external; see docs/network.md, "Build").
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
export const NETWORK_SERVER_JS = join(ROOT, 'dist/servers/network.js');

/** The built network server; fails clearly when `npm run build` has not run. */
export async function builtNetworkServer(): Promise<string> {
  if (!existsSync(NETWORK_SERVER_JS)) throw new Error(`${NETWORK_SERVER_JS} is missing: run \`npm run build\` first`);
  return NETWORK_SERVER_JS;
}
