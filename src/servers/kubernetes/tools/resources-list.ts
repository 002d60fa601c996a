import { z } from 'zod';
import { defineK8sTool, READ_ONLY } from '../define';
import { contextField, namespaceField, resourceField, revealField } from '../fields';
import { listResources } from '../listing';
import { listEffect } from '../effects';

export const resourcesList = defineK8sTool({
  name: 'resources_list',
  title: 'Resources: List',
  description:
    'Lists objects of any type (pods, deploy, svc, nodes, CRDs...) in a namespace or across all namespaces, filtered by label and field selectors. Default output is a compact table with the columns kubectl shows (from the API server\'s Table format); wide adds the extra columns; name gives kind/name only; yaml/json give whole objects (managedFields removed, Secret values redacted). Output stays within a token budget: when more is left, the result ends with a note giving a `continue` token for the next page.',
  input: z.object({
    context: contextField(),
    resource: resourceField(),
    namespace: namespaceField(),
    allNamespaces: z.boolean().default(false).describe('List across all (exposed) namespaces; a NAMESPACE column is added.'),
    labelSelector: z.string().optional().describe('Label selector, e.g. "app=web,tier!=cache" or "env in (prod,stage)".'),
    fieldSelector: z.string().optional().describe('Field selector, e.g. "status.phase=Running" or "spec.nodeName=node-1".'),
    output: z.enum(['table', 'wide', 'name', 'yaml', 'json']).default('table').describe('table (default), wide, name, yaml or json.'),
    limit: z.number().int().min(1).max(2000).default(500).describe('Most objects to show in this call (the token budget may stop earlier).'),
    continue: z.string().optional().describe('Token from the note of a previous call with the same arguments, to get the next page.'),
    reveal: revealField(),
  }),
  annotations: READ_ONLY,
  effect: (input, ctx) => listEffect(ctx, input),
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    const type = await scope.discovery.resolve(input.resource, ctx.signal);
    const namespaces = !type.namespaced ? [undefined] : input.allNamespaces ? await clusters.allNamespaces(scope, ctx.signal) : [clusters.namespace(scope, input.namespace)];
    const result = await listResources({
      scope,
      type,
      namespaces,
      showNamespace: type.namespaced && input.allNamespaces,
      labelSelector: input.labelSelector,
      fieldSelector: input.fieldSelector,
      output: input.output,
      limit: input.limit,
      continueToken: input.continue,
      budgetBytes: ctx.budgetBytes,
      reveal: input.reveal,
      signal: ctx.signal,
    });
    return { text: result.text };
  },
});
