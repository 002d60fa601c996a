// The network server program (dist/servers/network.js): MCP over stdio, started by the supervisor.
// Named program.ts, not main.ts, until the servers build marks ssh2's optional native modules
// external (see docs/network.md, "Build"): esbuild picks up every src/servers/*/main.ts.
import { runStdioServer } from '../kit';
import { NETWORK_SERVER_NAME, createNetworkServer } from './server';
import { networkOptionsFromEnv } from './services';

runStdioServer({
  name: NETWORK_SERVER_NAME,
  create: ({ log, shutdown }) => createNetworkServer({ log, shutdown, options: networkOptionsFromEnv(process.env, process.cwd()) }),
});
