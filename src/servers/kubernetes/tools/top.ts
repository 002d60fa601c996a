import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { isK8sError, K8sErrorCode } from '../client';
import type { ClusterScope } from '../clusters';
import { defineK8sTool, READ_ONLY } from '../define';
import { contextField, namespaceField } from '../fields';
import { renderTable } from '../listing';
import { list, nameOf, record, str, type JsonObject } from '../objects';
import { formatCpu, formatMemory, parseQuantity } from '../quantity';

async function metrics(scope: ClusterScope, path: string, query: Record<string, string | undefined>, signal: AbortSignal): Promise<JsonObject[]> {
  const served = (await scope.discovery.resources(signal)).resources.some((r) => r.group === 'metrics.k8s.io');
  const missing = (): ControlPlaneError =>
    new ControlPlaneError(K8sErrorCode.notServed, `The metrics API (metrics.k8s.io) is not available in context "${scope.info.name}".`, {
      details: { hint: 'Install metrics-server in the cluster to use top_nodes and top_pods; resource_describe shows requests and limits meanwhile.' },
    });
  if (!served) throw missing();
  try {
    return list(await scope.client.json({ path, query, signal }), 'items');
  } catch (err) {
    if (isK8sError(err, K8sErrorCode.notFound) || isK8sError(err, K8sErrorCode.serverError)) throw missing();
    throw err;
  }
}

export const topNodes = defineK8sTool({
  name: 'top_nodes',
  title: 'Nodes: Top',
  description: 'CPU and memory use of each node from metrics.k8s.io (metrics-server), with the share of allocatable, as `kubectl top nodes`.',
  input: z.object({ context: contextField(), labelSelector: z.string().optional().describe('Only nodes with these labels.') }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const scope = ctx.services.clusters.scope(input.context);
    const items = await metrics(scope, '/apis/metrics.k8s.io/v1beta1/nodes', { labelSelector: input.labelSelector }, ctx.signal);
    const nodes = new Map(list(await scope.client.json({ path: '/api/v1/nodes', query: { labelSelector: input.labelSelector }, signal: ctx.signal }), 'items').map((n) => [nameOf(n), n]));
    const rows = items.map((m) => {
      const cpu = parseQuantity(str(m, 'usage.cpu')) ?? 0;
      const mem = parseQuantity(str(m, 'usage.memory')) ?? 0;
      const alloc = record(nodes.get(nameOf(m)) ?? {}, 'status.allocatable');
      const cpuAlloc = parseQuantity(alloc['cpu']);
      const memAlloc = parseQuantity(alloc['memory']);
      return [nameOf(m), formatCpu(cpu), cpuAlloc ? `${Math.round((cpu / cpuAlloc) * 100)}%` : '<unknown>', formatMemory(mem), memAlloc ? `${Math.round((mem / memAlloc) * 100)}%` : '<unknown>'];
    });
    return { text: rows.length ? renderTable(['NAME', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)'], rows) : 'No node metrics yet (metrics-server may still be starting).' };
  },
});

export const topPods = defineK8sTool({
  name: 'top_pods',
  title: 'Pods: Top',
  description: 'CPU and memory use of pods (or of each container) from metrics.k8s.io, heaviest first, as `kubectl top pods`.',
  input: z.object({
    context: contextField(),
    namespace: namespaceField(),
    allNamespaces: z.boolean().default(false).describe('Pods of every (exposed) namespace.'),
    labelSelector: z.string().optional().describe('Only pods with these labels.'),
    containers: z.boolean().default(false).describe('One row per container.'),
    sortBy: z.enum(['cpu', 'memory']).default('cpu').describe('Heaviest first by cpu (default) or memory.'),
    limit: z.number().int().min(1).max(1000).default(50).describe('Most rows to show.'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    const namespaces = input.allNamespaces ? await clusters.allNamespaces(scope, ctx.signal) : [clusters.namespace(scope, input.namespace)];
    const items = (
      await Promise.all(
        namespaces.map((ns) => metrics(scope, ns ? `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(ns)}/pods` : '/apis/metrics.k8s.io/v1beta1/pods', { labelSelector: input.labelSelector }, ctx.signal)),
      )
    ).flat();
    const rows: { cells: string[]; cpu: number; mem: number }[] = [];
    for (const m of items) {
      const containers = list(m, 'containers').map((c) => ({ name: str(c, 'name') ?? '', cpu: parseQuantity(str(c, 'usage.cpu')) ?? 0, mem: parseQuantity(str(c, 'usage.memory')) ?? 0 }));
      const prefix = input.allNamespaces ? [str(m, 'metadata.namespace') ?? ''] : [];
      if (input.containers) for (const c of containers) rows.push({ cells: [...prefix, nameOf(m), c.name, formatCpu(c.cpu), formatMemory(c.mem)], cpu: c.cpu, mem: c.mem });
      else {
        const cpu = containers.reduce((s, c) => s + c.cpu, 0);
        const mem = containers.reduce((s, c) => s + c.mem, 0);
        rows.push({ cells: [...prefix, nameOf(m), formatCpu(cpu), formatMemory(mem)], cpu, mem });
      }
    }
    rows.sort((a, b) => (input.sortBy === 'cpu' ? b.cpu - a.cpu : b.mem - a.mem));
    const header = [...(input.allNamespaces ? ['NAMESPACE'] : []), 'NAME', ...(input.containers ? ['CONTAINER'] : []), 'CPU(cores)', 'MEMORY(bytes)'];
    if (rows.length === 0) return { text: 'No pod metrics (no running pods matched, or metrics-server has not scraped them yet).' };
    const shown = rows.slice(0, input.limit);
    const more = rows.length - shown.length;
    return { text: `${renderTable(header, shown.map((r) => r.cells))}${more > 0 ? `\n[${more} lighter rows not shown; raise limit or filter]` : ''}` };
  },
});
