import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionGuardOptions {
  /** A connection with no request under way that has not shown the client token is closed after this long. */
  timeoutMs: number;
  /** At most this many such connections are kept; beyond, the oldest is closed. */
  maxPending: number;
}

interface SocketState {
  active: number;
  trusted: boolean;
}

/**
 * Keeps unauthenticated connections from starving the gateway: a connection is *pending* while no
 * request of it is under way and none of its requests carried the client token (a new connection
 * whose headers are unfinished, a keep-alive one after a 401). Pending connections are closed after
 * `timeoutMs`, and when there are more than `maxPending` the oldest goes first — so a local process
 * opening many connections with unfinished headers holds at most `maxPending` sockets for at most
 * `timeoutMs`, and a real client, whose headers arrive at once, is served. Connections that showed
 * the token are never touched here (long approvals and SSE streams stay open).
 */
export class ConnectionGuard {
  /** Pending sockets, oldest first (Map keeps insertion order). */
  private readonly pending = new Map<Socket, NodeJS.Timeout>();
  private readonly state = new WeakMap<Socket, SocketState>();

  constructor(
    server: HttpServer,
    private readonly options: ConnectionGuardOptions,
    /** `secureConnection` for an HTTPS server: requests carry the TLS socket, not the raw one `connection` gives. */
    connectionEvent: 'connection' | 'secureConnection' = 'connection',
  ) {
    server.on(connectionEvent, (socket: Socket) => {
      this.state.set(socket, { active: 0, trusted: false });
      this.park(socket);
      socket.once('close', () => this.unpark(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      const st = this.state.get(socket);
      if (!st) return;
      st.active++;
      this.unpark(socket);
      res.once('close', () => {
        st.active--;
        if (st.active === 0 && !st.trusted && !socket.destroyed) this.park(socket);
      });
    });
  }

  /** The connection showed the client token: it is a real client's. */
  trust(socket: Socket): void {
    const st = this.state.get(socket);
    if (st) st.trusted = true;
    this.unpark(socket);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  close(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private park(socket: Socket): void {
    if (this.pending.has(socket)) return;
    while (this.pending.size >= this.options.maxPending) {
      const [oldest, timer] = this.pending.entries().next().value as [Socket, NodeJS.Timeout];
      clearTimeout(timer);
      this.pending.delete(oldest);
      oldest.destroy();
    }
    const timer = setTimeout(() => {
      this.pending.delete(socket);
      socket.destroy();
    }, this.options.timeoutMs);
    timer.unref();
    this.pending.set(socket, timer);
  }

  private unpark(socket: Socket): void {
    const timer = this.pending.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(socket);
  }
}
