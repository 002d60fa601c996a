import { ControlPlaneError } from '../../core/errors';
import { K8sErrorCode, type KubeClient } from './client';

/** A served resource type, as discovery reports it. */
export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  /** The plural resource name used in paths: `deployments`. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** The group's preferred version. */
  readonly preferred: boolean;
}

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `deployment.apps`, `pod`: how kubectl names a type in `kind/name`. */
export function typeName(r: ResourceInfo): string {
  return r.group ? `${r.kind.toLowerCase()}.${r.group}` : r.kind.toLowerCase();
}

/** The collection path of a type, optionally in a namespace. */
export function collectionPath(r: ResourceInfo, namespace: string | undefined): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.resource}` : `${base}/${r.resource}`;
}

export function objectPath(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}

export interface DiscoveryFailure {
  readonly groupVersion: string;
  readonly error: string;
}

const TTL_MS = 5 * 60_000;
const REFRESH_AFTER_MISS_MS = 5_000;
/** Groups that go after all others when a name is ambiguous (kubectl prefers core types too). */
const LOW_PRIORITY = new Set(['metrics.k8s.io']);

/**
 * Discovery of one cluster: every served group-version (legacy discovery, as any API server
 * answers it), cached for 5 minutes and refreshed once when a name does not resolve (a CRD
 * created since). Group-versions that fail (an aggregated API that is down) are skipped and
 * reported, as kubectl does.
 */
export class Discovery {
  private cache: { at: number; resources: ResourceInfo[]; failures: DiscoveryFailure[] } | undefined;
  private pending: Promise<{ resources: ResourceInfo[]; failures: DiscoveryFailure[] }> | undefined;

  constructor(private readonly client: KubeClient) {}

  async resources(signal?: AbortSignal): Promise<{ resources: readonly ResourceInfo[]; failures: readonly DiscoveryFailure[] }> {
    if (this.cache && Date.now() - this.cache.at < TTL_MS) return this.cache;
    return this.refresh(signal);
  }

  private async refresh(signal?: AbortSignal): Promise<{ resources: ResourceInfo[]; failures: DiscoveryFailure[] }> {
    this.pending ??= this.load(signal).then(
      (r) => {
        this.cache = { at: Date.now(), ...r };
        this.pending = undefined;
        return r;
      },
      (err: unknown) => {
        this.pending = undefined;
        throw err;
      },
    );
    return this.pending;
  }

  private async load(signal?: AbortSignal): Promise<{ resources: ResourceInfo[]; failures: DiscoveryFailure[] }> {
    const core = await this.client.json<{ versions?: string[] }>({ path: '/api', signal });
    const groups = await this.client.json<{ groups?: { name: string; versions: { version: string }[]; preferredVersion?: { version: string } }[] }>({ path: '/apis', signal });
    const targets: { group: string; version: string; preferred: boolean }[] = [
      ...(core.versions ?? ['v1']).map((v, i) => ({ group: '', version: v, preferred: i === 0 })),
      ...(groups.groups ?? []).flatMap((g) =>
        g.versions.map((v) => ({ group: g.name, version: v.version, preferred: (g.preferredVersion?.version ?? g.versions[0]?.version) === v.version })),
      ),
    ];
    const resources: ResourceInfo[] = [];
    const failures: DiscoveryFailure[] = [];
    const results = await mapLimit(targets, 8, async (t) => {
      const path = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
      try {
        const list = await this.client.json<{ resources?: RawResource[] }>({ path, signal, timeoutMs: 10_000 });
        return { t, list };
      } catch (err) {
        return { t, error: err instanceof Error ? err.message : String(err) };
      }
    });
    for (const r of results) {
      if ('error' in r) {
        failures.push({ groupVersion: apiVersionOf(r.t), error: r.error ?? 'unknown error' });
        continue;
      }
      for (const raw of r.list.resources ?? []) {
        if (raw.name.includes('/')) continue;
        resources.push({
          group: r.t.group,
          version: r.t.version,
          resource: raw.name,
          singular: raw.singularName || raw.kind.toLowerCase(),
          kind: raw.kind,
          namespaced: raw.namespaced,
          verbs: raw.verbs ?? [],
          shortNames: raw.shortNames ?? [],
          categories: raw.categories ?? [],
          preferred: r.t.preferred,
        });
      }
    }
    return { resources, failures };
  }

  /**
   * The type a user names, as kubectl resolves it: `pods`, `pod`, `po`, `Pod`,
   * `deployments.apps`, `deploy`, `apps/v1/Deployment`, `v1/Pod`, `widgets.example.com`.
   * Throws K8S_UNKNOWN_RESOURCE with near matches.
   */
  async resolve(text: string, signal?: AbortSignal): Promise<ResourceInfo> {
    const first = pick(text, (await this.resources(signal)).resources);
    if (first) return first;
    if (!this.cache || Date.now() - this.cache.at > REFRESH_AFTER_MISS_MS) {
      const again = pick(text, (await this.refresh(signal)).resources);
      if (again) return again;
    }
    const all = (await this.resources(signal)).resources;
    const needle = text.toLowerCase().split(/[./]/)[0] ?? '';
    const near = [...new Set(all.filter((r) => r.preferred && (r.resource.includes(needle) || needle.includes(r.singular))).map((r) => r.resource))].slice(0, 5);
    throw new ControlPlaneError(
      K8sErrorCode.unknownResource,
      `The cluster of context "${this.client.context}" serves no resource type "${text}".${near.length ? ` Did you mean: ${near.join(', ')}?` : ''}`,
      { details: { hint: 'api_resources lists every type with its short names.' } },
    );
  }

  /** The type of an object's apiVersion and kind (manifests). */
  async forKind(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo> {
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/', 2) as [string, string]) : ['', apiVersion];
    const find = (rs: readonly ResourceInfo[]): ResourceInfo | undefined => rs.find((r) => r.group === group && r.version === version && r.kind === kind);
    const found = find((await this.resources(signal)).resources) ?? find((await this.refresh(signal)).resources);
    if (found) return found;
    throw new ControlPlaneError(
      K8sErrorCode.unknownResource,
      `The cluster of context "${this.client.context}" does not serve kind ${kind} in ${apiVersion}.`,
      { details: { hint: 'Check apiVersion and kind (api_resources lists what is served); a CRD must be installed before its objects.' } },
    );
  }
}

interface RawResource {
  name: string;
  singularName?: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
  shortNames?: string[];
  categories?: string[];
}

function rank(r: ResourceInfo): number {
  return (r.group === '' ? 0 : LOW_PRIORITY.has(r.group) ? 2 : 1) * 10 + (r.preferred ? 0 : 1);
}

function pick(text: string, all: readonly ResourceInfo[]): ResourceInfo | undefined {
  const t = text.trim();
  const lower = t.toLowerCase();
  const names = (r: ResourceInfo): string[] => [r.resource, r.singular, r.kind.toLowerCase(), ...r.shortNames];
  const best = (candidates: ResourceInfo[]): ResourceInfo | undefined => [...candidates].sort((a, b) => rank(a) - rank(b))[0];
  if (t.includes('/')) {
    const parts = t.split('/');
    if (parts.length === 3) {
      const [group, version, name] = parts as [string, string, string];
      return best(all.filter((r) => r.group === group && r.version === version && names(r).includes(name.toLowerCase())));
    }
    if (parts.length === 2) {
      const [a, name] = parts as [string, string];
      // v1/Pod (core version) or apps/Deployment (group).
      return best(all.filter((r) => ((r.group === '' && r.version === a) || r.group === a) && names(r).includes(name.toLowerCase())));
    }
    return undefined;
  }
  const exact = all.filter((r) => names(r).includes(lower));
  if (exact.length > 0) return best(exact);
  const dot = lower.indexOf('.');
  if (dot > 0) {
    const name = lower.slice(0, dot);
    const rest = lower.slice(dot + 1);
    const withGroup = all.filter((r) => names(r).includes(name) && (r.group === rest || `${r.version}.${r.group}` === rest));
    if (withGroup.length > 0) return best(withGroup);
  }
  return undefined;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
