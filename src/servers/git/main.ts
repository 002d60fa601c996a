// The git server program (dist/servers/git.js): MCP over stdio, started by the supervisor.
import { runStdioServer } from '../kit';
import { GIT_SERVER_NAME, createGitServer, gitOptionsFromEnv } from './server';

runStdioServer({
  name: GIT_SERVER_NAME,
  create: ({ log, shutdown }) => createGitServer({ log, shutdown, env: process.env, options: gitOptionsFromEnv(process.env) }),
});
