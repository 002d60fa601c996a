import { parse } from 'yaml';
import { z } from 'zod';
import { invalidArgument } from '../../kit';
import { defineK8sTool, DESTRUCTIVE, locate } from '../define';
import { contextField, nameField, namespaceField, resourceField, revealField } from '../fields';
import type { Json } from '../objects';
import { defaultPatchType, describeRef, getLive, objectDiff, patch } from '../writes';
import { objectEffect } from '../effects';
import { isJsonObject } from '../objects';
import { changeUndo } from '../undo';

export const resourcePatch = defineK8sTool({
  name: 'resource_patch',
  title: 'Resource: Patch',
  description:
    'Changes part of one object with a patch: strategic merge (default for built-in types: lists such as containers merge by name), JSON merge (default for custom resources) or JSON patch (a list of operations). Returns the change as a diff. dryRun: true runs it as a server-side dry run and shows that diff without changing anything.',
  input: z.object({
    context: contextField(),
    resource: resourceField(),
    name: nameField(),
    namespace: namespaceField(),
    patch: z.string().min(1).describe('The patch as JSON or YAML, e.g. {"spec":{"replicas":2}} or, for type json, [{"op":"replace","path":"/spec/replicas","value":2}].'),
    type: z.enum(['strategic', 'merge', 'json']).optional().describe('Patch type; default strategic for built-in types, merge for custom resources.'),
    reveal: revealField(),
  }),
  annotations: DESTRUCTIVE,
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, input),
  async handler(input, ctx) {
    const { scope, type, namespace } = await locate(ctx.services, input, ctx.signal);
    let body: Json;
    try {
      body = parse(input.patch) as Json;
    } catch (err) {
      throw invalidArgument('patch', `it is neither JSON nor YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    const patchType = input.type ?? defaultPatchType(type);
    if (patchType === 'json' ? !Array.isArray(body) : body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw invalidArgument('patch', patchType === 'json' ? 'a JSON patch is a list of operations.' : 'a merge patch is an object.', patchType === 'json' ? 'Send [{"op":"replace","path":"/spec/replicas","value":2}], or use type merge.' : 'Send an object like {"spec":{"replicas":2}}, or use type json for an operation list.');
    }
    const ref = describeRef(type, namespace, input.name);
    const live = await getLive(scope, type, namespace, input.name, ctx.signal);
    if (!live) throw invalidArgument('name', `${ref} does not exist.`, 'Check the name with resources_list, or create it with resource_apply.');
    const result = await patch(scope, type, namespace, input.name, body, { patchType, dryRun: ctx.dryRun, signal: ctx.signal });
    const diff = objectDiff(live, result, ref, input.reveal);
    if (ctx.dryRun) return { text: `Dry run (server-side, ${patchType} patch), nothing was changed. ${diff ? `It would change ${ref}:\n${diff}` : `${ref} would not change.`}` };
    if (!diff) return { text: `${ref} unchanged: the patch matched the live object.`, undo: { undoable: false, reason: 'the patch changed nothing' } };
    return {
      text: `Patched ${ref} (${patchType}):\n${diff}`,
      ...(isJsonObject(result) ? { undo: changeUndo(scope, type, namespace, live, result, `patch ${ref} back to how it was`) } : {}),
    };
  },
});
