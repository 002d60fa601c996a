/**
 * The server's MCP resources: `k8s://targets` (per-cluster reachability, read by the extension's
 * tree), objects and lists as `k8s://{context}/{namespace}/{resource}/{name}` and
 * `k8s://{context}/{namespace}/{resource}` (namespace `_` for cluster-scoped types or all
 * namespaces), and subscriptions to them driven by API watches: resourceVersion tracking,
 * bookmarks, and a fresh list after 410 Gone.
 */
import { ErrorCode, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import { DEFAULT_BUDGET_BYTES, type Logger } from '../kit';
import type { ClusterScope } from './clusters';
import type { K8sServices } from './define';
import { collectionPath, objectPath, type ResourceInfo } from './discovery';
import { listResources } from './listing';
import { at, isJsonObject, redact, render, stripManagedFields, str, type JsonObject } from './objects';

/**
 * A refused resource request (JSON-RPC InvalidParams). The SDK sends `message` as it is and the
 * client prefixes "MCP error <code>: " on arrival; an McpError's message already carries that
 * prefix, so throwing one would put it on the wire twice (and a gateway in between adds a third).
 */
class InvalidParams extends Error {
  readonly code = ErrorCode.InvalidParams;
}

function invalidParams(err: unknown): InvalidParams {
  if (err instanceof InvalidParams) return err;
  const hint = err instanceof ControlPlaneError ? err.details['hint'] : undefined;
  return new InvalidParams(typeof hint === 'string' && hint.length > 0 ? `${errorMessage(err)} ${hint}` : errorMessage(err));
}

export const TARGETS_URI = 'k8s://targets';
const ALL = '_';

interface Address {
  readonly context: string;
  readonly namespace: string | undefined;
  readonly resource: string;
  readonly name: string | undefined;
}

/** Parses `k8s://ctx/ns/resource[/name]`; names are percent-decoded. */
export function parseK8sUri(uri: string): Address | undefined {
  const m = uri.match(/^k8s:\/\/([^/]+)\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/);
  if (!m) return undefined;
  const d = (s: string): string => decodeURIComponent(s);
  return { context: d(m[1]!), namespace: m[2] === ALL ? undefined : d(m[2]!), resource: d(m[3]!), name: m[4] === undefined ? undefined : d(m[4]) };
}

export function k8sUri(a: Address): string {
  const e = encodeURIComponent;
  return `k8s://${e(a.context)}/${a.namespace === undefined ? ALL : e(a.namespace)}/${e(a.resource)}${a.name === undefined ? '' : `/${e(a.name)}`}`;
}

/** Registers the resources and subscription handlers; `close` ends every watch. */
export function registerK8sResources(server: McpServer, services: K8sServices, log: Logger): { close(): void } {
  const { clusters } = services;
  server.registerResource(
    'targets',
    TARGETS_URI,
    {
      title: 'Kubernetes clusters',
      description: 'Reachability of each exposed kubeconfig context: [{context, server, reachable, version, ready, error, checkedAt}].',
      mimeType: 'application/json',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await clusters.targets()) }] }),
  );

  const resolve = async (address: Address): Promise<{ scope: ClusterScope; type: ResourceInfo; namespace: string | undefined }> => {
    const scope = clusters.scope(address.context);
    const type = await scope.discovery.resolve(address.resource);
    let namespace: string | undefined;
    if (type.namespaced && address.namespace !== undefined) namespace = clusters.namespace(scope, address.namespace);
    if (type.namespaced && address.namespace === undefined && address.name !== undefined) {
      throw new InvalidParams(`${address.resource} is namespaced: put the namespace in the URI instead of "${ALL}".`);
    }
    return { scope, type, namespace };
  };

  const read = async (uri: URL): Promise<{ contents: { uri: string; mimeType: string; text: string }[] }> => {
    const address = parseK8sUri(uri.href);
    if (!address) throw new InvalidParams(`Not a k8s:// resource URI: ${uri.href}`);
    try {
      const { scope, type, namespace } = await resolve(address);
      if (address.name !== undefined) {
        const obj = await scope.client.json<JsonObject>({ path: objectPath(type, namespace, address.name) });
        return { contents: [{ uri: uri.href, mimeType: 'application/yaml', text: render(stripManagedFields(redact(obj)), 'yaml') }] };
      }
      const namespaces = !type.namespaced ? [undefined] : namespace === undefined ? await clusters.allNamespaces(scope) : [namespace];
      const result = await listResources({
        scope,
        type,
        namespaces,
        showNamespace: type.namespaced && namespace === undefined,
        labelSelector: undefined,
        fieldSelector: undefined,
        output: 'table',
        limit: 500,
        continueToken: undefined,
        budgetBytes: DEFAULT_BUDGET_BYTES,
        reveal: false,
        signal: AbortSignal.timeout(30_000),
      });
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: result.text }] };
    } catch (err) {
      throw invalidParams(err);
    }
  };

  server.registerResource(
    'object',
    new ResourceTemplate('k8s://{context}/{namespace}/{resource}/{name}', { list: undefined }),
    { title: 'Kubernetes object', description: 'One object as YAML (managedFields removed, Secret values redacted). Namespace "_" for cluster-scoped types. Subscribe to be told when it changes.', mimeType: 'application/yaml' },
    (uri) => read(uri),
  );
  server.registerResource(
    'collection',
    new ResourceTemplate('k8s://{context}/{namespace}/{resource}', { list: undefined }),
    { title: 'Kubernetes objects', description: 'Objects of a type as a table (kubectl columns). Namespace "_" for all namespaces or cluster-scoped types. Subscribe to be told when any of them changes.', mimeType: 'text/plain' },
    (uri) => read(uri),
  );

  const watches = new Map<string, ResourceWatch>();
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const uri = request.params.uri;
    if (watches.has(uri)) return {};
    const address = parseK8sUri(uri);
    if (!address) throw new InvalidParams(`Only k8s://{context}/{namespace}/{resource}[/{name}] resources can be subscribed to (got ${uri}).`);
    let resolved: Awaited<ReturnType<typeof resolve>>;
    try {
      resolved = await resolve(address);
    } catch (err) {
      throw invalidParams(err);
    }
    const watch = new ResourceWatch(resolved.scope, resolved.type, resolved.namespace, address.name, log, () => {
      void server.server.sendResourceUpdated({ uri }).catch((err: unknown) => log.debug(`resources/updated for ${uri} failed: ${errorMessage(err)}`));
    });
    watches.set(uri, watch);
    await watch.start();
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    watches.get(request.params.uri)?.stop();
    watches.delete(request.params.uri);
    return {};
  });
  return {
    close: () => {
      for (const w of watches.values()) w.stop();
      watches.clear();
    },
  };
}

