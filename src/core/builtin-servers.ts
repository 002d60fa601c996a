import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ControlPlaneError } from './errors';
import { secretEnvName, type SecretStore } from './secrets/secret-store';

/** What a built-in server's defaults and environment may depend on. */
export interface BuiltinHost {
  env: NodeJS.ProcessEnv;
  /** The roots as folders (workspace folders; headless: configured roots). */
  rootPaths: readonly string[];
  /** The host's own state folder (global storage; headless: the data directory). */
  stateDir: string;
  secrets: SecretStore;
  /** Sees every secret value handed to a child (for redaction). */
  onSecret?: (value: string) => void;
}

/** A server shipped with the control plane: its own esbuild entry under dist/servers/. */
export interface BuiltinServerDefinition {
  name: string;
  /** File name in the servers folder (dist/servers). */
  entry: string;
  description: string;
  /** Host variables passed through besides the defaults. */
  passEnv: readonly string[];
  /** Whether it runs when the configuration does not say. */
  enabledByDefault(host: BuiltinHost): boolean;
  /** Environment the control plane computes at each start (paths, referenced secrets). */
  env?(host: BuiltinHost): Promise<Record<string, string>>;
  /** Driven by a workspace file (the network inventory): never started in an untrusted workspace. */
  workspaceScoped?: boolean;
}

export const BUILTIN_SERVERS: readonly BuiltinServerDefinition[] = [
  {
    name: 'git',
    entry: 'git.js',
    description: 'Git repositories in the workspace (simple-git), confined to the roots.',
    passEnv: ['SSH_AUTH_SOCK', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL'],
    enabledByDefault: () => true,
  },
  {
    name: 'kubernetes',
    entry: 'kubernetes.js',
    description: 'Kubernetes clusters from the kubeconfig (or in-cluster), through @kubernetes/client-node.',
    passEnv: [
      'KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT',
      'MCPCP_K8S_CONTEXTS', 'MCPCP_K8S_NAMESPACES', 'MCPCP_K8S_READ_ONLY', 'MCPCP_LOG_LEVEL',
      // What kubeconfig exec plugins read.
      'AWS_PROFILE', 'AWS_REGION', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'CLOUDSDK_CONFIG',
      'GOOGLE_APPLICATION_CREDENTIALS', 'AZURE_CONFIG_DIR',
    ],
    enabledByDefault: ({ env }) => kubeconfigAvailable(env),
  },
  {
    name: 'network',
    entry: 'network.js',
    description: 'Cisco IOS/IOS-XE/NX-OS, Junos and Linux devices over SSH (ssh2), from the workspace inventory.',
    passEnv: ['SSH_AUTH_SOCK', 'MCPCP_NETWORK_INVENTORY', 'MCPCP_NTC_TEMPLATES_DIR', 'MCPCP_NETWORK_FANOUT', 'MCPCP_LOG_LEVEL'],
    // The inventory names hosts to send credentials to: a workspace that is not trusted gets no say.
    workspaceScoped: true,
    enabledByDefault: (host) => networkInventory(host) !== undefined,
    env: networkEnv,
  },
];

/** The workspace inventory file: MCPCP_NETWORK_INVENTORY, else the first root's `.mcpcp/inventory.yaml`. */
export function networkInventory(host: Pick<BuiltinHost, 'env' | 'rootPaths'>): string | undefined {
  const configured = host.env['MCPCP_NETWORK_INVENTORY'];
  if (configured) return existsSync(configured) ? configured : undefined;
  return host.rootPaths.map((r) => join(r, '.mcpcp', 'inventory.yaml')).find((f) => existsSync(f));
}

/**
 * The network server's environment: where the inventory, templates and known hosts are, and the
 * value of each secret the inventory references (`${secret:name}` → MCPCP_SECRET_NAME). A secret
 * that is not set is left out: one device's missing password must not stop the others.
 */
async function networkEnv(host: BuiltinHost): Promise<Record<string, string>> {
  const inventory = networkInventory(host);
  if (!inventory) throw new ControlPlaneError('CONFIG_INVALID', 'no network inventory: create .mcpcp/inventory.yaml in the workspace or set MCPCP_NETWORK_INVENTORY');
  const env: Record<string, string> = {
    MCPCP_NETWORK_INVENTORY: inventory,
    MCPCP_TEMPLATES_DIR: join(dirname(inventory), 'templates'),
    MCPCP_KNOWN_HOSTS: join(host.stateDir, 'known_hosts'),
  };
  const text = await readFile(inventory, 'utf8');
  for (const name of new Set([...text.matchAll(/\$\{secret:([A-Za-z0-9][A-Za-z0-9._-]{0,127})\}/g)].map((m) => m[1]!))) {
    const value = await host.secrets.get(name);
    // Not set: not passed. The server fails only the devices that need it, naming device and secret.
    if (value === undefined) continue;
    host.onSecret?.(value);
    env[secretEnvName(name)] = value;
  }
  return env;
}

/** A kubeconfig is found as kubectl finds one (KUBECONFIG, ~/.kube/config), or we run in a pod. */
export function kubeconfigAvailable(env: NodeJS.ProcessEnv): boolean {
  if ((env['KUBECONFIG'] ?? '').trim() !== '') return true;
  const home = env['HOME'] ?? env['USERPROFILE'] ?? homedir();
  if (existsSync(join(home, '.kube', 'config'))) return true;
  return env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

export function findBuiltin(name: string): BuiltinServerDefinition | undefined {
  return BUILTIN_SERVERS.find((b) => b.name === name);
}
