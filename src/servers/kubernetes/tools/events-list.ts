import { z } from 'zod';
import { defineK8sTool, READ_ONLY } from '../define';
import { byTime, eventsTable, fetchEvents } from '../events';
import { contextField, namespaceField } from '../fields';

export const eventsList = defineK8sTool({
  name: 'events_list',
  title: 'Events: List',
  description:
    'Lists recent events, newest last (as `kubectl events`): in a namespace or all, about one object (kind and name), or warnings only. The quickest way to see why pods do not start (image pulls, scheduling, probes, crash loops).',
  input: z.object({
    context: contextField(),
    namespace: namespaceField(),
    allNamespaces: z.boolean().default(false).describe('Events of every (exposed) namespace.'),
    kind: z.string().optional().describe('Only events about objects of this kind (Pod, Deployment, Node...), as in involvedObject.kind.'),
    name: z.string().optional().describe('Only events about the object with this name.'),
    warningsOnly: z.boolean().default(false).describe('Only Warning events.'),
    limit: z.number().int().min(1).max(500).default(50).describe('How many of the most recent events to show.'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    const selector = [input.kind && `involvedObject.kind=${input.kind}`, input.name && `involvedObject.name=${input.name}`, input.warningsOnly && 'type=Warning'].filter(Boolean).join(',') || undefined;
    const namespaces = input.allNamespaces ? await clusters.allNamespaces(scope, ctx.signal) : [clusters.namespace(scope, input.namespace)];
    const events = (await Promise.all(namespaces.map((ns) => fetchEvents(scope, ns, selector, ctx.signal)))).flat();
    events.sort(byTime);
    if (events.length === 0) return { text: `No ${input.warningsOnly ? 'warning ' : ''}events${input.name ? ` about ${input.kind ?? ''} ${input.name}` : ''}${input.allNamespaces ? '' : ` in namespace ${namespaces[0] ?? ''}`} (events expire after about an hour).` };
    let shown = events.slice(-input.limit);
    let text = eventsTable(shown, { object: true, namespace: input.allNamespaces });
    while (Buffer.byteLength(text) > ctx.budgetBytes - 300 && shown.length > 1) {
      shown = shown.slice(Math.ceil(shown.length / 4));
      text = eventsTable(shown, { object: true, namespace: input.allNamespaces });
    }
    const older = events.length - shown.length;
    return { text: older > 0 ? `${text}\n[${older} older events not shown; narrow with kind/name/warningsOnly or raise limit]` : text };
  },
});
