import { invalidArgument } from '../kit';
import type { ClusterScope } from './clusters';
import { collectionPath } from './discovery';
import { list, nameOf, record, str, type JsonObject } from './objects';
import { workloadSelector } from './rollout';

export function isPodReady(pod: JsonObject): boolean {
  return list(pod, 'status.conditions').some((c) => str(c, 'type') === 'Ready' && str(c, 'status') === 'True');
}

/**
 * The pod a call names: `name` or `pod/name`, or a ready pod of a workload or service given as
 * `deployment/name` (also statefulset/, daemonset/, replicaset/, service/), as kubectl picks one.
 */
export async function findPod(scope: ClusterScope, namespace: string, spec: string, signal: AbortSignal): Promise<{ pod: JsonObject; note: string | undefined }> {
  const slash = spec.indexOf('/');
  const podPath = (name: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  if (slash < 0 || ['pod', 'pods', 'po'].includes(spec.slice(0, slash).toLowerCase())) {
    return { pod: await scope.client.json<JsonObject>({ path: podPath(slash < 0 ? spec : spec.slice(slash + 1)), signal }), note: undefined };
  }
  const type = await scope.discovery.resolve(spec.slice(0, slash), signal);
  const owner = await scope.client.json<JsonObject>({ path: `${collectionPath(type, namespace)}/${encodeURIComponent(spec.slice(slash + 1))}`, signal });
  const selector = type.kind === 'Service' ? Object.entries(record(owner, 'spec.selector')).map(([k, v]) => `${k}=${v}`).join(',') : workloadSelector(owner);
  if (!selector) throw invalidArgument('pod', `${spec} selects no pods.`);
  const pods = list(await scope.client.json({ path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, query: { labelSelector: selector }, signal }), 'items');
  if (pods.length === 0) throw invalidArgument('pod', `${spec} has no pods.`);
  const pod = pods.find(isPodReady) ?? pods[0]!;
  return { pod, note: `picked pod ${nameOf(pod)} of ${pods.length}` };
}

/** The container a call names, else the pod's default container (annotation) or its first. */
export function pickContainer(pod: JsonObject, container: string | undefined): { container: string; others: string[] } {
  const names = list(pod, 'spec.containers').map((c) => str(c, 'name') ?? '');
  const init = list(pod, 'spec.initContainers').map((c) => str(c, 'name') ?? '');
  const annotated = record(pod, 'metadata.annotations')['kubectl.kubernetes.io/default-container'];
  const chosen = container ?? (annotated && names.includes(annotated) ? annotated : names[0]) ?? '';
  if (!names.includes(chosen) && !init.includes(chosen)) {
    throw invalidArgument('container', `pod ${nameOf(pod)} has no container "${chosen}".`, `Its containers: ${names.join(', ')}.`);
  }
  return { container: chosen, others: names.filter((n) => n !== chosen) };
}
