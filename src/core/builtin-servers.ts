import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A server shipped with the control plane: its own esbuild entry under dist/servers/. */
export interface BuiltinServerDefinition {
  name: string;
  /** File name in the servers folder (dist/servers). */
  entry: string;
  description: string;
  /** Host variables passed through besides the defaults. */
  passEnv: readonly string[];
  /** Whether it runs when the configuration does not say. */
  enabledByDefault(host: { env: NodeJS.ProcessEnv }): boolean;
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
];

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
