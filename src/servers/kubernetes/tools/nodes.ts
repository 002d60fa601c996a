import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { isK8sError, K8sErrorCode } from '../client';
import type { ClusterScope } from '../clusters';
import { defineK8sTool, DESTRUCTIVE, plural } from '../define';
import { contextField, nameField } from '../fields';
import { at, list, nameOf, record, str, type JsonObject } from '../objects';
import { objectEffect } from '../effects';
import type { UndoHandle } from '../../../core/undo/handle';
import { checkCall, shownState } from '../undo';

async function setSchedulable(scope: ClusterScope, name: string, unschedulable: boolean, dryRun: boolean, signal: AbortSignal): Promise<{ before: boolean; node: JsonObject }> {
  const node = await scope.client.json<JsonObject>({ path: `/api/v1/nodes/${encodeURIComponent(name)}`, signal });
  const before = at(node, 'spec.unschedulable') === true;
  if (before !== unschedulable) {
    await scope.client.json({
      method: 'PATCH',
      path: `/api/v1/nodes/${encodeURIComponent(name)}`,
      query: { fieldManager: 'mcp-control-plane', dryRun: dryRun ? 'All' : undefined },
      body: { spec: { unschedulable: unschedulable ? true : null } },
      contentType: 'application/strategic-merge-patch+json',
      signal,
    });
  }
  return { before, node };
}

/** Handle of a cordon or uncordon (or the cordon of a drain): the opposite call; resource_get of the node is the drift check. */
async function schedulingUndo(scope: ClusterScope, node: JsonObject, name: string, cordoned: boolean, irreversible?: string[]): Promise<UndoHandle> {
  const type = await scope.discovery.resolve('nodes', new AbortController().signal);
  return {
    undoable: true,
    summary: cordoned ? `uncordon node/${name} (schedulable again)` : `cordon node/${name} again`,
    inverse: { tool: cordoned ? 'node_uncordon' : 'node_cordon', args: { context: scope.info.name, name } },
    check: checkCall(scope, type, undefined, name),
    before: shownState(node),
    ...(irreversible !== undefined && irreversible.length > 0 ? { irreversible } : {}),
  };
}

/** What no undo of a drain brings back, said before approval and kept with the call. */
const DRAIN_IRREVERSIBLE = 'the evicted pods: they are not un-evicted (their controllers start replacements, on other nodes while this one is cordoned; pods without a controller are gone)';

const NODE_WRITE = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;

export const nodeCordon = defineK8sTool({
  name: 'node_cordon',
  title: 'Node: Cordon',
  description: 'Marks a node unschedulable (as `kubectl cordon`): running pods stay, new pods go elsewhere. node_uncordon undoes it; node_drain also evicts the pods.',
  input: z.object({ context: contextField(), name: nameField('Node name') }),
  annotations: NODE_WRITE,
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, { ...input, resource: 'nodes' }),
  async handler(input, ctx) {
    const scope = ctx.services.clusters.scope(input.context);
    const { before, node } = await setSchedulable(scope, input.name, true, ctx.dryRun, ctx.signal);
    if (before) return { text: `node/${input.name} is already cordoned.`, undo: { undoable: false, reason: 'it changed nothing: the node was already cordoned' } };
    if (ctx.dryRun) return { text: `Dry run: would cordon node/${input.name} (no new pods would be scheduled on it).` };
    return { text: `node/${input.name} cordoned: no new pods will be scheduled on it.`, undo: await schedulingUndo(scope, node, input.name, true) };
  },
});

export const nodeUncordon = defineK8sTool({
  name: 'node_uncordon',
  title: 'Node: Uncordon',
  description: 'Marks a node schedulable again (as `kubectl uncordon`).',
  input: z.object({ context: contextField(), name: nameField('Node name') }),
  annotations: NODE_WRITE,
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, { ...input, resource: 'nodes' }),
  async handler(input, ctx) {
    const scope = ctx.services.clusters.scope(input.context);
    const { before, node } = await setSchedulable(scope, input.name, false, ctx.dryRun, ctx.signal);
    if (!before) return { text: `node/${input.name} is already schedulable.`, undo: { undoable: false, reason: 'it changed nothing: the node was already schedulable' } };
    if (ctx.dryRun) return { text: `Dry run: would uncordon node/${input.name}.` };
    return { text: `node/${input.name} uncordoned: pods can be scheduled on it again.`, undo: await schedulingUndo(scope, node, input.name, false) };
  },
});

