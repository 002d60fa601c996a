/**
 * Writes as every write tool does them: server-side apply and patches with field manager
 * mcp-control-plane, server-side dry runs (dryRun=All) for previews, previews shown as a diff
 * against the live object with secrets redacted, and ownership conflicts explained.
 */
import { ControlPlaneError } from '../../core/errors';
import { apiErrorDetails, isK8sError, K8sErrorCode, type StatusCause } from './client';
import type { ClusterScope } from './clusters';
import { FIELD_MANAGER } from './config';
import { unifiedDiff } from './diff';
import { objectPath, typeName, type ResourceInfo } from './discovery';
import { clone, isJsonObject, nameOf, REDACTED, redactPair, render, type Json, type JsonObject } from './objects';

export type PatchType = 'merge' | 'strategic' | 'json';

export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/** Built-in API groups take strategic merge patches; custom resources only merge and JSON patches. */
export function defaultPatchType(type: ResourceInfo): PatchType {
  return type.group === '' || !type.group.includes('.') || type.group.endsWith('.k8s.io') ? 'strategic' : 'merge';
}

/** The live object, or undefined when it does not exist. */
export async function getLive(scope: ClusterScope, type: ResourceInfo, namespace: string | undefined, name: string, signal: AbortSignal): Promise<JsonObject | undefined> {
  try {
    return await scope.client.json<JsonObject>({ path: objectPath(type, namespace, name), signal });
  } catch (err) {
    if (isK8sError(err, K8sErrorCode.notFound)) return undefined;
    throw err;
  }
}

/** Server-side apply of one object (a server-side dry run when `dryRun`). */
export async function apply(
  scope: ClusterScope,
  type: ResourceInfo,
  namespace: string | undefined,
  obj: JsonObject,
  options: { force: boolean; dryRun: boolean; signal: AbortSignal },
): Promise<JsonObject> {
  return scope.client.json<JsonObject>({
    method: 'PATCH',
    path: objectPath(type, namespace, nameOf(obj)),
    query: { fieldManager: FIELD_MANAGER, force: options.force ? true : undefined, dryRun: options.dryRun ? 'All' : undefined },
    body: obj,
    contentType: 'application/apply-patch+yaml',
    signal: options.signal,
  });
}

export async function patch(
  scope: ClusterScope,
  type: ResourceInfo,
  namespace: string | undefined,
  name: string,
  body: Json,
  options: { patchType: PatchType; dryRun: boolean; subresource?: string; signal: AbortSignal },
): Promise<JsonObject> {
  return scope.client.json<JsonObject>({
    method: 'PATCH',
    path: `${objectPath(type, namespace, name)}${options.subresource ? `/${options.subresource}` : ''}`,
    query: { fieldManager: FIELD_MANAGER, dryRun: options.dryRun ? 'All' : undefined },
    body,
    contentType: PATCH_CONTENT_TYPES[options.patchType],
    signal: options.signal,
  });
}

