/**
 * Rollout state of Deployments, StatefulSets and DaemonSets, with kubectl's rules
 * (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go).
 */
import { at, list, num, record, str, type JsonObject } from './objects';

export interface RolloutState {
  readonly done: boolean;
  /** Failed for good (progress deadline exceeded): waiting longer will not help. */
  readonly failed: boolean;
  readonly message: string;
}

export function rolloutState(kind: string, obj: JsonObject): RolloutState {
  const name = str(obj, 'metadata.name') ?? '';
  const generation = num(obj, 'metadata.generation') ?? 0;
  const observed = num(obj, 'status.observedGeneration') ?? 0;
  if (observed < generation) return { done: false, failed: false, message: `Waiting for ${kind.toLowerCase()} "${name}" spec update to be observed...` };
  if (kind === 'Deployment') {
    const progressing = list(obj, 'status.conditions').find((c) => str(c, 'type') === 'Progressing');
    if (str(progressing, 'reason') === 'ProgressDeadlineExceeded') return { done: false, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
    const replicas = num(obj, 'spec.replicas') ?? 1;
    const updated = num(obj, 'status.updatedReplicas') ?? 0;
    const total = num(obj, 'status.replicas') ?? 0;
    const available = num(obj, 'status.availableReplicas') ?? 0;
    if (updated < replicas) return { done: false, failed: false, message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${replicas} new replicas have been updated...` };
    if (total > updated) return { done: false, failed: false, message: `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...` };
    if (available < updated) return { done: false, failed: false, message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...` };
    return { done: true, failed: false, message: `deployment "${name}" successfully rolled out (revision ${record(obj, 'metadata.annotations')['deployment.kubernetes.io/revision'] ?? '?'}, ${available}/${replicas} available)` };
  }
  if (kind === 'StatefulSet') {
    const replicas = num(obj, 'spec.replicas') ?? 1;
    const ready = num(obj, 'status.readyReplicas') ?? 0;
    if (str(obj, 'spec.updateStrategy.type') === 'OnDelete') return { done: true, failed: false, message: `statefulset "${name}" uses the OnDelete strategy: pods update only when deleted` };
    if (ready < replicas) return { done: false, failed: false, message: `Waiting for ${replicas - ready} pods to be ready...` };
    const current = str(obj, 'status.currentRevision');
    const update = str(obj, 'status.updateRevision');
    if (update && current !== update) return { done: false, failed: false, message: `waiting for statefulset rolling update to complete ${num(obj, 'status.updatedReplicas') ?? 0} pods at revision ${update}...` };
    return { done: true, failed: false, message: `statefulset rolling update complete ${ready} pods${current ? ` at revision ${current}` : ''}` };
  }
  if (kind === 'DaemonSet') {
    const desired = num(obj, 'status.desiredNumberScheduled') ?? 0;
    const updated = num(obj, 'status.updatedNumberScheduled') ?? 0;
    const available = num(obj, 'status.numberAvailable') ?? 0;
    if (updated < desired) return { done: false, failed: false, message: `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...` };
    if (available < desired) return { done: false, failed: false, message: `Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...` };
    return { done: true, failed: false, message: `daemon set "${name}" successfully rolled out` };
  }
  return { done: true, failed: false, message: `${kind} has no rollout` };
}

/** The selector of a workload as a query string. */
export function workloadSelector(obj: JsonObject): string {
  const labels = record(obj, 'spec.selector.matchLabels');
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  for (const e of list(obj, 'spec.selector.matchExpressions')) {
    const values = at(e, 'values');
    const op = str(e, 'operator');
    if (op === 'In' || op === 'NotIn') parts.push(`${str(e, 'key')} ${op.toLowerCase()} (${Array.isArray(values) ? values.join(',') : ''})`);
    else if (op === 'Exists') parts.push(str(e, 'key') ?? '');
    else if (op === 'DoesNotExist') parts.push(`!${str(e, 'key')}`);
  }
  return parts.join(',');
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
