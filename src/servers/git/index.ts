export { GitErrorCode } from './client';
export { GIT_SERVER_NAME, GIT_SERVER_VERSION, createGitServer, gitOptionsFromEnv } from './server';
export type { GitServerConfig } from './server';
export type { GitServerOptions } from './repo';
export { gitTools } from './tools';