/** What a preview compares: no managedFields, resourceVersion, generation, uid, timestamps or status. */
function forDiff(obj: JsonObject | undefined): JsonObject | undefined {
  if (!obj) return undefined;
  const copy = clone(obj);
  delete copy['status'];
  const meta = copy['metadata'];
  if (isJsonObject(meta)) {
    for (const k of ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink']) delete meta[k];
  }
  return copy;
}

/**
 * The change from `before` to `after` as a unified diff of YAML, secrets redacted; '' when equal.
 * Key order carries no meaning in an object, so `after` is shown in `before`'s key order: a key
 * whose only change is its place is not reported as removed and added.
 */
export function objectDiff(before: JsonObject | undefined, after: JsonObject, label: string, reveal: boolean): string {
  const [b, a] = reveal ? [forDiff(before), forDiff(after)!] : redactPair(forDiff(before), forDiff(after)!);
  const from = b ? render(b, 'yaml') : '';
  return unifiedDiff(from, render(b ? inKeyOrderOf(a, b) : a, 'yaml'), { from: b ? `${label} (live)` : '/dev/null', to: `${label} (after)` });
}

/** `value` with its object keys in `model`'s order (keys `model` lacks last), at every depth; list items by index. */
function inKeyOrderOf(value: Json, model: Json | undefined): Json {
  if (Array.isArray(value)) return value.map((item, i) => inKeyOrderOf(item, Array.isArray(model) ? model[i] : undefined));
  if (!isJsonObject(value)) return value;
  const m = isJsonObject(model) ? model : {};
  const keys = [...Object.keys(m).filter((k) => Object.hasOwn(value, k)), ...Object.keys(value).filter((k) => !Object.hasOwn(m, k))];
  return Object.fromEntries(keys.map((k) => [k, inKeyOrderOf(value[k]!, m[k])]));
}

/** `deployment.apps/web -n shop`: an object as previews and results name it. */
export function describeRef(type: ResourceInfo, namespace: string | undefined, name: string): string {
  return `${typeName(type)}/${name}${namespace ? ` (namespace ${namespace})` : ''}`;
}

/**
 * A server-side apply conflict, explained: which manager owns which field, the live and the
 * applied value, and the three ways out. Other errors pass through.
 */
export function explainConflict(err: unknown, live: JsonObject | undefined, applied: JsonObject): unknown {
  const details = apiErrorDetails(err);
  if (!details || details.reason !== 'Conflict') return err;
  const conflicts = details.causes.filter((c) => c.reason === 'FieldManagerConflict');
  if (conflicts.length === 0) return err;
  const secret = applied['kind'] === 'Secret';
  const lines = conflicts.map((c) => {
    const owner = managerOf(c);
    const field = c.field ?? '?';
    if (secret && /^\.(data|stringData)\b/.test(field)) return `- ${field}: owned by ${owner}; values ${REDACTED}`;
    return `- ${field}: owned by ${owner}; live value ${show(valueAtPath(live, field))}, yours ${show(valueAtPath(applied, field))}`;
  });
  return new ControlPlaneError(
    K8sErrorCode.conflict,
    `Apply conflict on ${nameOf(applied)} (context "${details.context}"): ${conflicts.length === 1 ? 'a field is' : `${conflicts.length} fields are`} managed by another field manager:\n${lines.join('\n')}`,
    {
      cause: err,
      details: {
        ...details,
        hint: 'Either remove these fields from the manifest (leave them to their owner), set them to the live values (share ownership), or apply again with force: true to take them over (needs approval).',
      },
    },
  );
}

function managerOf(c: StatusCause): string {
  const m = (c.message ?? '').match(/conflict with "([^"]+)"(?: with subresource "([^"]+)")?(?: using (\S+))?/);
  if (!m) return c.message ?? 'another manager';
  return `"${m[1]}"${m[2] ? ` (subresource ${m[2]})` : ''}`;
}

function show(v: Json | undefined): string {
  if (v === undefined) return '<unset>';
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** The value at a conflict path such as `.spec.template.spec.containers[name="nginx"].image`. */
export function valueAtPath(obj: JsonObject | undefined, path: string): Json | undefined {
  let cur: Json | undefined = obj;
  const re = /\.([^.[\]]+)|\[([^\]]+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path))) {
    if (cur === undefined || cur === null) return undefined;
    if (m[1] !== undefined) {
      cur = isJsonObject(cur) ? cur[m[1]] : undefined;
      continue;
    }
    const inner = m[2] ?? '';
    if (!Array.isArray(cur)) return undefined;
    if (inner.startsWith('=')) {
      const wanted = inner.slice(1);
      cur = cur.find((x) => JSON.stringify(x) === wanted);
      continue;
    }
    const keys = inner.split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), JSON.parse(kv.slice(eq + 1)) as Json] as const;
    });
    cur = cur.find((item) => isJsonObject(item) && keys.every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v)));
  }
  return cur;
}


