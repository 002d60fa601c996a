import { z } from 'zod';
import { invalidArgument } from '../../kit';
import { defineK8sTool } from '../define';
import { contextField, namespaceField } from '../fields';
import { renderTable } from '../listing';
import { humanAge, list, nameOf, num, record, str, type JsonObject } from '../objects';
import { isPodReady } from '../pods';
import type { ForwardInfo } from '../port-forwards';

function line(f: ForwardInfo): string {
  return `${f.id}: 127.0.0.1:${f.localPort} -> pod ${f.namespace}/${f.pod}:${f.remotePort}${f.via ? ` (via ${f.via})` : ''}, context ${f.context}`;
}

export const portForwardStart = defineK8sTool({
  name: 'port_forward_start',
  title: 'Port Forward: Start',
  description:
    'Forwards a local port on 127.0.0.1 to a port of a pod, or of a service (a ready pod behind it, with the service port mapped to its target port), like `kubectl port-forward`. Returns the local address to connect to. It runs until port_forward_stop or until the control plane stops.',
  input: z.object({
    context: contextField(),
    namespace: namespaceField(),
    pod: z.string().min(1).optional().describe('Pod to forward to. Give pod or service.'),
    service: z.string().min(1).optional().describe('Service to forward to (a ready pod selected by it).'),
    port: z.union([z.number().int().min(1).max(65535), z.string().min(1)]).describe('Remote port: the pod\'s container port, or the service port (number or name).'),
    localPort: z.number().int().min(0).max(65535).default(0).describe('Local port on 127.0.0.1; 0 (default) picks a free one.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(input, ctx) {
    const { clusters, portForwards } = ctx.services;
    if ((input.pod === undefined) === (input.service === undefined)) throw invalidArgument(input.pod === undefined ? 'pod' : 'service', 'give exactly one of pod and service.');
    const scope = clusters.scope(input.context);
    const namespace = clusters.namespace(scope, input.namespace);
    const podsPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
    let pod: JsonObject;
    let remote: number;
    let via: string | undefined;
    if (input.service !== undefined) {
      const svc = await scope.client.json<JsonObject>({ path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(input.service)}`, signal: ctx.signal });
      const ports = list(svc, 'spec.ports');
      const entry = ports.find((p) => num(p, 'port') === input.port || str(p, 'name') === String(input.port));
      if (!entry) throw invalidArgument('port', `service ${input.service} has no port ${input.port}.`, `Its ports: ${ports.map((p) => `${str(p, 'name') ?? ''} ${num(p, 'port')}`.trim()).join(', ')}.`);
      const selector = Object.entries(record(svc, 'spec.selector')).map(([k, v]) => `${k}=${v}`).join(',');
      if (!selector) throw invalidArgument('service', `service ${input.service} has no selector, so it has no pods to forward to.`);
      const pods = list(await scope.client.json({ path: podsPath, query: { labelSelector: selector }, signal: ctx.signal }), 'items');
      const ready = pods.find(isPodReady);
      if (!ready) throw invalidArgument('service', `service ${input.service} has no ready pod (${pods.length} selected).`, 'Check them with resource_describe.');
      pod = ready;
      const target = entry['targetPort'] ?? entry['port'];
      remote = typeof target === 'number' ? target : namedPort(pod, String(target));
      via = `service/${input.service}:${num(entry, 'port')}`;
    } else {
      pod = await scope.client.json<JsonObject>({ path: `${podsPath}/${encodeURIComponent(input.pod ?? '')}`, signal: ctx.signal });
      remote = typeof input.port === 'number' ? input.port : namedPort(pod, input.port);
      if (str(pod, 'status.phase') !== 'Running') throw invalidArgument('pod', `pod ${nameOf(pod)} is not running (${str(pod, 'status.phase') ?? 'unknown'}).`);
    }
    const info = await portForwards.start({ client: scope.client, namespace, pod: nameOf(pod), remotePort: remote, localPort: input.localPort, via });
    return {
      text: `Forwarding ${line(info)}.\nConnect to http://127.0.0.1:${info.localPort}/ (or any TCP client). Stop it with port_forward_stop id ${info.id}.`,
      structured: { id: info.id, localPort: info.localPort, pod: info.pod, remotePort: info.remotePort },
      undo: { undoable: false, reason: `a port-forward changes nothing in the cluster; it lives in this server until port_forward_stop (id ${info.id}) or the server stops` },
    };
  },
});

function namedPort(pod: JsonObject, name: string): number {
  for (const c of list(pod, 'spec.containers')) for (const p of list(c, 'ports')) if (str(p, 'name') === name) return num(p, 'containerPort') ?? 0;
  if (/^\d+$/.test(name)) return Number(name);
  throw invalidArgument('port', `pod ${nameOf(pod)} has no port named "${name}".`);
}

export const portForwardList = defineK8sTool({
  name: 'port_forward_list',
  title: 'Port Forward: List',
  description: 'Lists the running port-forwards: id, local port, target pod and port, connections, last error.',
  input: z.object({}),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_input, ctx) {
    const all = ctx.services.portForwards.list();
    if (all.length === 0) return { text: 'No port-forwards are running.' };
    const rows = all.map((f) => [f.id, `127.0.0.1:${f.localPort}`, `${f.namespace}/${f.pod}:${f.remotePort}`, f.via ?? '-', f.context, `${f.activeConnections} open / ${f.totalConnections} total`, humanAge(f.startedAt), f.lastError ?? '-']);
    return { text: renderTable(['ID', 'LOCAL', 'TARGET', 'VIA', 'CONTEXT', 'CONNECTIONS', 'AGE', 'LAST ERROR'], rows) };
  },
});

export const portForwardStop = defineK8sTool({
  name: 'port_forward_stop',
  title: 'Port Forward: Stop',
  description: 'Stops a port-forward (its local port closes and open connections end).',
  input: z.object({ id: z.string().min(1).describe('Port-forward id from port_forward_start or port_forward_list, e.g. pf-1.') }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, ctx) {
    const info = await ctx.services.portForwards.stop(input.id);
    return {
      text: `Stopped ${line(info)} (${info.totalConnections} connections served).`,
      undo: { undoable: false, reason: 'the connections it ended are gone; port_forward_start opens a new forward (its local port may differ)' },
    };
  },
});