const WATCH_TIMEOUT_SECONDS = 300;
const MAX_BACKOFF_MS = 30_000;
const DEBOUNCE_MS = 100;

/**
 * One subscription's watch: lists to learn the resourceVersion, watches from there with
 * bookmarks, follows the resourceVersion of every event, restarts when the server ends the
 * stream, lists again after 410 Gone (and reports a change, since events may have been missed),
 * and backs off on errors.
 */
export class ResourceWatch {
  private readonly controller = new AbortController();
  private rv: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Lists made (the first one and after each 410), for diagnostics. */
  relists = 0;

  constructor(
    private readonly scope: ClusterScope,
    private readonly type: ResourceInfo,
    private readonly namespace: string | undefined,
    private readonly name: string | undefined,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {}

  /** Resolves once the first list is done (so no change after it is missed). */
  async start(): Promise<void> {
    await this.list();
    void this.loop();
  }

  stop(): void {
    this.controller.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  private get fieldSelector(): string | undefined {
    return this.name === undefined ? undefined : `metadata.name=${this.name}`;
  }

  private async list(): Promise<void> {
    this.relists++;
    const body = await this.scope.client.json<JsonObject>({
      path: collectionPath(this.type, this.namespace),
      query: { fieldSelector: this.fieldSelector, limit: 1 },
      signal: this.controller.signal,
    });
    this.rv = str(body, 'metadata.resourceVersion');
  }

  private changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.controller.signal.aborted) this.onChange();
    }, DEBOUNCE_MS);
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    const signal = this.controller.signal;
    while (!signal.aborted) {
      let gone = false;
      try {
        let buffer = '';
        await this.scope.client.stream(
          {
            path: collectionPath(this.type, this.namespace),
            query: { watch: 1, resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS, fieldSelector: this.fieldSelector },
            signal,
          },
          (chunk) => {
            buffer += chunk.toString('utf8');
            let newline: number;
            while ((newline = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, newline).trim();
              buffer = buffer.slice(newline + 1);
              if (line.length === 0) continue;
              if (this.event(line) === 'gone') gone = true;
            }
          },
        );
        backoff = 500;
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn(`watch ${this.type.resource} (${this.scope.info.name}): ${errorMessage(err)}; retrying in ${backoff} ms`);
        await sleep(backoff, signal);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        continue;
      }
      if (gone && !signal.aborted) {
        try {
          await this.list();
          this.changed();
        } catch (err) {
          if (signal.aborted) return;
          this.log.warn(`relist ${this.type.resource} (${this.scope.info.name}) failed: ${errorMessage(err)}`);
          await sleep(backoff, signal);
        }
      }
    }
  }

  private event(line: string): 'gone' | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return undefined;
    }
    const type = str(parsed, 'type');
    const object = at(parsed, 'object');
    if (type === 'ERROR') {
      const code = isJsonObject(object) ? object['code'] : undefined;
      if (code === 410) return 'gone';
      this.log.warn(`watch ${this.type.resource}: ${str(object, 'message') ?? 'error event'}`);
      return 'gone';
    }
    const rv = str(object, 'metadata.resourceVersion');
    if (rv) this.rv = rv;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.changed();
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}


