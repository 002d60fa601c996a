// Undo handles of the Kubernetes tools (docs/undo.md): the prior object, without what the API
// server sets, restored with server-side apply; the drift check reads the object with resource_get.
import type { UndoHandle } from '../../core/undo/handle';
import type { ClusterScope } from './clusters';
import { typeName, type ResourceInfo } from './discovery';
import { clone, isJsonObject, redact, type JsonObject } from './objects';

/** Metadata the API server sets: never part of a restored object. */
const SERVER_SET = ['uid', 'resourceVersion', 'managedFields', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** The object as it can be applied again: no status, no server-set metadata. */
export function restorable(obj: JsonObject): JsonObject {
  const copy = clone(obj);
  delete copy['status'];
  const meta = copy['metadata'];
  if (isJsonObject(meta)) for (const f of SERVER_SET) delete meta[f];
  return copy;
}

/** The `resource` argument that names `type` unambiguously: group/version/plural (version/plural for the core group). */
export function resourceArg(type: ResourceInfo): string {
  return type.group ? `${type.group}/${type.version}/${type.resource}` : `${type.version}/${type.resource}`;
}

/** The read call that shows the object now, in the form `before` is kept in (JSON, Secret data masked). */
export function checkCall(scope: ClusterScope, type: ResourceInfo, namespace: string | undefined, name: string): { tool: string; args: Record<string, unknown> } {
  return { tool: 'resource_get', args: { context: scope.info.name, resource: resourceArg(type), name, ...(namespace !== undefined ? { namespace } : {}), output: 'json' } };
}

/** `before` for the three-way difference: what resource_get would have shown (Secret data masked, no managedFields). */
export function shownState(obj: JsonObject): JsonObject {
  const copy = redact(obj);
  const meta = copy['metadata'];
  if (isJsonObject(meta)) delete meta['managedFields'];
  return copy;
}

/** What can't come back when an object of `type` is deleted, said before approval and in the handle. */
export function deleteIrreversible(type: ResourceInfo, names: readonly string[]): string[] {
  if (type.kind === 'PersistentVolume' && type.group === '') return [`the data on PersistentVolume ${names.join(', ')} (a restored PersistentVolume object does not bring back deleted data when its reclaim policy is Delete)`];
  if (type.kind === 'PersistentVolumeClaim' && type.group === '') return [`the data of the volume bound to PersistentVolumeClaim ${names.join(', ')} when its PersistentVolume's reclaim policy is Delete`];
  if (type.kind === 'Namespace' && type.group === '') return [`the objects inside namespace ${names.join(', ')} (only the Namespace object itself is restored)`];
  return [];
}

/** Handle of a delete of one object: apply it again. */
export function deleteUndo(scope: ClusterScope, type: ResourceInfo, namespace: string | undefined, prior: JsonObject): UndoHandle {
  const name = String((prior['metadata'] as JsonObject | undefined)?.['name'] ?? '');
  const irreversible = deleteIrreversible(type, [name]);
  return {
    undoable: true,
    summary: `re-create ${typeName(type)}/${name}${namespace ? ` in namespace ${namespace}` : ''} as it was`,
    ...restoreCall(scope, prior),
    check: checkCall(scope, type, namespace, name),
    before: shownState(prior),
    after: { kind: 'absent', text: 'deleted' },
    ...(irreversible.length > 0 ? { irreversible } : {}),
  };
}

/**
 * The inverse that applies `prior` again: its arguments carry the object with Secret data masked
 * (the approval card shows them, the audit records them); the full object goes in the handle's
 * `state`, which the gateway hands to resource_apply with the undo call only.
 */
export function restoreCall(scope: ClusterScope, prior: JsonObject): { inverse: { tool: string; args: Record<string, unknown> }; state: Record<string, unknown> } {
  const full = restorable(prior);
  return {
    inverse: { tool: 'resource_apply', args: { context: scope.info.name, manifest: JSON.stringify(redact(full)), force: true } },
    state: { manifest: JSON.stringify(full) },
  };
}

/** Identity of the objects of a manifest (apiVersion, kind, namespace, name), to match an undo's state with its arguments. */
export function identities(objects: readonly JsonObject[]): string {
  return objects.map((o) => {
    const meta = isJsonObject(o['metadata']) ? o['metadata'] : {};
    return `${String(o['apiVersion'])}/${String(o['kind'])}/${String(meta['namespace'] ?? '')}/${String(meta['name'] ?? '')}`;
  }).join('\n');
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`: changed keys get their old value
 * (lists whole), keys `from` has and `to` lacks become null.
 */
export function mergePatch(from: JsonObject, to: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    const a = from[key];
    const b = to[key];
    if (b === undefined) out[key] = null;
    else if (a === undefined) out[key] = clone(b);
    else if (isJsonObject(a) && isJsonObject(b)) {
      const inner = mergePatch(a, b);
      if (Object.keys(inner).length > 0) out[key] = inner;
    } else if (JSON.stringify(a) !== JSON.stringify(b)) out[key] = clone(b);
  }
  return out;
}

/** Annotations a controller keeps (a Deployment's revision): never part of the way back. */
const CONTROLLER_SET_ANNOTATIONS = ['deployment.kubernetes.io/revision'];

function withoutControllerSet(obj: JsonObject): JsonObject {
  const meta = obj['metadata'];
  const annotations = isJsonObject(meta) ? meta['annotations'] : undefined;
  if (isJsonObject(annotations)) for (const a of CONTROLLER_SET_ANNOTATIONS) delete annotations[a];
  return obj;
}

/**
 * Handle of a change to one existing object (patch, rollout undo): a merge patch from the object
 * as the call left it back to the object before, so keys the call added are removed too. A Secret
 * is applied back instead (its data must not travel in the inverse's arguments: see restoreCall).
 */
export function changeUndo(scope: ClusterScope, type: ResourceInfo, namespace: string | undefined, prior: JsonObject, after: JsonObject, summary: string): UndoHandle {
  const name = String((prior['metadata'] as JsonObject | undefined)?.['name'] ?? '');
  const check = checkCall(scope, type, namespace, name);
  if (type.kind === 'Secret' && type.group === '') {
    return { undoable: true, summary, ...restoreCall(scope, prior), check, before: shownState(prior), irreversible: ['data keys the change added to the Secret stay (the Secret is applied back as it was, which does not remove them)'] };
  }
  const back = mergePatch(withoutControllerSet(restorable(after)), withoutControllerSet(restorable(prior)));
  return {
    undoable: true,
    summary,
    inverse: { tool: 'resource_patch', args: { context: scope.info.name, resource: resourceArg(type), name, ...(namespace !== undefined ? { namespace } : {}), patch: JSON.stringify(back), type: 'merge' } },
    check,
    before: shownState(prior),
  };
}
