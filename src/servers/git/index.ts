export { GitErrorCode } from './client';
export { GIT_SERVER_NAME, GIT_SERVER_VERSION, createGitServer, gitOptionsFromEnv, parseHooksAllow } from './server';
export type { GitServerConfig } from './server';
export type { GitServerOptions, HooksOptIn } from './repo';
export { gitTools } from './tools';
