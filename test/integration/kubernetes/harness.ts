// A real MCP client (in-memory transport) connected to the Kubernetes server, which talks to one
// or more API emulators through a kubeconfig written for the test.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../../src/servers/kit';
import { createKubernetesServer, type K8sServerOptions } from '../../../src/servers/kubernetes';
import { writeKubeconfig, type KubeconfigContext } from '../../fixtures/k8s-emulator/index';

export interface Harness {
  readonly client: Client;
  readonly kubeconfig: string | undefined;
  /** Calls a tool; returns its text, error flag and structured content. */
  call(name: string, args?: Record<string, unknown>, options?: { onprogress?: (p: { progress: number; message?: string }) => void }): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  readonly text: string;
  readonly isError: boolean;
  readonly structured: Record<string, unknown> | undefined;
  readonly raw: CallToolResult;
}

export interface ConnectOptions {
  readonly contexts?: readonly KubeconfigContext[];
  readonly current?: string;
  readonly env?: Record<string, string>;
  readonly options?: Partial<K8sServerOptions>;
  readonly budgetBytes?: number;
}

export async function connect(opts: ConnectOptions): Promise<Harness> {
  const home = mkdtempSync(join(tmpdir(), 'k8s-home-'));
  const kubeconfig = opts.contexts ? writeKubeconfig(opts.contexts, opts.current) : undefined;
  const env = { HOME: home, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}), ...opts.env };
  const server = createKubernetesServer({
    log: silentLogger,
    env,
    options: { contexts: undefined, namespaces: undefined, readOnly: false, ...opts.options },
    serviceAccountDir: join(home, 'no-service-account'),
    ...(opts.budgetBytes === undefined ? {} : { budgetBytes: opts.budgetBytes }),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'k8s-test', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    kubeconfig,
    async call(name, args = {}, options = {}) {
      const raw = CallToolResultSchema.parse(
        await client.callTool({ name, arguments: args }, undefined, {
          ...(options.onprogress ? { onprogress: options.onprogress } : {}),
          timeout: 120_000,
        }),
      );
      const text = raw.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      return { text, isError: raw.isError === true, structured: raw.structuredContent, raw };
    },
    async close() {
      await client.close();
      await server.close();
    },
  };
}
