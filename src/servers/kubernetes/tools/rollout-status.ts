import { z } from 'zod';
import { invalidArgument } from '../../kit';
import { defineK8sTool, locate, READ_ONLY } from '../define';
import { podStatus } from '../describe';
import { objectPath } from '../discovery';
import { fetchEvents } from '../events';
import { contextField, nameField, namespaceField } from '../fields';
import { list, nameOf, str, type JsonObject } from '../objects';
import { rolloutState, workloadSelector, WORKLOAD_KINDS } from '../rollout';

export const rolloutStatus = defineK8sTool({
  name: 'rollout_status',
  title: 'Rollout: Status',
  description:
    'Reports the rollout of a Deployment, StatefulSet or DaemonSet and, by default, waits for it to finish (up to timeoutSeconds, with progress notifications), as `kubectl rollout status`. When it does not finish, the result names the pods that are not ready and why (ImagePullBackOff, CrashLoopBackOff...) with their recent warning events.',
  input: z.object({
    context: contextField(),
    resource: z.string().min(1).default('deployments').describe('deployments (default), statefulsets or daemonsets.'),
    name: nameField('Workload name'),
    namespace: namespaceField(),
    wait: z.boolean().default(true).describe('Wait for the rollout to finish; false reports the current state at once.'),
    timeoutSeconds: z.number().int().min(1).max(600).default(60).describe('How long to wait at most.'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const { scope, type, namespace } = await locate(ctx.services, input, ctx.signal);
    if (!(WORKLOAD_KINDS as readonly string[]).includes(type.kind)) throw invalidArgument('resource', `${type.kind} has no rollout.`, 'Use a Deployment, StatefulSet or DaemonSet.');
    const deadline = Date.now() + input.timeoutSeconds * 1000;
    let obj: JsonObject;
    let state: ReturnType<typeof rolloutState>;
    let polls = 0;
    for (;;) {
      obj = await scope.client.json<JsonObject>({ path: objectPath(type, namespace, input.name), signal: ctx.signal });
      state = rolloutState(type.kind, obj);
      if (state.done || state.failed || !input.wait || Date.now() >= deadline || ctx.signal.aborted) break;
      await ctx.progress(++polls, undefined, state.message);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))));
    }
    if (state.done) return { text: state.message };
    const waited = input.wait ? (state.failed ? '' : ` Not finished after ${input.timeoutSeconds}s.`) : '';
    return { text: `${state.message}${waited}${await problems(scope, namespace, obj, ctx.signal)}` };
  },
});

/** Pods of the workload that are not ready, and their recent warning events. */
async function problems(scope: Parameters<typeof fetchEvents>[0], namespace: string | undefined, obj: JsonObject, signal: AbortSignal): Promise<string> {
  const selector = workloadSelector(obj);
  if (!selector || !namespace) return '';
  const pods = list(await scope.client.json({ path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, query: { labelSelector: selector }, signal }), 'items');
  const unready = pods.filter((p) => !list(p, 'status.conditions').some((c) => str(c, 'type') === 'Ready' && str(c, 'status') === 'True'));
  if (unready.length === 0) return '';
  const lines = unready.slice(0, 10).map((p) => {
    const waiting = list(p, 'status.containerStatuses').map((c) => str(c, 'state.waiting.message')).find(Boolean);
    return `  ${nameOf(p)}: ${podStatus(p)}${waiting ? ` (${waiting.slice(0, 160)})` : ''}`;
  });
  const warnings = (await fetchEvents(scope, namespace, 'type=Warning', signal).catch(() => []))
    .filter((e) => unready.some((p) => str(p, 'metadata.uid') === str(e, 'involvedObject.uid')))
    .slice(-5)
    .map((e) => `  ${str(e, 'involvedObject.name')}: ${str(e, 'reason')}: ${(str(e, 'message') ?? '').slice(0, 200)}`);
  return `\nPods not ready (${unready.length} of ${pods.length}):\n${lines.join('\n')}${warnings.length ? `\nRecent warnings:\n${warnings.join('\n')}` : ''}`;
}
