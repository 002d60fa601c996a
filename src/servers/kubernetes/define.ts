import { toolDefiner, type ToolHints } from '../kit';
import type { ClusterScope, Clusters } from './clusters';
import type { ResourceInfo } from './discovery';
import type { PortForwards } from './port-forwards';

/** What every Kubernetes tool handler gets as `ctx.services`. */
export interface K8sServices {
  readonly clusters: Clusters;
  readonly portForwards: PortForwards;
}

/** `defineTool` for Kubernetes tools. */
export const defineK8sTool = toolDefiner<K8sServices>();

/** Reads from a cluster: change nothing. */
export const READ_ONLY: ToolHints = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true };

/** Writes that add or update without losing anything (apply of new objects, cordon). */
export const ADDITIVE: ToolHints = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true };

/** Writes that can remove, replace or restart something: previewed, and approved by default. */
export const DESTRUCTIVE: ToolHints = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };

/** "3 pods" / "1 pod". */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/** The context, type and namespace a call names (namespace undefined for cluster-scoped types). */
export async function locate(
  services: K8sServices,
  input: { readonly context?: string | undefined; readonly resource: string; readonly namespace?: string | undefined },
  signal: AbortSignal,
): Promise<{ scope: ClusterScope; type: ResourceInfo; namespace: string | undefined }> {
  const scope = services.clusters.scope(input.context);
  const type = await scope.discovery.resolve(input.resource, signal);
  const namespace = type.namespaced ? services.clusters.namespace(scope, input.namespace) : undefined;
  return { scope, type, namespace };
}
