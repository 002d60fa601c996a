import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createToolServer, type Logger } from '../kit';
import { GitService, type GitServerOptions } from './repo';
import { gitTools } from './tools';

export const GIT_SERVER_NAME = 'mcpcp-git';
export const GIT_SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = [
  'Git tools for the repositories in the workspace roots (never outside them). Start with repo_list or repo_status.',
  'Paths are relative to the repository root. Outputs are compact and paged: a [truncated: ...] note says how to get the rest.',
  'Destructive tools (reset, restore, switch with discardChanges, branch_delete, clean, push, commit, stash_pop, backup_restore) accept dryRun: true to preview; what they discard is kept in backup refs (backup_list, backup_restore).',
].join(' ');

/** Reads the server's options from its environment: MCPCP_WORKSPACE_TRUSTED=0 closes every repository; MCPCP_GIT_ALLOW_FORCE_PUSH=1 allows forced pushes. */
export function gitOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): GitServerOptions {
  return {
    trusted: env['MCPCP_WORKSPACE_TRUSTED'] !== '0',
    allowForcePush: env['MCPCP_GIT_ALLOW_FORCE_PUSH'] === '1',
  };
}

export interface GitServerConfig {
  readonly log: Logger;
  /** The environment git children inherit from (PATH, HOME, SSH agent...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly options: GitServerOptions;
  readonly shutdown?: AbortSignal;
  readonly budgetBytes?: number;
}

/** The git MCP server, ready to connect to a transport. Repositories come from the client's roots. */
export function createGitServer(config: GitServerConfig): McpServer {
  return createToolServer({
    name: GIT_SERVER_NAME,
    version: GIT_SERVER_VERSION,
    instructions: INSTRUCTIONS,
    log: config.log,
    ...(config.shutdown === undefined ? {} : { shutdown: config.shutdown }),
    ...(config.budgetBytes === undefined ? {} : { budgetBytes: config.budgetBytes }),
    services: ({ roots }) => ({ git: new GitService(roots, config.options, config.env) }),
    tools: gitTools,
  });
}
