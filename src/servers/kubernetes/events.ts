import type { ClusterScope } from './clusters';
import { renderTable } from './listing';
import { humanAge, list, num, str, type JsonObject } from './objects';

/** When an event last happened (series, lastTimestamp, eventTime, creation). */
export function eventTime(e: JsonObject): string {
  return str(e, 'series.lastObservedTime') ?? str(e, 'lastTimestamp') ?? str(e, 'eventTime') ?? str(e, 'metadata.creationTimestamp') ?? '';
}

/** Core/v1 events of a namespace (or all), oldest first. */
export async function fetchEvents(
  scope: ClusterScope,
  namespace: string | undefined,
  fieldSelector: string | undefined,
  signal: AbortSignal,
): Promise<JsonObject[]> {
  const path = namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/events` : '/api/v1/events';
  const body = await scope.client.json({ path, query: { fieldSelector, limit: 1000 }, signal });
  return list(body, 'items').sort(byTime);
}

/** Oldest first; events of the same second in the order they were written. */
export function byTime(a: JsonObject, b: JsonObject): number {
  return eventTime(a).localeCompare(eventTime(b)) || Number(str(a, 'metadata.resourceVersion') ?? 0) - Number(str(b, 'metadata.resourceVersion') ?? 0);
}

/** Events about one object (by uid), for describe. */
export async function eventsFor(scope: ClusterScope, obj: JsonObject, signal: AbortSignal): Promise<JsonObject[]> {
  const uid = str(obj, 'metadata.uid');
  if (!uid) return [];
  const namespace = str(obj, 'metadata.namespace') ?? 'default';
  try {
    return await fetchEvents(scope, namespace, `involvedObject.uid=${uid}`, signal);
  } catch {
    return [];
  }
}

/** Events as kubectl describe shows them: type, reason, age (xN), from, message. */
export function eventsTable(events: readonly JsonObject[], options: { object?: boolean; namespace?: boolean } = {}): string {
  const rows = events.map((e) => {
    const count = num(e, 'series.count') ?? num(e, 'count') ?? 1;
    const last = humanAge(eventTime(e));
    const ageText = count > 1 ? `${last} (x${count} over ${humanAge(str(e, 'firstTimestamp') ?? eventTime(e))})` : last;
    const object = `${(str(e, 'involvedObject.kind') ?? '').toLowerCase()}/${str(e, 'involvedObject.name') ?? ''}`;
    return [
      ...(options.namespace ? [str(e, 'metadata.namespace') ?? ''] : []),
      ageText,
      str(e, 'type') ?? 'Normal',
      str(e, 'reason') ?? '',
      ...(options.object ? [object] : []),
      str(e, 'source.component') ?? str(e, 'reportingComponent') ?? '',
      (str(e, 'message') ?? '').replace(/\s+/g, ' ').trim(),
    ];
  });
  return renderTable([...(options.namespace ? ['NAMESPACE'] : []), 'LAST SEEN', 'TYPE', 'REASON', ...(options.object ? ['OBJECT'] : []), 'FROM', 'MESSAGE'], rows);
}
