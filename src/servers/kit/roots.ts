import { realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../core/errors';
import type { Logger } from './log';

/** A root the client shared, resolved to a real directory on disk. */
export interface WorkspaceRoot {
  readonly uri: string;
  readonly name: string | undefined;
  /** realpath of the root: symlinks resolved, so confinement checks compare real paths. */
  readonly path: string;
}

/**
 * What the server knows about its roots. `unsupported`: the client has no roots capability, so
 * the server offers nothing that needs roots. `ready` may hold an empty list (no folder open).
 * `failed`: the client did not answer `roots/list`; the next call asks again.
 */
export type RootsState =
  | { readonly kind: 'unsupported' }
  | { readonly kind: 'ready'; readonly roots: readonly WorkspaceRoot[]; readonly ignored: readonly string[] }
  | { readonly kind: 'failed'; readonly reason: string };

const LIST_TIMEOUT_MS = 10_000;

/**
 * The client's roots, asked with `roots/list` when first needed and again after each
 * `notifications/roots/list_changed`. Only `file:` roots that exist are kept, as real paths.
 *
 * Guarantees: concurrent callers share one request; a list_changed notification that arrives
 * while a request is in flight makes the next `current()` ask again; failures are not cached.
 * Roots requests are server-level (not tied to a tool call), so they carry no call tag.
 */
export class RootsTracker {
  private pending: Promise<RootsState> | undefined;
  private generation = 0;
  private readonly listeners = new Set<(state: RootsState) => void>();

  constructor(
    private readonly server: Server,
    private readonly log: Logger,
  ) {
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      this.generation++;
      this.pending = undefined;
      this.log.debug('roots changed; will ask the client again');
      if (this.listeners.size > 0) {
        void this.current().then((state) => {
          for (const listener of this.listeners) listener(state);
        });
      }
    });
  }

  /** The roots as of now (asks the client when nothing valid is cached). */
  current(): Promise<RootsState> {
    if (this.pending) return this.pending;
    const generation = this.generation;
    const request = this.fetch().then((state) => {
      // Do not keep failures, nor answers that a list_changed made stale while in flight.
      if ((state.kind === 'failed' || generation !== this.generation) && this.pending === request) this.pending = undefined;
      return state;
    });
    this.pending = request;
    return request;
  }

  /** Called with the new state after each list_changed. Returns a function that unsubscribes. */
  onDidChange(listener: (state: RootsState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async fetch(): Promise<RootsState> {
    if (!this.server.getClientCapabilities()?.roots) return { kind: 'unsupported' };
    let listed: { uri: string; name?: string | undefined }[];
    try {
      listed = (await this.server.listRoots(undefined, { timeout: LIST_TIMEOUT_MS })).roots;
    } catch (err) {
      this.log.warn(`roots/list failed: ${errorMessage(err)}`);
      return { kind: 'failed', reason: errorMessage(err) };
    }
    const roots: WorkspaceRoot[] = [];
    const ignored: string[] = [];
    for (const root of listed) {
      const path = await rootPath(root.uri);
      if (path === undefined) {
        ignored.push(root.uri);
        continue;
      }
      if (!roots.some((r) => r.path === path)) roots.push({ uri: root.uri, name: root.name, path });
    }
    if (ignored.length > 0) this.log.warn(`ignored roots (not an existing local folder): ${ignored.join(', ')}`);
    return { kind: 'ready', roots, ignored };
  }
}

async function rootPath(uri: string): Promise<string | undefined> {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return await realpath(fileURLToPath(uri));
  } catch {
    return undefined;
  }
}
