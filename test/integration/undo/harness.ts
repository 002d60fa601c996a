// The real control plane (as both hosts build it) with built-in servers, an agent's MCP client and
// a human who approves; shared by the undo tests.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { defaultConfig } from '../../../src/core/config/load';
import type { Config } from '../../../src/core/config/schema';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT, firstText, waitFor } from '../../helpers/fixture-plane';

export interface UndoPlane {
  plane: ControlPlane;
  stateDir: string;
  client(server: string): Promise<Client>;
  /** Runs a destructive call that a human approves; its call id and result text. */
  approvedCall(client: Client, name: string, args: Record<string, unknown>): Promise<{ callId: string; text: string }>;
  /** Runs the undo of `callId` and approves it as a human would (`approve: false` rejects it). */
  approvedUndo(callId: string, options?: { digest?: string; approve?: boolean }): Promise<{ ok: boolean; text: string; approvalTool: string }>;
  stop(): Promise<void>;
}

export async function startUndoPlane(options: { config?: (c: Config) => Config; env?: Record<string, string>; roots?: string[]; secrets?: Record<string, string>; stateDir?: string } = {}): Promise<UndoPlane> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'mcpcp-undo-'));
  const secrets = new FileSecretStore(stateDir, {});
  for (const [k, v] of Object.entries(options.secrets ?? {})) await secrets.set(k, v);
  const base = defaultConfig();
  const plane = await ControlPlane.start({
    config: options.config ? options.config(base) : base,
    host: {
      serversDir: join(REPO_ROOT, 'dist/servers'),
      nodePath: process.execPath,
      runAsNode: false,
      env: { PATH: process.env['PATH'] ?? '', HOME: stateDir, ...options.env },
      secrets,
      workspaceTrusted: true,
      defaultCwd: stateDir,
      rootPaths: options.roots ?? [stateDir],
      stateDir,
    },
    roots: () => (options.roots ?? []).map((r, i) => ({ uri: pathToFileURL(r).href, name: `root${i}` })),
    stateDir,
    instancePrefix: 'undo',
    policyLayer: 'user',
  });
  const clients: Client[] = [];
  const approveNext = async (approve = true): Promise<string> => {
    await waitFor(() => plane.oversight.store.list().length === 1, 20_000, 'an approval');
    const a = plane.oversight.store.list()[0]!;
    await plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve }, { kind: 'vscode-ui' });
    return a.tool;
  };
  return {
    plane,
    stateDir,
    async client(server) {
      await plane.supervisor.get(server)!.waitUntilServing(20_000);
      const c = new Client({ name: 'agent', version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url(server)), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      clients.push(c);
      return c;
    },
    async approvedCall(client, name, args) {
      const pending = client.callTool({ name, arguments: args });
      await waitFor(() => plane.oversight.store.list().length === 1, 20_000, `the approval of ${name}`);
      const a = plane.oversight.store.list()[0]!;
      await plane.oversight.decide({ approvalId: a.id, digest: a.digest, approve: true }, { kind: 'vscode-ui' });
      const result = await pending;
      assert.equal(result.isError, undefined, firstText(result));
      assert.equal((result as { _meta?: Record<string, unknown> })._meta?.['mcpcp/undo'], undefined, 'the client never sees the undo handle');
      const all = (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
      return { callId: a.callId!, text: all };
    },
    async approvedUndo(callId, o = {}) {
      const running = plane.undo.run(callId, o.digest !== undefined ? { digest: o.digest } : {});
      const approvalTool = await approveNext(o.approve ?? true);
      return { ...(await running), approvalTool };
    },
    async stop() {
      for (const c of clients) await c.close().catch(() => undefined);
      await plane.stop();
    },
  };
}
