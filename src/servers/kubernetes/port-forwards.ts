import { createServer, type Server, type Socket } from 'node:net';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import { invalidArgument, type Logger } from '../kit';
import type { KubeClient } from './client';

/** A running port-forward as the tools report it. */
export interface ForwardInfo {
  readonly id: string;
  readonly context: string;
  readonly namespace: string;
  readonly pod: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** What the user asked for (`service/web:80`), when not the pod itself. */
  readonly via: string | undefined;
  readonly activeConnections: number;
  readonly totalConnections: number;
  readonly startedAt: string;
  readonly lastError: string | undefined;
}

interface Session {
  info: Omit<ForwardInfo, 'activeConnections' | 'totalConnections' | 'lastError'>;
  server: Server;
  sockets: Set<Socket>;
  closers: Set<() => void>;
  total: number;
  lastError: string | undefined;
}

/**
 * Port-forwards from 127.0.0.1 to pod ports, one WebSocket tunnel per local connection. They
 * live as long as this server process: the supervisor stopping the server (or the control plane
 * exiting) ends them all.
 */
export class PortForwards {
  private readonly sessions = new Map<string, Session>();
  private counter = 0;

  constructor(private readonly log: Logger) {}

  async start(args: { client: KubeClient; namespace: string; pod: string; remotePort: number; localPort: number; via: string | undefined }): Promise<ForwardInfo> {
    // Refused before listening when each connection would be refused (impersonation).
    args.client.assertOwnCredentialAllowed(`port-forward to pod ${args.namespace}/${args.pod}`);
    const server = createServer();
    const session: Session = {
      info: {
        id: `pf-${++this.counter}`,
        context: args.client.context,
        namespace: args.namespace,
        pod: args.pod,
        remotePort: args.remotePort,
        localPort: 0,
        via: args.via,
        startedAt: new Date().toISOString(),
      },
      server,
      sockets: new Set(),
      closers: new Set(),
      total: 0,
      lastError: undefined,
    };
    server.on('connection', (socket) => {
      session.total++;
      session.sockets.add(socket);
      socket.on('close', () => session.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      // Hold incoming bytes until the tunnel is open.
      socket.pause();
      args.client
        .portForward(args.namespace, args.pod, args.remotePort, socket, (message) => {
          session.lastError = message;
          this.log.warn(`${session.info.id}: ${message}`);
        })
        .then((close) => {
          session.closers.add(close);
          socket.on('close', () => {
            session.closers.delete(close);
            close();
          });
          socket.resume();
        })
        .catch((err: unknown) => {
          session.lastError = errorMessage(err);
          this.log.warn(`${session.info.id}: ${session.lastError}`);
          socket.destroy();
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? invalidArgument('localPort', `127.0.0.1:${args.localPort} is already in use.`, 'Pick another port, or 0 for a free one.')
            : new ControlPlaneError('PORT_FORWARD_FAILED', `Cannot listen on 127.0.0.1:${args.localPort}: ${err.message}`),
        ),
      );
      server.listen(args.localPort, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    session.info = { ...session.info, localPort: typeof address === 'object' && address ? address.port : args.localPort };
    this.sessions.set(session.info.id, session);
    return this.describe(session);
  }

  list(): ForwardInfo[] {
    return [...this.sessions.values()].map((s) => this.describe(s));
  }

  async stop(id: string): Promise<ForwardInfo> {
    const session = this.sessions.get(id);
    if (!session) {
      throw invalidArgument('id', `there is no port-forward "${id}".`, `Running: ${[...this.sessions.keys()].join(', ') || 'none'} (port_forward_list).`);
    }
    await this.end(session);
    return this.describe(session);
  }

  /** Ends every port-forward (server shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.end(s)));
  }

  private async end(session: Session): Promise<void> {
    this.sessions.delete(session.info.id);
    for (const close of session.closers) close();
    for (const s of session.sockets) s.destroy();
    await new Promise<void>((resolve) => session.server.close(() => resolve()));
  }

  private describe(s: Session): ForwardInfo {
    return { ...s.info, activeConnections: s.sockets.size, totalConnections: s.total, lastError: s.lastError };
  }
}
