import { z } from 'zod';
import { invalidArgument } from '../../kit';
import { defineK8sTool, DESTRUCTIVE, locate, plural } from '../define';
import { objectPath } from '../discovery';
import { contextField, nameField, namespaceField } from '../fields';
import { num, type JsonObject } from '../objects';
import { describeRef, patch } from '../writes';
import { objectEffect } from '../effects';
import { checkCall, resourceArg, shownState } from '../undo';

export const scale = defineK8sTool({
  name: 'scale',
  title: 'Workload: Scale',
  description:
    'Sets the replica count of a Deployment, StatefulSet, ReplicaSet or any type with a scale subresource. Scaling down stops pods. dryRun: true says what would change after a server-side dry run.',
  input: z.object({
    context: contextField(),
    resource: z.string().min(1).default('deployments').describe('Workload type: deployments (default), statefulsets, replicasets, or a custom type with a scale subresource.'),
    name: nameField('Workload name'),
    namespace: namespaceField(),
    replicas: z.number().int().min(0).max(10_000).describe('Desired number of replicas.'),
  }),
  annotations: { ...DESTRUCTIVE, idempotentHint: true },
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, input),
  async handler(input, ctx) {
    const { scope, type, namespace } = await locate(ctx.services, input, ctx.signal);
    const ref = describeRef(type, namespace, input.name);
    let current: JsonObject;
    try {
      current = await scope.client.json<JsonObject>({ path: `${objectPath(type, namespace, input.name)}/scale`, signal: ctx.signal });
    } catch (err) {
      if (err instanceof Error && /NotFound: the server could not find the requested resource/.test(err.message)) {
        throw invalidArgument('resource', `${type.resource} has no scale subresource.`, 'Scale deployments, statefulsets or replicasets.');
      }
      throw err;
    }
    const from = num(current, 'spec.replicas') ?? 0;
    if (from === input.replicas) return { text: `${ref} already has ${plural(from, 'replica')}: nothing to do.` };
    // The workload as it was, for the undo's three-way difference.
    const prior = ctx.dryRun ? undefined : await scope.client.json<JsonObject>({ path: objectPath(type, namespace, input.name), signal: ctx.signal });
    await patch(scope, type, namespace, input.name, { spec: { replicas: input.replicas } }, { patchType: 'merge', dryRun: ctx.dryRun, subresource: 'scale', signal: ctx.signal });
    const effect = input.replicas < from ? ` ${plural(from - input.replicas, 'pod')} would stop.` : ` ${plural(input.replicas - from, 'pod')} would start.`;
    if (ctx.dryRun) return { text: `Dry run (server-side, nothing was changed): would scale ${ref} from ${from} to ${input.replicas}.${effect}` };
    return {
      text: `Scaled ${ref} from ${from} to ${input.replicas}. rollout_status shows when the pods are ready.`,
      undo: {
        undoable: true,
        summary: `scale ${ref} back to ${from}`,
        inverse: { tool: 'scale', args: { context: scope.info.name, resource: resourceArg(type), name: input.name, ...(namespace !== undefined ? { namespace } : {}), replicas: from } },
        check: checkCall(scope, type, namespace, input.name),
        before: prior === undefined ? null : shownState(prior),
      },
    };
  },
});
