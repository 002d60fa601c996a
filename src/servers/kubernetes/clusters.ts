import { ControlPlaneError, errorMessage } from '../../core/errors';
import { invalidArgument } from '../kit';
import { clientFor, K8sErrorCode, type ContextInfo, type KubeClient, type KubeconfigLoader, type KubeconfigState } from './client';
import { allowedBy, type K8sServerOptions } from './config';
import { Discovery } from './discovery';
import { Impersonation } from './impersonation';

/** One context's client and discovery, as a tool call uses them. */
export interface ClusterScope {
  readonly info: ContextInfo;
  readonly client: KubeClient;
  readonly discovery: Discovery;
}

/** Reachability of one context: what the tree shows as a target under the server. */
export interface Target {
  readonly context: string;
  readonly server: string;
  readonly reachable: boolean;
  /** gitVersion from /version when reachable. */
  readonly version: string | undefined;
  /** /readyz passed (undefined when unreachable). */
  readonly ready: boolean | undefined;
  readonly error: string | undefined;
  readonly checkedAt: string;
}

const TARGET_TIMEOUT_MS = 3_000;

/**
 * The contexts the server may use and one client per context, created on first use and reused
 * (kept-alive TLS connections, discovery cache) until the kubeconfig changes. Never edits the
 * kubeconfig: every call names its context or uses the current one.
 */
export class Clusters {
  private scopes = new Map<string, ClusterScope>();
  private seenState: KubeconfigState | undefined;

  constructor(
    private readonly loader: KubeconfigLoader,
    readonly options: K8sServerOptions,
    private readonly impersonation = new Impersonation(false),
  ) {}

  /** The kubeconfig's contexts the options expose. */
  state(): KubeconfigState {
    const { info } = this.loader.load();
    if (info !== this.seenState) {
      this.closeClients();
      this.seenState = info;
    }
    return { ...info, contexts: info.contexts.filter((c) => allowedBy(this.options.contexts, c.name)) };
  }

  /** The scope of `context` (default: the kubeconfig's current context). */
  scope(context: string | undefined): ClusterScope {
    const state = this.state();
    const { kc } = this.loader.load();
    if (state.problem !== undefined || !kc) {
      throw new ControlPlaneError(K8sErrorCode.noKubeconfig, state.problem ?? 'No kubeconfig is loaded.');
    }
    const name = context ?? state.currentContext ?? state.contexts[0]?.name;
    const all = this.loader.load().info.contexts;
    const known = all.find((c) => c.name === name);
    if (name === undefined || !known) {
      throw invalidArgument(
        'context',
        name === undefined ? 'no context given and the kubeconfig has no current-context.' : `there is no context "${name}" in the kubeconfig.`,
        `Available contexts: ${state.contexts.map((c) => c.name).join(', ') || '(none)'}.`,
      );
    }
    if (!allowedBy(this.options.contexts, known.name)) {
      throw new ControlPlaneError(K8sErrorCode.notExposed, `Context "${known.name}" is not exposed by this server.`, {
        details: { hint: `Exposed contexts: ${state.contexts.map((c) => c.name).join(', ') || '(none)'} (MCPCP_K8S_CONTEXTS).` },
      });
    }
    let scope = this.scopes.get(known.name);
    if (!scope) {
      const client = clientFor(kc, known, this.impersonation);
      scope = { info: known, client, discovery: new Discovery(client) };
      this.scopes.set(known.name, scope);
    }
    return scope;
  }

  /** The namespace a namespaced call uses: the argument, else the context's; must be exposed. */
  namespace(scope: ClusterScope, requested: string | undefined): string {
    const ns = requested ?? scope.info.namespace;
    this.checkNamespace(ns);
    return ns;
  }

  /**
   * The sources of an all-namespaces call: [undefined] (one cluster-wide request) or, when only
   * some namespaces are exposed, each exposed namespace the cluster has.
   */
  async allNamespaces(scope: ClusterScope, signal?: AbortSignal): Promise<(string | undefined)[]> {
    if (!this.namespacesRestricted) return [undefined];
    const literal = (this.options.namespaces ?? []).filter((p) => !p.includes('*'));
    let names: string[] = literal;
    try {
      const list = await scope.client.json<{ items?: { metadata?: { name?: string } }[] }>({ path: '/api/v1/namespaces', signal });
      names = (list.items ?? []).map((i) => i.metadata?.name ?? '').filter((n) => n.length > 0 && this.namespaceAllowed(n));
    } catch {
      // Listing namespaces may be forbidden: fall back to the patterns without wildcards.
    }
    return [...new Set(names)].sort();
  }

  /** Throws unless namespaced calls may use `namespace`. */
  checkNamespace(namespace: string): void {
    if (!this.namespaceAllowed(namespace)) {
      throw new ControlPlaneError(K8sErrorCode.notExposed, `Namespace "${namespace}" is not exposed by this server.`, {
        details: { hint: `Exposed namespaces: ${this.options.namespaces?.join(', ')} (MCPCP_K8S_NAMESPACES).` },
      });
    }
  }

  namespaceAllowed(namespace: string): boolean {
    return allowedBy(this.options.namespaces, namespace);
  }

  /** True when some namespaces are hidden: all-namespace calls then go namespace by namespace. */
  get namespacesRestricted(): boolean {
    return this.options.namespaces !== undefined;
  }

  /** Version and readiness of every exposed context, checked in parallel with a short timeout. */
  async targets(signal?: AbortSignal): Promise<Target[]> {
    const state = this.state();
    return Promise.all(
      state.contexts.map(async (c): Promise<Target> => {
        const checkedAt = new Date().toISOString();
        try {
          const { client } = this.scope(c.name);
          const version = await client.json<{ gitVersion?: string }>({ path: '/version', timeoutMs: TARGET_TIMEOUT_MS, signal });
          let ready: boolean;
          try {
            await client.text({ path: '/readyz', timeoutMs: TARGET_TIMEOUT_MS, signal });
            ready = true;
          } catch {
            ready = false;
          }
          return { context: c.name, server: c.server, reachable: true, version: version.gitVersion, ready, error: ready ? undefined : 'readyz failed', checkedAt };
        } catch (err) {
          return { context: c.name, server: c.server, reachable: false, version: undefined, ready: undefined, error: errorMessage(err), checkedAt };
        }
      }),
    );
  }

  close(): void {
    this.closeClients();
  }

  private closeClients(): void {
    for (const s of this.scopes.values()) s.client.close();
    this.scopes = new Map();
  }
}
