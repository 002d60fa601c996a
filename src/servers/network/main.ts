// The network server program (dist/servers/network.js): MCP over stdio, started by the supervisor.
import { runStdioServer } from '../kit';
import { NETWORK_SERVER_NAME, createNetworkServer } from './server';
import { networkOptionsFromEnv } from './services';

runStdioServer({
  name: NETWORK_SERVER_NAME,
  create: ({ log, shutdown }) => createNetworkServer({ log, shutdown, options: networkOptionsFromEnv(process.env, process.cwd()) }),
});
