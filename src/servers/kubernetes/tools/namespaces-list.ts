import { z } from 'zod';
import { defineK8sTool, READ_ONLY } from '../define';
import { contextField } from '../fields';
import { renderTable } from '../listing';
import { humanAge, list, nameOf, str } from '../objects';

export const namespacesList = defineK8sTool({
  name: 'namespaces_list',
  title: 'Namespaces: List',
  description: 'Lists the namespaces of a cluster that this server exposes, with their status and age.',
  input: z.object({ context: contextField() }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    const body = await scope.client.json({ path: '/api/v1/namespaces', signal: ctx.signal });
    const items = list(body, 'items').filter((n) => clusters.namespaceAllowed(nameOf(n)));
    const rows = items.map((n) => [nameOf(n), str(n, 'status.phase') ?? 'Active', humanAge(str(n, 'metadata.creationTimestamp'))]);
    const note = clusters.namespacesRestricted ? `\n(only exposed namespaces are shown: ${clusters.options.namespaces?.join(', ')})` : '';
    return { text: `${rows.length ? renderTable(['NAME', 'STATUS', 'AGE'], rows) : 'No namespaces.'}${note}` };
  },
});