interface Plan {
  readonly evict: JsonObject[];
  readonly skipped: string[];
  readonly blockers: string[];
}

function plan(pods: JsonObject[], options: { ignoreDaemonSets: boolean; deleteEmptyDirData: boolean; force: boolean }): Plan {
  const evict: JsonObject[] = [];
  const skipped: string[] = [];
  const blockers: string[] = [];
  for (const pod of pods) {
    const ref = `${str(pod, 'metadata.namespace')}/${nameOf(pod)}`;
    if (record(pod, 'metadata.annotations')['kubernetes.io/config.mirror'] !== undefined) {
      skipped.push(`${ref} (mirror pod)`);
      continue;
    }
    const phase = str(pod, 'status.phase');
    const controller = list(pod, 'metadata.ownerReferences').find((r) => r['controller'] === true);
    if (str(controller, 'kind') === 'DaemonSet') {
      if (options.ignoreDaemonSets) skipped.push(`${ref} (DaemonSet)`);
      else blockers.push(`${ref} is managed by a DaemonSet (set ignoreDaemonSets)`);
      continue;
    }
    if (!controller && phase !== 'Succeeded' && phase !== 'Failed' && !options.force) {
      blockers.push(`${ref} has no controller and would not come back (set force to delete it)`);
      continue;
    }
    if (list(pod, 'spec.volumes').some((v) => v['emptyDir'] !== undefined) && !options.deleteEmptyDirData) {
      blockers.push(`${ref} has emptyDir data that would be lost (set deleteEmptyDirData)`);
      continue;
    }
    evict.push(pod);
  }
  return { evict, skipped, blockers };
}

