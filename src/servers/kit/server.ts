import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { EFFECT_CAPABILITY, type ResourceEffectResolver } from './effect';
import type { Logger } from './log';
import { registerTools } from './register';
import { RootsTracker } from './roots';
import type { ToolDefinition } from './tool';

export interface ToolServerOptions<S> {
  /** Server name sent in the initialize result, e.g. "mcpcp-git". */
  readonly name: string;
  readonly version: string;
  /** Sent to the client at initialize: how to use the tools as a whole, for a model. */
  readonly instructions?: string;
  readonly log: Logger;
  readonly budgetBytes?: number;
  /** Aborted at shutdown; running handlers see it through `ctx.signal`. */
  readonly shutdown?: AbortSignal;
  /**
   * Builds the services handed to every handler. Receives the roots tracker, which is bound to
   * this server's connection (roots are asked of this server's client).
   */
  readonly services: (env: { readonly roots: RootsTracker }) => S;
  readonly tools: readonly ToolDefinition<S>[];
  /** Resolves which object a `resources/read` reaches (the effect contract for resources); advertised as the `mcpcp/effect` experimental capability. */
  readonly resourceEffect?: ResourceEffectResolver<S>;
}

/**
 * A ready-to-connect MCP server exposing `tools`: the composition every server shares. Connect it
 * to a transport (`runStdioServer` does, tests use the in-memory pair).
 */
export function createToolServer<S>(options: ToolServerOptions<S>): McpServer {
  const server = new McpServer(
    { name: options.name, version: options.version },
    {
      capabilities: { tools: {}, ...(options.resourceEffect === undefined ? {} : { experimental: { [EFFECT_CAPABILITY]: { resources: true } } }) },
      ...(options.instructions === undefined ? {} : { instructions: options.instructions }),
    },
  );
  const roots = new RootsTracker(server.server, options.log);
  registerTools(server, options.tools, {
    services: options.services({ roots }),
    log: options.log,
    ...(options.budgetBytes === undefined ? {} : { budgetBytes: options.budgetBytes }),
    ...(options.shutdown === undefined ? {} : { shutdown: options.shutdown }),
    ...(options.resourceEffect === undefined ? {} : { resourceEffect: options.resourceEffect }),
  });
  return server;
}
