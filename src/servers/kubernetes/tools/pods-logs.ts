import { z } from 'zod';
import { byteLength, describeBudget } from '../../kit';
import { defineK8sTool, READ_ONLY } from '../define';
import { contextField, namespaceField } from '../fields';
import { nameOf } from '../objects';
import { findPod, pickContainer } from '../pods';
import { execEffect } from '../effects';

export const podsLogs = defineK8sTool({
  name: 'pods_logs',
  title: 'Pods: Logs',
  description:
    'Returns the logs of a pod\'s container: the last tailLines lines (default 200), optionally since some seconds, of the previous (crashed) container, with timestamps. `pod` may also be deployment/NAME, statefulset/NAME or daemonset/NAME (a ready pod of it is picked). With follow: true it keeps reading new lines for followSeconds and sends progress notifications. The newest lines are kept when the output exceeds the budget.',
  input: z.object({
    context: contextField(),
    namespace: namespaceField(),
    pod: z.string().min(1).describe('Pod name, or deployment/NAME (also statefulset/, daemonset/, replicaset/) to pick one of its pods.'),
    container: z.string().optional().describe('Container name; default the pod\'s default container (annotation kubectl.kubernetes.io/default-container) or its first.'),
    tailLines: z.number().int().min(1).max(50_000).default(200).describe('How many of the last lines to return.'),
    sinceSeconds: z.number().int().min(1).optional().describe('Only lines newer than this many seconds.'),
    previous: z.boolean().default(false).describe('Logs of the previous instance of the container (after a crash or restart).'),
    timestamps: z.boolean().default(false).describe('Prefix each line with its RFC 3339 timestamp.'),
    maxBytes: z.number().int().min(1_000).max(10_000_000).optional().describe('Most bytes to fetch from the API server (default: the output budget).'),
    follow: z.boolean().default(false).describe('Keep reading new lines for followSeconds.'),
    followSeconds: z.number().int().min(1).max(300).default(10).describe('How long to follow.'),
  }),
  annotations: READ_ONLY,
  outputKind: 'log',
  effect: (input, ctx) => execEffect(ctx, input),
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    const namespace = clusters.namespace(scope, input.namespace);
    const { pod, note } = await findPod(scope, namespace, input.pod, ctx.signal);
    const { container, others } = pickContainer(pod, input.container);
    const notes = [note, input.container === undefined && others.length > 0 ? `container ${container} (others: ${others.join(', ')})` : undefined].filter(Boolean);
    const maxBytes = input.maxBytes ?? ctx.budgetBytes;
    const query = {
      container,
      tailLines: input.tailLines,
      sinceSeconds: input.sinceSeconds,
      previous: input.previous || undefined,
      timestamps: input.timestamps || undefined,
      limitBytes: maxBytes + 1,
    };
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(nameOf(pod))}/log`;
    let text: string;
    let followed = '';
    if (input.follow && !input.previous) {
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      ctx.signal.addEventListener('abort', stop, { once: true });
      const timer = setTimeout(stop, input.followSeconds * 1000);
      let received = '';
      let lines = 0;
      const ticker = setInterval(() => void ctx.progress(lines, undefined, `${lines} lines so far from ${nameOf(pod)}/${container}`), 1000);
      try {
        await scope.client.stream({ path, query: { ...query, follow: true }, signal: controller.signal }, (chunk) => {
          received += chunk.toString('utf8');
          lines = received.split('\n').length - 1;
          if (byteLength(received) > maxBytes) controller.abort();
        });
      } finally {
        clearTimeout(timer);
        clearInterval(ticker);
        ctx.signal.removeEventListener('abort', stop);
      }
      text = received;
      followed = ` (followed for up to ${input.followSeconds}s)`;
    } else {
      text = await scope.client.text({ path, query, signal: ctx.signal, timeoutMs: 60_000 });
    }
    const head = `Logs of ${namespace}/${nameOf(pod)}, ${notes.length ? notes.join('; ') : `container ${container}`}${input.previous ? ', previous instance' : ''}${followed}:`;
    if (text.length === 0) return { text: `${head}\n(no log lines${input.sinceSeconds ? ` in the last ${input.sinceSeconds}s` : ''})` };
    const budget = Math.min(ctx.budgetBytes, maxBytes) - byteLength(head) - 300;
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    const kept: string[] = [];
    let used = 0;
    for (let i = all.length - 1; i >= 0; i--) {
      const size = byteLength(all[i]!) + 1;
      if (used + size > budget && kept.length > 0) break;
      kept.unshift(all[i]!);
      used += size;
    }
    const cut = all.length - kept.length;
    const truncated = byteLength(text) > maxBytes;
    const notesOut: string[] = [];
    if (cut > 0) notesOut.push(`[${cut} earlier lines not shown (budget ${describeBudget(ctx.budgetBytes)}); narrow with tailLines or sinceSeconds]`);
    else if (truncated) notesOut.push(`[output stopped at maxBytes ${maxBytes}; earlier or later lines may exist]`);
    return { text: `${head}\n${notesOut.length ? `${notesOut.join('\n')}\n` : ''}${kept.join('\n')}` };
  },
});
