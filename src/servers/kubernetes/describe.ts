/**
 * `kubectl describe` in one call: the object's key fields, its conditions, related objects (a
 * Deployment's ReplicaSets and Pods, a Service's endpoints, a Node's pods) and recent events.
 */
import type { ClusterScope } from './clusters';
import { apiVersionOf, type ResourceInfo } from './discovery';
import { eventsFor, eventsTable } from './events';
import { fetchTable, renderTable } from './listing';
import {
  at,
  humanAge,
  isJsonObject,
  LAST_APPLIED,
  list,
  nameOf,
  num,
  record,
  redact,
  REDACTED,
  render,
  str,
  stripManagedFields,
  type JsonObject,
} from './objects';

const MAX_RELATED = 20;

interface Section {
  readonly title: string;
  readonly body: string;
}

export interface DescribeOptions {
  readonly events: number;
  readonly reveal: boolean;
  readonly signal: AbortSignal;
}

export async function describeObject(scope: ClusterScope, type: ResourceInfo, obj: JsonObject, options: DescribeOptions): Promise<string> {
  const lines: string[] = header(type, obj, options.reveal);
  const sections: Section[] = [];
  const add = (title: string, body: string | undefined): void => {
    if (body !== undefined && body.length > 0) sections.push({ title, body });
  };
  const kind = type.group === '' || type.group === 'apps' ? type.kind : '';
  const resolve = (name: string): Promise<ResourceInfo | undefined> => scope.discovery.resolve(name, options.signal).catch(() => undefined);
  const ns = str(obj, 'metadata.namespace');

  switch (kind) {
    case 'Pod':
      lines.push(...pod(obj));
      add('Containers', containers(obj));
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet': {
      lines.push(...workload(kind, obj));
      add('Pod Template', template(obj));
      const selector = selectorString(at(obj, 'spec.selector'));
      if (kind === 'Deployment') {
        const rsType = await resolve('replicasets.apps');
        if (rsType) add('ReplicaSets', await replicaSets(scope, rsType, obj, selector, options.signal));
      }
      const pods = await resolve('pods');
      if (pods && selector) add('Pods', await related(scope, pods, ns, { labelSelector: selector }, options.signal));
      break;
    }
    case 'Service':
      lines.push(...service(obj));
      add('Endpoints', await endpoints(scope, obj, options.signal));
      break;
    case 'Node': {
      lines.push(...node(obj));
      const pods = await resolve('pods');
      if (pods) add('Pods on this node', await related(scope, pods, undefined, { fieldSelector: `spec.nodeName=${nameOf(obj)},status.phase!=Succeeded,status.phase!=Failed` }, options.signal));
      break;
    }
    case 'Secret': {
      lines.push(`Type:         ${str(obj, 'type') ?? 'Opaque'}`);
      const data = at(obj, 'data');
      const rows = isJsonObject(data) ? Object.entries(data).map(([k, v]) => `${k}: ${typeof v === 'string' ? Buffer.from(v, 'base64').length : 0} bytes`) : [];
      add('Data', rows.join('\n') || '<none>');
      break;
    }
    case 'ConfigMap': {
      const data = record(obj, 'data');
      add('Data', Object.entries(data).map(([k, v]) => `${k}:\n${clip(v, 12).split('\n').map((l) => `  ${l}`).join('\n')}`).join('\n') || '<none>');
      break;
    }
    case 'Namespace':
      lines.push(`Status:       ${str(obj, 'status.phase') ?? 'Active'}`);
      break;
    default: {
      const shaped = stripManagedFields(options.reveal ? obj : redact(obj));
      if (shaped['spec'] !== undefined) add('Spec', render(shaped['spec'], 'yaml'));
      const status = isJsonObject(shaped['status']) ? { ...shaped['status'] } : undefined;
      if (status) {
        delete status['conditions'];
        if (Object.keys(status).length > 0) add('Status', render(status, 'yaml'));
      }
      const rest = Object.keys(shaped).filter((k) => !['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k));
      if (rest.length > 0) add('Fields', render(Object.fromEntries(rest.map((k) => [k, shaped[k] ?? null])), 'yaml'));
    }
  }
  const conditionRows = list(obj, 'status.conditions').map((c) => [
    str(c, 'type') ?? '',
    str(c, 'status') ?? '',
    str(c, 'reason') ?? '',
    humanAge(str(c, 'lastTransitionTime')),
    (str(c, 'message') ?? '').replace(/\s+/g, ' '),
  ]);
  if (conditionRows.length > 0) add('Conditions', renderTable(['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'], conditionRows));
  const events = await eventsFor(scope, obj, options.signal);
  const recent = events.slice(-options.events);
  add(
    `Events${events.length > recent.length ? ` (last ${recent.length} of ${events.length})` : ''}`,
    recent.length > 0 ? eventsTable(recent) : '<none>',
  );
  return [...lines, ...sections.map((s) => `${s.title}:\n${indent(s.body)}`)].join('\n');
}

function header(type: ResourceInfo, obj: JsonObject, reveal: boolean): string[] {
  const out = [`Name:         ${nameOf(obj)}`];
  const ns = str(obj, 'metadata.namespace');
  if (ns) out.push(`Namespace:    ${ns}`);
  out.push(`Kind:         ${type.kind} (${apiVersionOf(type)})`);
  const labels = Object.entries(record(obj, 'metadata.labels'));
  out.push(`Labels:       ${labels.length ? labels.map(([k, v]) => `${k}=${v}`).join(', ') : '<none>'}`);
  const annotations = Object.entries(record(obj, 'metadata.annotations')).map(([k, v]) => [k, k === LAST_APPLIED && !reveal ? REDACTED : v] as const);
  if (annotations.length) out.push(`Annotations:  ${annotations.map(([k, v]) => `${k}=${clipLine(v, 100)}`).join(', ')}`);
  const created = str(obj, 'metadata.creationTimestamp');
  out.push(`Created:      ${created ?? '<unknown>'} (${humanAge(created)} ago)`);
  const owner = list(obj, 'metadata.ownerReferences').find((r) => r['controller'] === true) ?? list(obj, 'metadata.ownerReferences')[0];
  if (owner) out.push(`Controlled By: ${str(owner, 'kind')}/${str(owner, 'name')}`);
  const deleting = str(obj, 'metadata.deletionTimestamp');
  if (deleting) out.push(`Terminating:  since ${deleting} (finalizers: ${list(obj, 'metadata.finalizers').length ? JSON.stringify(at(obj, 'metadata.finalizers')) : 'none'})`);
  return out;
}

function pod(obj: JsonObject): string[] {
  const statuses = list(obj, 'status.containerStatuses');
  const ready = statuses.filter((c) => c['ready'] === true).length;
  return [
    `Status:       ${podStatus(obj)} (${ready}/${list(obj, 'spec.containers').length} ready, phase ${str(obj, 'status.phase') ?? 'Unknown'})`,
    `Node:         ${str(obj, 'spec.nodeName') ?? '<none>'}${str(obj, 'status.hostIP') ? `/${str(obj, 'status.hostIP')}` : ''}`,
    `IP:           ${str(obj, 'status.podIP') ?? '<none>'}`,
    `Started:      ${str(obj, 'status.startTime') ?? '<not started>'}`,
    `QoS Class:    ${str(obj, 'status.qosClass') ?? '<unknown>'}`,
    `Service Account: ${str(obj, 'spec.serviceAccountName') ?? 'default'}`,
  ];
}

/** The pod's status as kubectl prints it: Terminating, a container's waiting/terminated reason, or the phase. */
export function podStatus(obj: JsonObject): string {
  if (str(obj, 'metadata.deletionTimestamp')) return 'Terminating';
  let reason = str(obj, 'status.reason') ?? str(obj, 'status.phase') ?? 'Unknown';
  for (const cs of [...list(obj, 'status.containerStatuses')].reverse()) {
    const waiting = str(cs, 'state.waiting.reason');
    const terminated = str(cs, 'state.terminated.reason');
    if (waiting) reason = waiting;
    else if (terminated) reason = terminated;
  }
  return reason;
}

function containers(obj: JsonObject): string {
  const statuses = new Map(list(obj, 'status.containerStatuses').map((s) => [str(s, 'name'), s]));
  return list(obj, 'spec.containers')
    .map((c) => {
      const s = statuses.get(str(c, 'name'));
      const out = [`${str(c, 'name')}:`, `  Image:     ${str(c, 'image')}`];
      const ports = list(c, 'ports').map((p) => `${num(p, 'containerPort')}/${str(p, 'protocol') ?? 'TCP'}${str(p, 'name') ? ` (${str(p, 'name')})` : ''}`);
      if (ports.length) out.push(`  Ports:     ${ports.join(', ')}`);
      if (s) {
        out.push(`  State:     ${state(at(s, 'state'))}`);
        const last = state(at(s, 'lastState'));
        if (last !== '<none>') out.push(`  Last State: ${last}`);
        out.push(`  Ready:     ${s['ready'] === true}`, `  Restarts:  ${num(s, 'restartCount') ?? 0}`);
      }
      const resources = at(c, 'resources');
      if (isJsonObject(resources) && Object.keys(resources).length > 0) out.push(`  Resources: ${JSON.stringify(resources)}`);
      const env = list(c, 'env').map((e) => {
        const from = at(e, 'valueFrom');
        if (isJsonObject(from)) {
          const secret = at(from, 'secretKeyRef');
          const cm = at(from, 'configMapKeyRef');
          if (isJsonObject(secret)) return `${str(e, 'name')} (secret ${str(secret, 'name')} key ${str(secret, 'key')})`;
          if (isJsonObject(cm)) return `${str(e, 'name')} (configmap ${str(cm, 'name')} key ${str(cm, 'key')})`;
          return `${str(e, 'name')} (from ${Object.keys(from).join(',')})`;
        }
        return `${str(e, 'name')}=${clipLine(str(e, 'value') ?? '', 60)}`;
      });
      if (env.length) out.push(`  Env:       ${env.join(', ')}`);
      const mounts = list(c, 'volumeMounts').map((m) => `${str(m, 'mountPath')} from ${str(m, 'name')}${m['readOnly'] === true ? ' (ro)' : ''}`);
      if (mounts.length) out.push(`  Mounts:    ${mounts.join(', ')}`);
      return out.join('\n');
    })
    .join('\n');
}

function state(s: unknown): string {
  if (!isJsonObject(s)) return '<none>';
  if (isJsonObject(s['running'])) return `Running since ${str(s, 'running.startedAt') ?? '?'}`;
  if (isJsonObject(s['waiting'])) return `Waiting: ${str(s, 'waiting.reason') ?? ''}${str(s, 'waiting.message') ? ` (${clipLine(str(s, 'waiting.message') ?? '', 200)})` : ''}`;
  if (isJsonObject(s['terminated'])) {
    return `Terminated: ${str(s, 'terminated.reason') ?? ''} (exit code ${num(s, 'terminated.exitCode') ?? '?'}, finished ${str(s, 'terminated.finishedAt') ?? '?'})`;
  }
  return '<none>';
}

function workload(kind: string, obj: JsonObject): string[] {
  const desired = num(obj, 'spec.replicas') ?? 1;
  const out = [`Selector:     ${selectorString(at(obj, 'spec.selector')) || '<none>'}`];
  if (kind === 'DaemonSet') {
    out.push(`Pods:         ${num(obj, 'status.desiredNumberScheduled') ?? 0} desired | ${num(obj, 'status.currentNumberScheduled') ?? 0} current | ${num(obj, 'status.numberReady') ?? 0} ready | ${num(obj, 'status.numberAvailable') ?? 0} available`);
  } else {
    out.push(
      `Replicas:     ${desired} desired | ${num(obj, 'status.updatedReplicas') ?? 0} updated | ${num(obj, 'status.replicas') ?? 0} total | ${num(obj, 'status.availableReplicas') ?? 0} available | ${num(obj, 'status.unavailableReplicas') ?? 0} unavailable`,
    );
  }
  if (kind === 'Deployment') {
    const strategy = str(obj, 'spec.strategy.type') ?? 'RollingUpdate';
    const ru = at(obj, 'spec.strategy.rollingUpdate');
    out.push(`Strategy:     ${strategy}${isJsonObject(ru) ? ` (max unavailable ${str(ru, 'maxUnavailable') ?? '25%'}, max surge ${str(ru, 'maxSurge') ?? '25%'})` : ''}`);
    out.push(`Revision:     ${record(obj, 'metadata.annotations')['deployment.kubernetes.io/revision'] ?? '?'}`);
    if (at(obj, 'spec.paused') === true) out.push('Paused:       true');
  }
  const observed = num(obj, 'status.observedGeneration');
  const generation = num(obj, 'metadata.generation');
  if (observed !== undefined && generation !== undefined && observed < generation) out.push(`Generation:   ${generation} (controller has seen ${observed}: update in progress)`);
  return out;
}

function template(obj: JsonObject): string {
  const labels = Object.entries(record(obj, 'spec.template.metadata.labels')).map(([k, v]) => `${k}=${v}`).join(', ');
  const cs = list(obj, 'spec.template.spec.containers').map((c) => {
    const ports = list(c, 'ports').map((p) => `${num(p, 'containerPort')}/${str(p, 'protocol') ?? 'TCP'}`).join(', ');
    return `${str(c, 'name')}: ${str(c, 'image')}${ports ? ` (ports ${ports})` : ''}`;
  });
  return [`Labels: ${labels || '<none>'}`, ...cs].join('\n');
}

async function replicaSets(scope: ClusterScope, rsType: ResourceInfo, deploy: JsonObject, selector: string, signal: AbortSignal): Promise<string> {
  const body = await scope.client.json({ path: `/apis/${rsType.group}/${rsType.version}/namespaces/${encodeURIComponent(str(deploy, 'metadata.namespace') ?? '')}/replicasets`, query: { labelSelector: selector || undefined }, signal });
  const uid = str(deploy, 'metadata.uid');
  const current = record(deploy, 'metadata.annotations')['deployment.kubernetes.io/revision'];
  const owned = list(body, 'items')
    .filter((rs) => list(rs, 'metadata.ownerReferences').some((r) => str(r, 'uid') === uid))
    .sort((a, b) => Number(record(b, 'metadata.annotations')['deployment.kubernetes.io/revision'] ?? 0) - Number(record(a, 'metadata.annotations')['deployment.kubernetes.io/revision'] ?? 0));
  if (owned.length === 0) return '<none>';
  const rows = owned.slice(0, MAX_RELATED).map((rs) => {
    const revision = record(rs, 'metadata.annotations')['deployment.kubernetes.io/revision'] ?? '?';
    return [
      nameOf(rs),
      revision === current ? `${revision} (current)` : revision,
      String(num(rs, 'spec.replicas') ?? 0),
      String(num(rs, 'status.replicas') ?? 0),
      String(num(rs, 'status.readyReplicas') ?? 0),
      list(rs, 'spec.template.spec.containers').map((c) => str(c, 'image')).join(','),
      humanAge(str(rs, 'metadata.creationTimestamp')),
    ];
  });
  return renderTable(['NAME', 'REVISION', 'DESIRED', 'CURRENT', 'READY', 'IMAGES', 'AGE'], rows) + (owned.length > MAX_RELATED ? `\n(${owned.length - MAX_RELATED} older not shown)` : '');
}

async function related(scope: ClusterScope, type: ResourceInfo, namespace: string | undefined, selectors: { labelSelector?: string; fieldSelector?: string }, signal: AbortSignal): Promise<string> {
  const t = await fetchTable(scope, type, namespace, { ...selectors, limit: MAX_RELATED, signal });
  if (t.rows.length === 0) return '<none>';
  if (!t.more) return renderTable(t.header, t.rows);
  // The follow-up call must select the same objects: the same namespace, or all of them.
  const args = [
    `resource=${type.resource}`,
    ...(!type.namespaced ? [] : namespace === undefined ? ['allNamespaces=true'] : [`namespace=${namespace}`]),
    ...(selectors.labelSelector ? [`labelSelector="${selectors.labelSelector}"`] : []),
    ...(selectors.fieldSelector ? [`fieldSelector="${selectors.fieldSelector}"`] : []),
  ];
  return `${renderTable(t.header, t.rows)}\n(${t.remaining === undefined ? 'more' : `${t.remaining} more`} not shown: resources_list ${args.join(' ')})`;
}

function service(obj: JsonObject): string[] {
  const ports = list(obj, 'spec.ports').map(
    (p) => `${str(p, 'name') ? `${str(p, 'name')} ` : ''}${num(p, 'port')}/${str(p, 'protocol') ?? 'TCP'} -> ${str(p, 'targetPort') ?? num(p, 'port')}${num(p, 'nodePort') ? ` (node port ${num(p, 'nodePort')})` : ''}`,
  );
  const selector = Object.entries(record(obj, 'spec.selector')).map(([k, v]) => `${k}=${v}`).join(',');
  return [
    `Type:         ${str(obj, 'spec.type') ?? 'ClusterIP'}`,
    `IP:           ${str(obj, 'spec.clusterIP') ?? '<none>'}`,
    `Ports:        ${ports.join(', ') || '<none>'}`,
    `Selector:     ${selector || '<none> (endpoints are managed by hand)'}`,
    `Session Affinity: ${str(obj, 'spec.sessionAffinity') ?? 'None'}`,
  ];
}

async function endpoints(scope: ClusterScope, svc: JsonObject, signal: AbortSignal): Promise<string> {
  const ns = str(svc, 'metadata.namespace') ?? 'default';
  let ep: JsonObject;
  try {
    ep = await scope.client.json<JsonObject>({ path: `/api/v1/namespaces/${encodeURIComponent(ns)}/endpoints/${encodeURIComponent(nameOf(svc))}`, signal });
  } catch {
    return '<none> (no Endpoints object)';
  }
  const ready: string[] = [];
  const notReady: string[] = [];
  for (const subset of list(ep, 'subsets')) {
    const ports = list(subset, 'ports').map((p) => num(p, 'port'));
    const fmt = (a: JsonObject): string => `${str(a, 'ip')}:${ports.join(',')}${str(a, 'targetRef.name') ? ` (${str(a, 'targetRef.kind')?.toLowerCase()}/${str(a, 'targetRef.name')})` : ''}`;
    ready.push(...list(subset, 'addresses').map(fmt));
    notReady.push(...list(subset, 'notReadyAddresses').map(fmt));
  }
  if (ready.length === 0 && notReady.length === 0) return '<none>: no ready pod matches the selector (check the pods with resources_list and the labels).';
  const cap = (xs: string[]): string => xs.slice(0, MAX_RELATED).join('\n') + (xs.length > MAX_RELATED ? `\n(${xs.length - MAX_RELATED} more)` : '');
  return [ready.length ? `Ready (${ready.length}):\n${indent(cap(ready))}` : 'Ready: <none>', notReady.length ? `Not ready (${notReady.length}):\n${indent(cap(notReady))}` : ''].filter(Boolean).join('\n');
}

function node(obj: JsonObject): string[] {
  const roles = Object.keys(record(obj, 'metadata.labels')).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice(24));
  const taints = list(obj, 'spec.taints').map((t) => `${str(t, 'key')}${str(t, 'value') ? `=${str(t, 'value')}` : ''}:${str(t, 'effect')}`);
  const addresses = list(obj, 'status.addresses').map((a) => `${str(a, 'type')}=${str(a, 'address')}`);
  const res = (path: string): string => {
    const r = record(obj, path);
    return `cpu ${r['cpu'] ?? '?'}, memory ${r['memory'] ?? '?'}, pods ${r['pods'] ?? '?'}`;
  };
  return [
    `Roles:        ${roles.join(',') || '<none>'}`,
    `Unschedulable: ${at(obj, 'spec.unschedulable') === true}`,
    `Taints:       ${taints.join(', ') || '<none>'}`,
    `Addresses:    ${addresses.join(', ') || '<none>'}`,
    `Capacity:     ${res('status.capacity')}`,
    `Allocatable:  ${res('status.allocatable')}`,
    `System:       kubelet ${str(obj, 'status.nodeInfo.kubeletVersion') ?? '?'}, ${str(obj, 'status.nodeInfo.osImage') ?? '?'}, ${str(obj, 'status.nodeInfo.containerRuntimeVersion') ?? '?'}`,
  ];
}

/** A label selector object as a query string (`app=web,tier in (a,b)`). */
export function selectorString(selector: unknown): string {
  if (!isJsonObject(selector)) return '';
  const parts = Object.entries(record(selector, 'matchLabels')).map(([k, v]) => `${k}=${v}`);
  for (const e of list(selector, 'matchExpressions')) {
    const op = str(e, 'operator');
    const values = Array.isArray(e['values']) ? e['values'].join(',') : '';
    if (op === 'In' || op === 'NotIn') parts.push(`${str(e, 'key')} ${op.toLowerCase()} (${values})`);
    else if (op === 'Exists') parts.push(str(e, 'key') ?? '');
    else if (op === 'DoesNotExist') parts.push(`!${str(e, 'key') ?? ''}`);
  }
  return parts.join(',');
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

function clip(text: string, maxLines: number): string {
  const lines = text.split('\n');
  return lines.length <= maxLines ? text.trimEnd() : `${lines.slice(0, maxLines).join('\n')}\n… (${lines.length - maxLines} more lines)`;
}

function clipLine(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