export const nodeDrain = defineK8sTool({
  name: 'node_drain',
  title: 'Node: Drain',
  description:
    'Cordons a node and evicts its pods through the Eviction API, honouring PodDisruptionBudgets (blocked evictions are retried until timeoutSeconds), as `kubectl drain`. DaemonSet pods are skipped with ignoreDaemonSets; pods without a controller need force; pods with emptyDir data need deleteEmptyDirData. dryRun: true lists the evictions, what is skipped and what blocks the drain.',
  input: z.object({
    context: contextField(),
    name: nameField('Node name'),
    ignoreDaemonSets: z.boolean().default(true).describe('Skip DaemonSet pods (they would be recreated on the node anyway).'),
    deleteEmptyDirData: z.boolean().default(false).describe('Evict pods with emptyDir volumes (their data is lost).'),
    force: z.boolean().default(false).describe('Also delete pods that no controller manages (they are not recreated). Needs approval.'),
    gracePeriodSeconds: z.number().int().min(0).optional().describe('Grace period for the evicted pods (default: their own).'),
    timeoutSeconds: z.number().int().min(1).max(900).default(120).describe('Give up after this long (PDB-blocked evictions are retried until then).'),
  }),
  annotations: DESTRUCTIVE,
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, { ...input, resource: 'nodes' }),
  async handler(input, ctx) {
    const scope = ctx.services.clusters.scope(input.context);
    const node = `node/${input.name}`;
    const nodeBefore = await scope.client.json<JsonObject>({ path: `/api/v1/nodes/${encodeURIComponent(input.name)}`, signal: ctx.signal });
    const pods = list(await scope.client.json({ path: '/api/v1/pods', query: { fieldSelector: `spec.nodeName=${input.name}` }, signal: ctx.signal }), 'items');
    const p = plan(pods, input);
    const listing = [
      `${plural(p.evict.length, 'pod')} to evict${p.evict.length ? `:\n${p.evict.map((x) => `  ${str(x, 'metadata.namespace')}/${nameOf(x)}`).join('\n')}` : '.'}`,
      ...(p.skipped.length ? [`Skipped:\n${p.skipped.map((s) => `  ${s}`).join('\n')}`] : []),
      ...(p.blockers.length ? [`Blocking the drain:\n${p.blockers.map((s) => `  ${s}`).join('\n')}`] : []),
    ].join('\n');
    if (ctx.dryRun) {
      return { text: `Dry run: would cordon ${node} and evict its pods.${p.blockers.length ? ' The drain would be refused as it stands.' : ''}\n${listing}`, ...(p.evict.length > 0 ? { irreversible: [DRAIN_IRREVERSIBLE] } : {}) };
    }
    if (p.blockers.length > 0) {
      throw new ControlPlaneError(K8sErrorCode.badRequest, `Cannot drain ${node}; nothing was changed.\n${listing}`, { details: { hint: 'Set the named options, or handle those pods first.' } });
    }
    await setSchedulable(scope, input.name, true, false, ctx.signal);
    const deadline = Date.now() + input.timeoutSeconds * 1000;
    const pending = new Map(p.evict.map((pod) => [str(pod, 'metadata.uid') ?? nameOf(pod), pod]));
    const evicted: string[] = [];
    const blocked = new Map<string, string>();
    let round = 0;
    while (pending.size > 0 && Date.now() < deadline && !ctx.signal.aborted) {
      for (const [uid, pod] of [...pending]) {
        const ns = str(pod, 'metadata.namespace') ?? '';
        const ref = `${ns}/${nameOf(pod)}`;
        try {
          await scope.client.json({
            method: 'POST',
            path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(nameOf(pod))}/eviction`,
            body: {
              apiVersion: 'policy/v1',
              kind: 'Eviction',
              metadata: { name: nameOf(pod), namespace: ns },
              ...(input.gracePeriodSeconds === undefined ? {} : { deleteOptions: { gracePeriodSeconds: input.gracePeriodSeconds } }),
            },
            signal: ctx.signal,
          });
          pending.delete(uid);
          blocked.delete(uid);
          evicted.push(ref);
        } catch (err) {
          if (isK8sError(err, K8sErrorCode.notFound)) {
            pending.delete(uid);
            evicted.push(`${ref} (already gone)`);
          } else if (isK8sError(err, K8sErrorCode.tooManyRequests)) {
            blocked.set(uid, `${ref}: ${err instanceof Error ? err.message.split(' (context')[0] : String(err)}`);
          } else throw err;
        }
      }
      await ctx.progress(evicted.length, p.evict.length, `${evicted.length} of ${p.evict.length} pods evicted from ${input.name}`);
      if (pending.size > 0) await new Promise((r) => setTimeout(r, Math.min(1000 * ++round, 5000, Math.max(0, deadline - Date.now()))));
    }
    const lines = [`${node} cordoned; ${evicted.length} of ${plural(p.evict.length, 'pod')} evicted.`];
    if (evicted.length) lines.push(`Evicted:\n${evicted.map((e) => `  ${e}`).join('\n')}`);
    if (p.skipped.length) lines.push(`Skipped:\n${p.skipped.map((s) => `  ${s}`).join('\n')}`);
    if (pending.size > 0) {
      lines.push(`Not evicted after ${input.timeoutSeconds}s:\n${[...pending.keys()].map((uid) => `  ${blocked.get(uid) ?? `${str(pending.get(uid), 'metadata.namespace')}/${nameOf(pending.get(uid) ?? {})}`}`).join('\n')}`);
      throw new ControlPlaneError(K8sErrorCode.tooManyRequests, lines.join('\n'), { details: { hint: 'A PodDisruptionBudget allows no more disruptions now: wait for replacements to become ready, scale up, or retry node_drain later. The node stays cordoned (node_uncordon reverts it).' } });
    }
    // The cordon can be undone; the evictions cannot (said before approval too).
    const wasCordoned = at(nodeBefore, 'spec.unschedulable') === true;
    const gone = evicted.length > 0 ? [DRAIN_IRREVERSIBLE] : [];
    const undo: UndoHandle = wasCordoned
      ? { undoable: false, reason: `the node was already cordoned before the drain, and the evicted pods cannot be un-evicted` }
      : await schedulingUndo(scope, nodeBefore, input.name, true, gone);
    return { text: lines.join('\n'), undo };
  },
});

