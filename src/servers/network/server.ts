import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createToolServer, type Logger } from '../kit';
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
    tools: networkTools,
  });
  const close = server.close.bind(server);
  server.close = async () => {
    network.close();
    await close();
  };
  return server;
}
