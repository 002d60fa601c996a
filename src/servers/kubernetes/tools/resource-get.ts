import { z } from 'zod';
import { defineK8sTool, READ_ONLY } from '../define';
import { objectPath } from '../discovery';
import { contextField, nameField, namespaceField, outputField, resourceField, revealField } from '../fields';
import { redact, render, stripManagedFields, type JsonObject } from '../objects';
import { objectEffect } from '../effects';

export const resourceGet = defineK8sTool({
  name: 'resource_get',
  title: 'Resource: Get',
  description:
    'Gets one object of any type as YAML or JSON, like `kubectl get -o yaml` without managedFields. Secret data and the last-applied-configuration annotation are shown as [REDACTED] unless reveal: true. For a readable summary with related objects and events, use resource_describe.',
  input: z.object({
    context: contextField(),
    resource: resourceField(),
    name: nameField(),
    namespace: namespaceField(),
    output: outputField(),
    reveal: revealField(),
  }),
  annotations: READ_ONLY,
  effect: (input, ctx) => objectEffect(ctx, input),
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    const type = await scope.discovery.resolve(input.resource, ctx.signal);
    const namespace = type.namespaced ? clusters.namespace(scope, input.namespace) : undefined;
    const obj = await scope.client.json<JsonObject>({ path: objectPath(type, namespace, input.name), signal: ctx.signal });
    const shaped = stripManagedFields(input.reveal ? obj : redact(obj));
    return { text: render(shaped, input.output) };
  },
});
