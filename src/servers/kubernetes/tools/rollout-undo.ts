import { z } from 'zod';
import { invalidArgument } from '../../kit';
import { changeUndo } from '../undo';
import { defineK8sTool, DESTRUCTIVE, locate } from '../define';
import { collectionPath } from '../discovery';
import { contextField, nameField, namespaceField } from '../fields';
import { at, clone, isJsonObject, list, nameOf, record, str, type JsonObject } from '../objects';
import { workloadSelector } from '../rollout';
import { describeRef, getLive, objectDiff, patch } from '../writes';
import { objectEffect } from '../effects';

const REVISION = 'deployment.kubernetes.io/revision';

export const rolloutUndo = defineK8sTool({
  name: 'rollout_undo',
  title: 'Rollout: Undo',
  description:
    'Rolls a Deployment back to its previous revision (or toRevision), as `kubectl rollout undo`: the pod template of that revision\'s ReplicaSet becomes the Deployment\'s template again. dryRun: true shows the template change as a diff after a server-side dry run. Lists the available revisions when the one asked for does not exist.',
  input: z.object({
    context: contextField(),
    name: nameField('Deployment name'),
    namespace: namespaceField(),
    toRevision: z.number().int().min(1).optional().describe('Revision to go back to; default the one before the current.'),
  }),
  annotations: DESTRUCTIVE,
  preview: true,
  effect: (input, ctx) => objectEffect(ctx, { ...input, resource: 'deployments' }),
  async handler(input, ctx) {
    const { scope, type, namespace } = await locate(ctx.services, { ...input, resource: 'deployments.apps' }, ctx.signal);
    const ref = describeRef(type, namespace, input.name);
    const deploy = await getLive(scope, type, namespace, input.name, ctx.signal);
    if (!deploy) throw invalidArgument('name', `${ref} does not exist.`);
    const rsType = await scope.discovery.resolve('replicasets.apps', ctx.signal);
    const body = await scope.client.json({ path: collectionPath(rsType, namespace), query: { labelSelector: workloadSelector(deploy) || undefined }, signal: ctx.signal });
    const uid = str(deploy, 'metadata.uid');
    const revisions = list(body, 'items')
      .filter((rs) => list(rs, 'metadata.ownerReferences').some((r) => str(r, 'uid') === uid))
      .map((rs) => ({ rs, revision: Number(record(rs, 'metadata.annotations')[REVISION] ?? 0) }))
      .sort((a, b) => b.revision - a.revision);
    const current = Number(record(deploy, 'metadata.annotations')[REVISION] ?? revisions[0]?.revision ?? 0);
    const available = revisions.map((r) => r.revision).join(', ') || 'none';
    const target = input.toRevision !== undefined ? revisions.find((r) => r.revision === input.toRevision) : revisions.find((r) => r.revision < current);
    if (!target) {
      throw invalidArgument(
        'toRevision',
        input.toRevision !== undefined ? `${ref} has no revision ${input.toRevision}.` : `${ref} has no revision before ${current}.`,
        `Revisions kept: ${available} (current ${current}).`,
      );
    }
    if (target.revision === current) return { text: `${ref} is already at revision ${current}: nothing to undo.` };
    const template = clone(at(target.rs, 'spec.template') ?? {});
    const labels = at(template, 'metadata.labels');
    if (isJsonObject(labels)) delete labels['pod-template-hash'];
    const result = await patch(scope, type, namespace, input.name, [{ op: 'replace', path: '/spec/template', value: template }], {
      patchType: 'json',
      dryRun: ctx.dryRun,
      signal: ctx.signal,
    });
    const diff = objectDiff(deploy, result, ref, false);
    if (ctx.dryRun) return { text: `Dry run (server-side, nothing was changed): would roll ${ref} back from revision ${current} to ${target.revision} (ReplicaSet ${nameOf(target.rs)}).\n${diff || '(the template already matches)'}` };
    return {
      text: `Rolled ${ref} back to the template of revision ${target.revision} (ReplicaSet ${nameOf(target.rs)}); it becomes revision ${current + 1}. rollout_status follows it.\n${diff}`,
      ...(isJsonObject(result) ? { undo: changeUndo(scope, type, namespace, deploy, result, `put the pod template of ${ref} (revision ${current}) back`) } : {}),
    };
  },
});
