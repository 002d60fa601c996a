// Effects of the Kubernetes tools that change something (the kit's effect contract): which cluster,
// context, namespace, kind and objects a call touches, resolved with the same context, namespace and
// discovery rules the tools use, through reads only (discovery, a GET for a label selector).
import type { EffectContext, ToolEffect } from '../kit';
import { locate, type K8sServices } from './define';
import { collectionPath } from './discovery';
import { list, nameOf, str } from './objects';
import { parseManifest } from './tools/resource-apply';

interface ObjectInput {
  readonly context?: string | undefined;
  readonly resource?: string | undefined;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly max?: number | undefined;
}

/**
 * `{type: kubernetes, cluster, context, namespace?, kind, name}` for one object named by
 * `resource` (any spelling discovery knows: deploy, deployments, Deployment.apps…) and `name`; with
 * a `labelSelector`, `name` lists the objects it matches now (sorted, at most `max` + 1).
 */
export async function objectEffect(ctx: EffectContext<K8sServices>, input: ObjectInput, defaultResource = 'deployments'): Promise<ToolEffect> {
  const { scope, type, namespace } = await locate(ctx.services, { context: input.context, resource: input.resource ?? defaultResource, namespace: input.namespace }, ctx.signal);
  let name: string | string[] = input.name ?? '';
  if (input.name === undefined && input.labelSelector !== undefined) {
    const body = await scope.client.json({ path: collectionPath(type, namespace), query: { labelSelector: input.labelSelector, limit: (input.max ?? 10) + 1 }, signal: ctx.signal });
    name = list(body, 'items').map(nameOf).sort();
  }
  return { type: 'kubernetes', cluster: scope.info.cluster, context: scope.info.name, ...(namespace !== undefined ? { namespace } : {}), kind: type.kind, name };
}

/** resource_apply: every object of the manifest, its kind and namespace resolved as the apply will. */
export async function manifestEffect(ctx: EffectContext<K8sServices>, input: { readonly context?: string | undefined; readonly manifest: string; readonly namespace?: string | undefined }): Promise<ToolEffect> {
  const { clusters } = ctx.services;
  const scope = clusters.scope(input.context);
  const kinds = new Set<string>();
  const namespaces = new Set<string>();
  const names: string[] = [];
  for (const obj of parseManifest(input.manifest)) {
    const type = await scope.discovery.forKind(str(obj, 'apiVersion') ?? '', str(obj, 'kind') ?? '', ctx.signal);
    kinds.add(type.kind);
    if (type.namespaced) namespaces.add(clusters.namespace(scope, str(obj, 'metadata.namespace') ?? input.namespace));
    names.push(nameOf(obj));
  }
  return {
    type: 'kubernetes',
    cluster: scope.info.cluster,
    context: scope.info.name,
    ...(namespaces.size > 0 ? { namespace: [...namespaces].sort() } : {}),
    kind: [...kinds].sort(),
    name: names,
  };
}

/** pods_exec: the pod, or the workload (`deployment/web`) whose ready pod it picks. */
export async function execEffect(ctx: EffectContext<K8sServices>, input: { readonly context?: string | undefined; readonly namespace?: string | undefined; readonly pod: string }): Promise<ToolEffect> {
  const slash = input.pod.indexOf('/');
  return objectEffect(ctx, { context: input.context, namespace: input.namespace, resource: slash === -1 ? 'pods' : input.pod.slice(0, slash), name: slash === -1 ? input.pod : input.pod.slice(slash + 1) });
}
