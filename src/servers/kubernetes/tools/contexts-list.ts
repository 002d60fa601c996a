import { z } from 'zod';
import { defineK8sTool, READ_ONLY } from '../define';
import { renderTable } from '../listing';

export const contextsList = defineK8sTool({
  name: 'contexts_list',
  title: 'Contexts: List',
  description:
    'Lists the kubeconfig contexts this server may use (name, cluster, server, default namespace, how it authenticates) and which one is current. Every other tool takes an optional `context` to run against any of them; nothing is switched and the kubeconfig is never edited. With check: true, also reports whether each cluster answers (version, readyz).',
  input: z.object({
    check: z.boolean().default(false).describe('Also contact each cluster (version and readyz, 3 s timeout each, in parallel).'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const state = clusters.state();
    if (state.problem !== undefined) return { text: state.problem };
    const targets = input.check ? new Map((await clusters.targets(ctx.signal)).map((t) => [t.context, t])) : undefined;
    const header = ['CURRENT', 'NAME', 'CLUSTER', 'SERVER', 'NAMESPACE', 'AUTH', ...(targets ? ['REACHABLE', 'VERSION'] : [])];
    const rows = state.contexts.map((c) => {
      const t = targets?.get(c.name);
      return [
        c.name === state.currentContext ? '*' : '',
        c.name,
        c.cluster,
        c.server,
        c.namespace,
        c.auth,
        ...(t ? [t.reachable ? (t.ready === false ? 'yes (not ready)' : 'yes') : `no: ${t.error ?? ''}`, t.version ?? '-'] : []),
      ];
    });
    const source = state.source === 'in-cluster' ? 'in-cluster service account' : `kubeconfig ${state.files.join(', ')}`;
    return {
      text: `${rows.length === 0 ? 'No contexts are exposed.' : renderTable(header, rows)}\n(from ${source})`,
      structured: {
        currentContext: state.currentContext ?? null,
        contexts: state.contexts.map((c) => ({ ...c, current: c.name === state.currentContext, ...(targets?.get(c.name) ? { reachable: targets.get(c.name)?.reachable } : {}) })),
      },
    };
  },
});
