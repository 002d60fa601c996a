import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../errors';
import type { UpstreamConnection } from '../supervisor/managed-server';
import type { GatewayContext } from './context';
import type { ClientSession } from './sessions';

/**
 * Resource subscriptions: many client sessions share one upstream subscription per server and
 * URI; the first subscriber subscribes upstream, the last one out unsubscribes, and a restarted
 * child is subscribed again.
 */
export class Subscriptions {
  /** Per server: uri → subscribed session ids. */
  private readonly byServer = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly ctx: GatewayContext) {}

  /** The ids of the sessions subscribed to `uri` on `server`. */
  subscribers(server: string, uri: string): ReadonlySet<string> | undefined {
    return this.byServer.get(server)?.get(uri);
  }

  async subscribe(session: ClientSession, uri: string): Promise<Result> {
    const byUri = this.byServer.get(session.server) ?? new Map<string, Set<string>>();
    this.byServer.set(session.server, byUri);
    const subscribers = byUri.get(uri) ?? new Set<string>();
    const first = subscribers.size === 0;
    subscribers.add(session.id);
    byUri.set(uri, subscribers);
    session.subscriptions.add(uri);
    if (first) {
      const conn = this.ctx.supervisor()?.get(session.server)?.connection;
      if (conn) await conn.client.subscribeResource({ uri });
    }
    return {};
  }

  async unsubscribe(session: ClientSession, uri: string): Promise<Result> {
    session.subscriptions.delete(uri);
    const subscribers = this.byServer.get(session.server)?.get(uri);
    if (!subscribers) return {};
    subscribers.delete(session.id);
    if (subscribers.size === 0) {
      this.byServer.get(session.server)?.delete(uri);
      const conn = this.ctx.supervisor()?.get(session.server)?.connection;
      if (conn) await conn.client.unsubscribeResource({ uri }).catch(() => undefined);
    }
    return {};
  }

  /** Drops every subscription of a closing session. */
  async dropSession(session: ClientSession): Promise<void> {
    for (const uri of session.subscriptions) await this.unsubscribe(session, uri);
  }

  /** A restarted child has lost its subscriptions: make them again. */
  async resubscribe(conn: UpstreamConnection): Promise<void> {
    if (!conn.capabilities.resources?.subscribe) return;
    for (const uri of this.byServer.get(conn.server)?.keys() ?? []) {
      await conn.client.subscribeResource({ uri }).catch((err: unknown) => this.ctx.log(`resubscribe ${uri} on ${conn.server}: ${errorMessage(err)}`));
    }
  }
}
