import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { createToolServer, type Logger } from '../kit';
import { KubeconfigLoader } from './client';
import { Clusters } from './clusters';
import type { K8sServerOptions } from './config';
import type { K8sServices } from './define';
import { Impersonation } from './impersonation';
import { PortForwards } from './port-forwards';
import { resourceReadEffect } from './effects';
import { registerK8sResources } from './resources';
import { k8sTools } from './tools';

export const K8S_SERVER_NAME = 'mcpcp-kubernetes';
export const K8S_SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = [
  'Kubernetes tools for the clusters of the kubeconfig, without kubectl. Every tool takes an optional `context` (contexts_list shows them); the kubeconfig is never changed, so several clusters can be used side by side.',
  'Start with resources_list (compact tables with kubectl\'s columns) and resource_describe (an object with its conditions, related objects and recent events). Outputs stay within a token budget; a note with a `continue` token says how to get more.',
  'Writes use server-side apply with field manager mcp-control-plane. Destructive tools accept dryRun: true to preview (a server-side dry run shown as a diff, or the exact list of what would go). Secret values are [REDACTED] unless reveal: true.',
].join(' ');

export interface K8sServerConfig {
  readonly log: Logger;
  /** Where KUBECONFIG, HOME and the in-cluster variables are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly options: K8sServerOptions;
  readonly shutdown?: AbortSignal;
  readonly budgetBytes?: number;
  /** Service account directory (tests); default /var/run/secrets/kubernetes.io/serviceaccount. */
  readonly serviceAccountDir?: string;
}

/**
 * The Kubernetes MCP server, ready to connect to a transport: the tools (read-only ones only when
 * options.readOnly), the `k8s://` resources with watch-driven subscriptions, and the per-cluster
 * reachability resource `k8s://targets`. Port-forwards and watches end when the server closes.
 */
export function createKubernetesServer(config: K8sServerConfig): McpServer {
  const impersonation = new Impersonation(config.options.impersonate === true);
  const clusters = new Clusters(new KubeconfigLoader(config.env, config.serviceAccountDir), config.options, impersonation);
  const services: K8sServices = { clusters, portForwards: new PortForwards(config.log) };
  const tools = config.options.readOnly ? k8sTools.filter((t) => t.annotations.readOnlyHint) : k8sTools;
  const server = createToolServer({
    name: K8S_SERVER_NAME,
    version: K8S_SERVER_VERSION,
    instructions: INSTRUCTIONS,
    log: config.log,
    ...(config.shutdown === undefined ? {} : { shutdown: config.shutdown }),
    ...(config.budgetBytes === undefined ? {} : { budgetBytes: config.budgetBytes }),
    services: () => services,
    tools,
    resourceEffect: (uri, ctx) => resourceReadEffect(ctx, uri),
  });
  const resources = registerK8sResources(server, services, config.log);
  let closed = false;
  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    resources.close();
    void services.portForwards.closeAll();
    clusters.close();
  };
  const previous = server.server.onclose;
  server.server.onclose = () => {
    cleanup();
    previous?.();
  };
  config.shutdown?.addEventListener('abort', cleanup, { once: true });
  if (impersonation.enabled) {
    // Each request is handled as the principal the gateway named in its _meta: wrap the transport
    // once connected (the SDK installs its own onmessage in connect).
    const connect = server.connect.bind(server);
    server.connect = async (transport: Transport): Promise<void> => {
      await connect(transport);
      impersonation.scope(transport);
    };
  }
  return server;
}
