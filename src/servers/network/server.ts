import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ControlPlaneError } from '../../core/errors';
import { createToolServer, type Logger, type ToolDefinition, type ToolReply } from '../kit';
import type { NetworkServices } from './define';
import { NetworkService, type NetworkOptions } from './services';
import { networkTools } from './tools';

export const NETWORK_SERVER_NAME = 'mcpcp-network';
export const NETWORK_SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = [
  'Network devices (Cisco IOS, IOS-XE, NX-OS, Juniper Junos, Linux) from the workspace inventory, over SSH. Start with devices_list.',
  'device_command runs one read-only command (abbreviations resolved, configuration refused); device_command_many runs it on several devices or groups at once; parse: true returns rows.',
  'Configuration: config_get reads it (secrets removed), config_diff shows what lines would change, config_apply changes it safely (dryRun: true shows the exact commands and the diff; Junos commit confirmed, IOS revert timer and backup, NX-OS checkpoint; rolled back on a device error), config_rollback undoes, config_save persists.',
].join(' ');

export interface NetworkServerConfig {
  readonly log: Logger;
  readonly options: NetworkOptions;
  readonly shutdown?: AbortSignal;
  readonly budgetBytes?: number;
}

/** Replaces every occurrence of the given secret values (longest first; shorter than 6 characters they would mask ordinary words). */
export function scrubber(values: readonly string[]): (text: string) => string {
  const list = [...new Set(values.filter((v) => v.length >= 6))].sort((a, b) => b.length - a.length);
  return (text) => list.reduce((t, v) => t.split(v).join('<secret>'), text);
}

function scrubValue(value: unknown, scrub: (t: string) => string): unknown {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, scrub));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, scrub)]));
  return value;
}

/**
 * Every tool with the secret values the server holds (MCPCP_SECRET_*) removed from its replies and
 * errors: a device may echo a password the sanitizing patterns do not know (a description, a
 * banner). The kit's redaction covers secret shapes; this covers the known values.
 */
function withScrubbing(tools: readonly ToolDefinition<NetworkServices>[], scrub: (t: string) => string): ToolDefinition<NetworkServices>[] {
  return tools.map((tool) => ({
    ...tool,
    handler: async (input: never, ctx) => {
      try {
        const reply: ToolReply = await tool.handler(input, ctx);
        // The undo handle goes to the gateway only (encrypted there, never to the client): the
        // prior configuration must keep its secrets to be restored.
        return { text: scrub(reply.text), ...(reply.structured === undefined ? {} : { structured: scrubValue(reply.structured, scrub) as Record<string, unknown> }), ...(reply.undo === undefined ? {} : { undo: reply.undo }), ...(reply.irreversible === undefined ? {} : { irreversible: reply.irreversible.map(scrub) }) };
      } catch (err) {
        if (err instanceof ControlPlaneError) {
          throw new ControlPlaneError(err.code, scrub(err.message), { cause: err, details: scrubValue(err.details, scrub) as Record<string, unknown> });
        }
        if (err instanceof Error) err.message = scrub(err.message);
        throw err;
      }
    },
  }));
}

/** The network MCP server, ready to connect to a transport; its sessions close when `shutdown` aborts. */
export function createNetworkServer(config: NetworkServerConfig): McpServer {
  const network = new NetworkService(config.options, config.log);
  config.shutdown?.addEventListener('abort', () => network.close(), { once: true });
  const server = createToolServer({
    name: NETWORK_SERVER_NAME,
    version: NETWORK_SERVER_VERSION,
    instructions: INSTRUCTIONS,
    log: config.log,
    ...(config.shutdown === undefined ? {} : { shutdown: config.shutdown }),
    ...(config.budgetBytes === undefined ? {} : { budgetBytes: config.budgetBytes }),
    services: () => ({ network }),
    tools: withScrubbing(
      networkTools,
      scrubber(Object.entries(config.options.env).flatMap(([k, v]) => (k.startsWith('MCPCP_SECRET_') && v !== undefined ? [v] : []))),
    ),
  });
  const close = server.close.bind(server);
  server.close = async () => {
    network.close();
    await close();
  };
  return server;
}
