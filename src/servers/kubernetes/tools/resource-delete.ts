import { z } from 'zod';
import { invalidArgument } from '../../kit';
import type { ClusterScope } from '../clusters';
import { defineK8sTool, DESTRUCTIVE, locate, plural } from '../define';
import { collectionPath, objectPath, typeName, type ResourceInfo } from '../discovery';
import { contextField, namespaceField, resourceField } from '../fields';
import { list, nameOf, str, type JsonObject } from '../objects';
import { objectEffect } from '../effects';
import { deleteIrreversible, deleteUndo } from '../undo';

const DEPENDENT_TYPES = ['replicasets.apps', 'pods', 'jobs.batch', 'controllerrevisions.apps'];
const NAMESPACE_CONTENT = ['deployments.apps', 'statefulsets.apps', 'daemonsets.apps', 'replicasets.apps', 'pods', 'services', 'configmaps', 'secrets', 'jobs.batch', 'persistentvolumeclaims'];
const MAX_LISTED = 50;

export const resourceDelete = defineK8sTool({
  name: 'resource_delete',
  title: 'Resource: Delete',
  description:
    'Deletes one object by name, or the objects matching a label selector (refused when more than `max` match). propagationPolicy decides what happens to dependents (a Deployment\'s ReplicaSets and Pods): Background (default) and Foreground delete them, Orphan keeps them. dryRun: true lists exactly what would be deleted, dependents included, after a server-side dry run.',
  input: z.object({
    context: contextField(),
    resource: resourceField(),
    name: z.string().min(1).optional().describe('Object to delete. Give either name or labelSelector.'),
    labelSelector: z.string().min(1).optional().describe('Delete every object of the type (in the namespace) matching this selector, e.g. "app=web,job=cleanup".'),
    namespace: namespaceField(),
    max: z.number().int().min(1).max(200).default(10).describe('Most objects a labelSelector may delete; more matches refuse the call.'),
    propagationPolicy: z.enum(['Background', 'Foreground', 'Orphan']).default('Background').describe('What happens to dependents: Background (deleted after the owner), Foreground (deleted before the owner) or Orphan (kept).'),
    gracePeriodSeconds: z.number().int().min(0).optional().describe('Seconds pods get to stop (default: their terminationGracePeriodSeconds). 0 deletes at once.'),
  }),
  annotations: DESTRUCTIVE,
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, input),
  async handler(input, ctx) {
    if ((input.name === undefined) === (input.labelSelector === undefined)) {
      throw invalidArgument(input.name === undefined ? 'name' : 'labelSelector', 'give exactly one of name and labelSelector.');
    }
    const { scope, type, namespace } = await locate(ctx.services, input, ctx.signal);
    let targets: JsonObject[];
    if (input.name !== undefined) {
      targets = [await scope.client.json<JsonObject>({ path: objectPath(type, namespace, input.name), signal: ctx.signal })];
    } else {
      const body = await scope.client.json({ path: collectionPath(type, namespace), query: { labelSelector: input.labelSelector, limit: input.max + 1 }, signal: ctx.signal });
      targets = list(body, 'items');
      if (targets.length === 0) return { text: `No ${type.resource} match ${input.labelSelector}${namespace ? ` in namespace ${namespace}` : ''}: nothing to delete.` };
      if (targets.length > input.max) {
        throw invalidArgument('labelSelector', `more than ${input.max} ${type.resource} match "${input.labelSelector}".`, `Narrow the selector, or raise max (up to 200) if all of them should go; dryRun: true lists them.`);
      }
    }
    const names = targets.map((t) => `${typeName(type)}/${nameOf(t)}`);
    const where = namespace ? ` in namespace ${namespace}` : '';
    const options = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: input.propagationPolicy,
      ...(input.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: input.gracePeriodSeconds }),
    };
    if (ctx.dryRun) {
      for (const t of targets) {
        await scope.client.json({ method: 'DELETE', path: objectPath(type, namespace, nameOf(t)), query: { dryRun: 'All' }, body: options, signal: ctx.signal });
      }
      const lines = [`Dry run (server-side, nothing was deleted). Would delete ${plural(targets.length, 'object')}${where}:`, ...names.map((n) => `  ${n}`)];
      if (type.kind === 'Namespace' && type.group === '') {
        for (const t of targets) lines.push(...(await namespaceContent(scope, nameOf(t), ctx.signal)));
      } else if (input.propagationPolicy === 'Orphan') {
        lines.push('Dependents (ReplicaSets, Pods...) would be kept (Orphan).');
      } else {
        const dependents = await findDependents(scope, targets, namespace, ctx.signal);
        if (dependents.length > 0) {
          lines.push(`and, by ${input.propagationPolicy} propagation, ${plural(dependents.length, 'dependent')}:`, ...dependents.slice(0, MAX_LISTED).map((d) => `  ${d}`));
          if (dependents.length > MAX_LISTED) lines.push(`  (${dependents.length - MAX_LISTED} more)`);
        }
      }
      const irreversible = deleteIrreversible(type, targets.map(nameOf));
      return { text: lines.join('\n'), ...(irreversible.length > 0 ? { irreversible } : {}) };
    }
    const done: string[] = [];
    for (const t of targets) {
      await scope.client.json({
        method: 'DELETE',
        path: objectPath(type, namespace, nameOf(t)),
        body: { ...options, preconditions: { uid: str(t, 'metadata.uid') } },
        signal: ctx.signal,
      });
      done.push(`${typeName(type)}/${nameOf(t)}`);
    }
    const pods = type.kind === 'Pod' ? ' Pods stop within their grace period.' : '';
    const deps = input.propagationPolicy === 'Orphan' ? ' Dependents were kept (Orphan).' : ` Dependents are removed by the garbage collector (${input.propagationPolicy}).`;
    return {
      text: `Deleted ${plural(done.length, 'object')}${where}: ${done.join(', ')}.${pods}${type.kind === 'Namespace' ? ' Everything in it is being deleted.' : deps}`,
      undo:
        targets.length === 1
          ? deleteUndo(scope, type, namespace, targets[0]!)
          : { undoable: false, reason: `${targets.length} objects were deleted by label selector; undo is kept for a delete of one object by name` },
    };
  },
});

