import { z } from 'zod';
import { invalidArgument } from '../../kit';
import { defineK8sTool, DESTRUCTIVE, locate, plural } from '../define';
import { contextField, nameField, namespaceField } from '../fields';
import { num } from '../objects';
import { WORKLOAD_KINDS } from '../rollout';
import { describeRef, getLive, patch } from '../writes';
import { objectEffect } from '../effects';

/** Said before approval (dry run) and recorded with the call: why no undo exists. */
const RESTART_IRREVERSIBLE = 'a restart replaces the pods (their memory and emptyDir data are gone); removing the restartedAt annotation would only restart them again';

export const rolloutRestart = defineK8sTool({
  name: 'rollout_restart',
  title: 'Rollout: Restart',
  description:
    'Restarts the pods of a Deployment, StatefulSet or DaemonSet with a rolling update (as `kubectl rollout restart`: a restartedAt annotation on the pod template). Follow it with rollout_status. dryRun: true checks it with a server-side dry run.',
  input: z.object({
    context: contextField(),
    resource: z.string().min(1).default('deployments').describe('deployments (default), statefulsets or daemonsets.'),
    name: nameField('Workload name'),
    namespace: namespaceField(),
  }),
  annotations: DESTRUCTIVE,
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, input),
  async handler(input, ctx) {
    const { scope, type, namespace } = await locate(ctx.services, input, ctx.signal);
    if (!(WORKLOAD_KINDS as readonly string[]).includes(type.kind)) throw invalidArgument('resource', `${type.kind} cannot be restarted.`, 'Use a Deployment, StatefulSet or DaemonSet.');
    const ref = describeRef(type, namespace, input.name);
    const live = await getLive(scope, type, namespace, input.name, ctx.signal);
    if (!live) throw invalidArgument('name', `${ref} does not exist.`);
    const restartedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const body = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } } };
    await patch(scope, type, namespace, input.name, body, { patchType: 'strategic', dryRun: ctx.dryRun, signal: ctx.signal });
    const pods = num(live, 'status.replicas') ?? num(live, 'status.currentNumberScheduled') ?? 0;
    if (ctx.dryRun) return { text: `Dry run (server-side, nothing was changed): would restart ${ref}, replacing its ${plural(pods, 'pod')} one batch at a time.`, irreversible: [RESTART_IRREVERSIBLE] };
    return { text: `Restarted ${ref} (restartedAt ${restartedAt}): its ${plural(pods, 'pod')} are being replaced. rollout_status follows the rollout.`, undo: { undoable: false, reason: RESTART_IRREVERSIBLE } };
  },
});
