import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ControlPlaneError, errorMessage } from '../../../core/errors';
import { invalidArgument } from '../../kit';
import { K8sErrorCode } from '../client';
import { defineK8sTool, DESTRUCTIVE } from '../define';
import { contextField, namespaceField, revealField } from '../fields';
import { isJsonObject, list, nameOf, redact, render, str, stripManagedFields, type JsonObject } from '../objects';
import { apply, describeRef, explainConflict, getLive, objectDiff } from '../writes';
import { manifestEffect } from '../effects';
import { checkCall, identities, resourceArg, restoreCall, shownState } from '../undo';
import type { UndoHandle } from '../../../core/undo/handle';

export const resourceApply = defineK8sTool({
  name: 'resource_apply',
  title: 'Resource: Apply',
  description:
    'Creates or updates objects from YAML (one or several documents separated by ---, or a List) with server-side apply, field manager "mcp-control-plane". When a field is owned by another manager (kubectl, a controller, a Helm release) the apply stops and says which manager owns which field and how to resolve it; force: true takes ownership (needs approval). dryRun: true runs a server-side dry run and shows the result as a diff against the live objects.',
  input: z.object({
    context: contextField(),
    manifest: z.string().min(1).describe('YAML (or JSON) of the objects, several documents separated by ---. Each needs apiVersion, kind and metadata.name.'),
    namespace: namespaceField('Namespace for namespaced objects that do not name one'),
    force: z.boolean().default(false).describe('Take ownership of fields other managers own (server-side apply force). Needs approval.'),
    reveal: revealField(),
  }),
  annotations: { ...DESTRUCTIVE, idempotentHint: true },
  preview: true,
  effect: (input, ctx) => manifestEffect(ctx, input),
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    let objects = parseManifest(input.manifest);
    // An undo: the same objects with their Secret data, from the undo handle the control plane kept.
    const restoring = ctx.undoState?.['manifest'];
    if (typeof restoring === 'string') {
      const full = parseManifest(restoring);
      if (identities(full) !== identities(objects)) throw invalidArgument('manifest', 'the undo state names other objects than the manifest.');
      objects = full;
    }
    const report: string[] = [];
    let failures = 0;
    let undo: UndoHandle | undefined;
    for (const [i, obj] of objects.entries()) {
      const label = `document ${i + 1}`;
      try {
        const type = await scope.discovery.forKind(str(obj, 'apiVersion') ?? '', str(obj, 'kind') ?? '', ctx.signal);
        let namespace: string | undefined;
        if (type.namespaced) {
          const own = str(obj, 'metadata.namespace');
          if (own !== undefined && input.namespace !== undefined && own !== input.namespace) {
            throw invalidArgument('namespace', `${label} is in namespace "${own}" but the call names "${input.namespace}".`, 'Drop the namespace argument or make them agree.');
          }
          namespace = clusters.namespace(scope, own ?? input.namespace);
          const meta = obj['metadata'];
          if (isJsonObject(meta)) meta['namespace'] = namespace;
        }
        const ref = describeRef(type, namespace, nameOf(obj));
        const live = await getLive(scope, type, namespace, nameOf(obj), ctx.signal);
        let result: JsonObject;
        try {
          result = await apply(scope, type, namespace, obj, { force: input.force, dryRun: ctx.dryRun, signal: ctx.signal });
        } catch (err) {
          throw explainConflict(err, live, obj);
        }
        const changed = live === undefined || str(live, 'metadata.resourceVersion') !== str(result, 'metadata.resourceVersion') || ctx.dryRun;
        if (ctx.dryRun) {
          const diff = objectDiff(live, result, ref, input.reveal);
          if (live === undefined) report.push(`${ref}: would be created:\n${render(stripManagedFields(input.reveal ? result : redact(result)), 'yaml')}`);
          else report.push(diff ? `${ref}: would change:\n${diff}` : `${ref}: unchanged (the live object already matches)`);
        }
        if (!ctx.dryRun && changed && objects.length === 1) {
          const name = nameOf(obj);
          const where = namespace !== undefined ? { namespace } : {};
          undo = {
            undoable: true,
            summary: live === undefined ? `delete ${ref}, which the apply created` : `apply ${ref} as it was before`,
            inverse:
              live === undefined
                ? { tool: 'resource_delete', args: { context: scope.info.name, resource: resourceArg(type), name, ...where } }
                : restoreCall(scope, live).inverse,
            ...(live === undefined ? {} : { state: restoreCall(scope, live).state }),
            check: checkCall(scope, type, namespace, name),
            before: live === undefined ? { kind: 'absent', text: 'did not exist' } : shownState(live),
          };
        }
        if (!ctx.dryRun) report.push(live === undefined ? `${ref}: created` : `${ref}: ${changed ? 'configured' : 'unchanged'}`);
      } catch (err) {
        failures++;
        report.push(`${label} (${str(obj, 'kind') ?? '?'} ${nameOf(obj) || '?'}): failed: ${errorMessage(err)}${hintOf(err)}`);
      }
    }
    const head = ctx.dryRun ? 'Dry run (server-side, nothing was changed):' : `Applied with field manager mcp-control-plane${input.force ? ' (force)' : ''}:`;
    const text = `${head}\n${report.join('\n')}`;
    if (failures > 0) {
      throw new ControlPlaneError(K8sErrorCode.badRequest, `${failures} of ${objects.length} objects failed.\n${text}`);
    }
    if (!ctx.dryRun && objects.length > 1) undo = { undoable: false, reason: `${objects.length} objects were applied in one call; undo is kept for an apply of one object` };
    return { text, ...(undo !== undefined ? { undo } : {}) };
  },
});

function hintOf(err: unknown): string {
  if (!(err instanceof ControlPlaneError)) return '';
  const hint = err.details['hint'];
  return typeof hint === 'string' ? `\n  ${hint}` : '';
}

/** The objects of a manifest: every non-empty document, Lists expanded. */
export function parseManifest(text: string): JsonObject[] {
  const docs = parseAllDocuments(text);
  const out: JsonObject[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw invalidArgument('manifest', `document ${i + 1} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`);
    const value: unknown = doc.toJSON();
    if (value === null || value === undefined) return;
    if (!isJsonObject(value)) throw invalidArgument('manifest', `document ${i + 1} is not an object.`);
    if (typeof value['kind'] === 'string' && value['kind'].endsWith('List') && Array.isArray(value['items'])) {
      out.push(...list(value, 'items'));
      return;
    }
    out.push(value);
  });
  if (out.length === 0) throw invalidArgument('manifest', 'it holds no object.');
  out.forEach((o, i) => {
    const missing = ['apiVersion', 'kind', 'metadata.name'].filter((f) => !str(o, f));
    if (missing.length > 0) throw invalidArgument('manifest', `document ${i + 1} has no ${missing.join(', ')}.`, 'Every object needs apiVersion, kind and metadata.name.');
  });
  return out;
}
