import { isAbsolute } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { createToolServer, type Logger } from '../kit';
import { GIT_HOOKS, GitService, type GitServerOptions, type HooksOptIn } from './repo';
import { gitTools } from './tools';

export const GIT_SERVER_NAME = 'mcpcp-git';
export const GIT_SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = [
  'Git tools for the repositories in the workspace roots (never outside them). Start with repo_list or repo_status.',
  'Paths are relative to the repository root. Outputs are compact and paged: a [truncated: ...] note says how to get the rest.',
  'Destructive tools (reset, restore, switch with discardChanges, branch_delete, clean, push, commit, stash_pop, backup_restore) accept dryRun: true to preview; what they discard is kept in backup refs (backup_list, backup_restore).',
].join(' ');

/**
 * Reads the server's options from its environment: MCPCP_WORKSPACE_TRUSTED=0 closes every
 * repository; MCPCP_GIT_ALLOW_FORCE_PUSH=1 allows forced pushes; MCPCP_GIT_HOOKS_ALLOW is the
 * hooks opt-in the control plane passes from the consent store (see parseHooksAllow).
 */
export function gitOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): GitServerOptions {
  return {
    trusted: env['MCPCP_WORKSPACE_TRUSTED'] !== '0',
    allowForcePush: env['MCPCP_GIT_ALLOW_FORCE_PUSH'] === '1',
    hooksAllow: parseHooksAllow(env['MCPCP_GIT_HOOKS_ALLOW']),
  };
}

const HooksAllowSchema = z.array(
  z.object({
    repo: z.string().refine((p) => isAbsolute(p), 'must be an absolute path'),
    hooks: z.array(z.string().refine((h) => GIT_HOOKS.has(h), 'must be a git hook name')),
  }),
);

/**
 * `[{"repo":"<real path of the work tree>","hooks":["pre-commit","commit-msg"]}]`: the hooks a
 * human allowed per repository. Absent, empty or malformed: no hook runs anywhere (a malformed
 * value never widens what runs).
 */
export function parseHooksAllow(value: string | undefined): HooksOptIn[] {
  if (value === undefined || value.trim() === '') return [];
  try {
    const parsed = HooksAllowSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data.map((o) => ({ repo: o.repo, hooks: [...new Set(o.hooks)] })) : [];
  } catch {
    return [];
  }
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
  let service: GitService | undefined;
  const server = createToolServer({
    name: GIT_SERVER_NAME,
    version: GIT_SERVER_VERSION,
    instructions: INSTRUCTIONS,
    log: config.log,
    ...(config.shutdown === undefined ? {} : { shutdown: config.shutdown }),
    ...(config.budgetBytes === undefined ? {} : { budgetBytes: config.budgetBytes }),
    services: ({ roots }) => {
      service = new GitService(roots, config.options, config.env);
      return { git: service };
    },
    tools: gitTools,
  });
  // The server's own hooks directory lives in the temp folder: remove it when the server stops.
  const dispose = () => service?.dispose();
  config.shutdown?.addEventListener('abort', dispose, { once: true });
  const previous = server.server.onclose;
  server.server.onclose = () => {
    dispose();
    previous?.();
  };
  return server;
}
