// Effects of the Kubernetes tools that change something (the kit's effect contract): which cluster,
// context, namespace, kind and objects a call touches, resolved with the same context, namespace and
// discovery rules the tools use, through reads only (discovery, a GET for a label selector).
import type { EffectContext, ToolEffect } from '../kit';
import type { ClusterScope } from './clusters';
import { locate, type K8sServices } from './define';
import { collectionPath } from './discovery';
import { list, nameOf, str } from './objects';
import { parseK8sUri, TARGETS_URI } from './resources';
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

/** Every namespace of the cluster (for a read across all of them), or those this server exposes. */
async function everyNamespace(ctx: EffectContext<K8sServices>, scope: ClusterScope): Promise<string[]> {
  const exposed = await ctx.services.clusters.allNamespaces(scope, ctx.signal);
  if (!exposed.includes(undefined)) return exposed.filter((n): n is string => n !== undefined).sort();
  const body = await scope.client.json({ path: '/api/v1/namespaces', signal: ctx.signal });
  return list(body, 'items').map(nameOf).sort();
}

/**
 * resources_list: the kind and the namespace(s) read (every namespace for `allNamespaces`); no
 * `name` (a list reaches every object of the kind there).
 */
export async function listEffect(ctx: EffectContext<K8sServices>, input: { readonly context?: string | undefined; readonly resource: string; readonly namespace?: string | undefined; readonly allNamespaces?: boolean | undefined }): Promise<ToolEffect> {
  const scope = ctx.services.clusters.scope(input.context);
  const type = await scope.discovery.resolve(input.resource, ctx.signal);
  const namespace = !type.namespaced ? undefined : input.allNamespaces === true ? await everyNamespace(ctx, scope) : ctx.services.clusters.namespace(scope, input.namespace);
  return { type: 'kubernetes', cluster: scope.info.cluster, context: scope.info.name, ...(namespace !== undefined ? { namespace } : {}), kind: type.kind };
}

/**
 * `resources/read k8s://…`: the object or list the URI reaches, parsed and resolved exactly as the
 * read will be (`parseK8sUri`, discovery), so `v1%2FSecret` is kind Secret like `secrets`.
 */
export async function resourceReadEffect(ctx: EffectContext<K8sServices>, uri: string): Promise<ToolEffect> {
  if (uri === TARGETS_URI) return { type: 'kubernetes', kind: 'targets' };
  const address = parseK8sUri(uri);
  if (address === undefined) throw new Error(`not a k8s:// resource URI: ${uri}`);
  if (address.name !== undefined) return objectEffect(ctx, { context: address.context, resource: address.resource, namespace: address.namespace, name: address.name });
  return listEffect(ctx, { context: address.context, resource: address.resource, namespace: address.namespace, allNamespaces: address.namespace === undefined });
}
