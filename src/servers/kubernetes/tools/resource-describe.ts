import { z } from 'zod';
import { defineK8sTool, locate, READ_ONLY } from '../define';
import { describeObject } from '../describe';
import { objectPath } from '../discovery';
import { contextField, nameField, namespaceField, resourceField, revealField } from '../fields';
import type { JsonObject } from '../objects';
import { objectEffect } from '../effects';

export const resourceDescribe = defineK8sTool({
  name: 'resource_describe',
  title: 'Resource: Describe',
  description:
    'Describes one object in a single call, like `kubectl describe`: key fields, conditions, related objects (a Deployment\'s ReplicaSets and Pods, a Service\'s endpoints, a Node\'s pods, a Pod\'s containers with their states) and its recent events. The first tool to use when something is not working.',
  input: z.object({
    context: contextField(),
    resource: resourceField(),
    name: nameField(),
    namespace: namespaceField(),
    events: z.number().int().min(0).max(100).default(15).describe('How many of the most recent events to show.'),
    reveal: revealField(),
  }),
  annotations: READ_ONLY,
  effect: (input, ctx) => objectEffect(ctx, input),
  async handler(input, ctx) {
    const { scope, type, namespace } = await locate(ctx.services, input, ctx.signal);
    const obj = await scope.client.json<JsonObject>({ path: objectPath(type, namespace, input.name), signal: ctx.signal });
    return { text: await describeObject(scope, type, obj, { events: input.events, reveal: input.reveal, signal: ctx.signal }) };
  },
});
