import type { Readable } from 'node:stream';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ChildStdioTransport, StdioChild, type ChildTracking, type SpawnSpec, type StopTiming } from './child-process';
import type { ExitInfo } from './state';

/**
 * How the control plane reaches one server: a supervised child over stdio, or an HTTP/SSE
 * upstream the gateway connects to itself. Either ends once (`exited`): a child exits, a
 * connection closes or is dropped.
 */
export interface Link {
  readonly pid: number | undefined;
  /** For an upstream: the URL (without credentials). */
  readonly endpoint: string | undefined;
  readonly exited: Promise<ExitInfo>;
  readonly hasExited: boolean;
  readonly stderr: Readable | undefined;
  /** What it runs or reaches, for the log. */
  readonly description: string;
  /** Connects an MCP client (handshake included); returns the client that connected. */
  connect(makeClient: () => Client): Promise<Client>;
  /** Ends it gracefully (staged for a child). */
  stop(timing: StopTiming): Promise<ExitInfo>;
  /** Ends it now (SIGKILL for a child). */
  kill(): void;
}

export class StdioLink implements Link {
  readonly endpoint = undefined;
  readonly description: string;

  private constructor(private readonly child: StdioChild, spec: SpawnSpec) {
    this.description = `pid ${child.pid}: ${[spec.command, ...spec.args].join(' ')}`;
  }

  static async spawn(spec: SpawnSpec, tracking: ChildTracking = {}): Promise<StdioLink> {
    return new StdioLink(await StdioChild.spawn(spec, tracking), spec);
  }

  get pid(): number {
    return this.child.pid;
  }
  get exited(): Promise<ExitInfo> {
    return this.child.exited;
  }
  get hasExited(): boolean {
    return this.child.hasExited;
  }
  get stderr(): Readable | undefined {
    return this.child.process.stderr ?? undefined;
  }

  async connect(makeClient: () => Client): Promise<Client> {
    const client = makeClient();
    await client.connect(new ChildStdioTransport(this.child));
    return client;
  }

  stop(timing: StopTiming): Promise<ExitInfo> {
    return this.child.stop(timing);
  }

  kill(): void {
    this.child.signal('SIGKILL');
  }
}

/** What an HTTP or SSE upstream is. */
export interface RemoteSpec {
  type: 'http' | 'sse';
  url: string;
  headers: Record<string, string>;
}

/**
 * An upstream MCP server over the network. `http` tries Streamable HTTP and falls back to the
 * older HTTP+SSE transport when the server refuses it (4xx), so an SSE-only server is offered as
 * Streamable HTTP by the gateway with no bridge process.
 */
export class RemoteLink implements Link {
  readonly pid = undefined;
  readonly stderr = undefined;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private resolveExit!: (exit: ExitInfo) => void;
  private client: Client | undefined;
  private transportName = 'streamable HTTP';

  constructor(private readonly spec: RemoteSpec) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get endpoint(): string {
    const url = new URL(this.spec.url);
    url.username = '';
    url.password = '';
    return url.toString();
  }

  get description(): string {
    return `${this.endpoint} (${this.transportName})`;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  async connect(makeClient: () => Client): Promise<Client> {
    const url = new URL(this.spec.url);
    const requestInit = { headers: this.spec.headers };
    if (this.spec.type === 'http') {
      const client = makeClient();
      const transport = new StreamableHTTPClientTransport(url, { requestInit });
      try {
        await this.attach(client, transport);
        return client;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        // A server that only speaks the 2024-11-05 HTTP+SSE transport refuses the POST.
        if (!(typeof code === 'number' && code >= 400 && code < 500)) throw err;
        await client.close().catch(() => undefined);
        this.transportName = `SSE, after streamable HTTP was refused with HTTP ${code}`;
      }
    } else {
      this.transportName = 'SSE';
    }
    const client = makeClient();
    await this.attach(client, new SSEClientTransport(url, { requestInit }));
    return client;
  }

  async stop(): Promise<ExitInfo> {
    await this.client?.close().catch(() => undefined);
    this.end();
    return this.exitInfo!;
  }

  kill(): void {
    void this.client?.close().catch(() => undefined);
    this.end();
  }

  private async attach(client: Client, transport: StreamableHTTPClientTransport | SSEClientTransport): Promise<void> {
    await client.connect(transport);
    this.client = client;
    const previous = transport.onclose;
    transport.onclose = () => {
      previous?.();
      this.end();
    };
  }

  private end(): void {
    if (this.exitInfo) return;
    this.exitInfo = { code: null, signal: null, at: Date.now() };
    this.resolveExit(this.exitInfo);
  }
}
