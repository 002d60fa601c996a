import { z } from 'zod';
import { defineK8sTool, READ_ONLY } from '../define';
import { apiVersionOf } from '../discovery';
import { contextField } from '../fields';
import { renderTable } from '../listing';

export const apiResources = defineK8sTool({
  name: 'api_resources',
  title: 'API: Resources',
  description:
    'Lists the resource types a cluster serves (built-in and CRDs), like `kubectl api-resources`: name, short names, apiVersion, namespaced, kind and verbs. Any NAME or SHORTNAMES entry works as `resource` in the other tools.',
  input: z.object({
    context: contextField(),
    group: z.string().optional().describe('Only this API group ("" for core, "apps", "example.com").'),
    search: z.string().optional().describe('Only types whose name, short name or kind contains this text.'),
  }),
  annotations: READ_ONLY,
  async handler(input, ctx) {
    const scope = ctx.services.clusters.scope(input.context);
    const { resources, failures } = await scope.discovery.resources(ctx.signal);
    const needle = input.search?.toLowerCase();
    const selected = resources
      .filter((r) => r.preferred)
      .filter((r) => input.group === undefined || r.group === input.group)
      .filter((r) => !needle || [r.resource, r.kind.toLowerCase(), ...r.shortNames].some((n) => n.includes(needle)));
    const rows = selected.map((r) => [r.resource, r.shortNames.join(',') || '-', apiVersionOf(r), String(r.namespaced), r.kind, r.verbs.join(',')]);
    const failed = failures.length ? `\nNot available: ${failures.map((f) => `${f.groupVersion} (${f.error})`).join('; ')}` : '';
    return { text: `${rows.length ? renderTable(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND', 'VERBS'], rows) : 'No matching resource types.'}${failed}` };
  },
});