/** Dependents of `owners` among the common owned kinds, walking ownerReferences down. */
async function findDependents(scope: ClusterScope, owners: JsonObject[], namespace: string | undefined, signal: AbortSignal): Promise<string[]> {
  if (namespace === undefined) return [];
  const candidates: { type: ResourceInfo; obj: JsonObject }[] = [];
  for (const name of DEPENDENT_TYPES) {
    const type = await scope.discovery.resolve(name, signal).catch(() => undefined);
    if (!type) continue;
    const body = await scope.client.json({ path: collectionPath(type, namespace), signal }).catch(() => undefined);
    for (const obj of list(body, 'items')) candidates.push({ type, obj });
  }
  const found: string[] = [];
  let frontier = new Set(owners.map((o) => str(o, 'metadata.uid')));
  const seen = new Set<string>();
  while (frontier.size > 0) {
    const next = new Set<string | undefined>();
    for (const c of candidates) {
      const uid = str(c.obj, 'metadata.uid') ?? '';
      if (seen.has(uid)) continue;
      if (list(c.obj, 'metadata.ownerReferences').some((r) => frontier.has(str(r, 'uid')))) {
        seen.add(uid);
        next.add(uid);
        found.push(`${typeName(c.type)}/${nameOf(c.obj)}`);
      }
    }
    frontier = next;
  }
  return found;
}

async function namespaceContent(scope: ClusterScope, namespace: string, signal: AbortSignal): Promise<string[]> {
  const counts: string[] = [];
  for (const name of NAMESPACE_CONTENT) {
    const type = await scope.discovery.resolve(name, signal).catch(() => undefined);
    if (!type) continue;
    const body = await scope.client.json({ path: collectionPath(type, namespace), query: { limit: 500 }, signal }).catch(() => undefined);
    const n = list(body, 'items').length;
    if (n > 0) counts.push(`${n >= 500 ? '500+' : n} ${type.resource}`);
  }
  return counts.length > 0 ? [`and everything in namespace ${namespace}, including ${counts.join(', ')}.`] : [`Namespace ${namespace} holds none of the common object types.`];
}
