// What the suites do with MCP Control Plane itself: activate it, wait for a server's state, reach
// its gateway as an MCP client, and decide approvals through the Approvals view's test hooks.
'use strict';

const vscode = require('vscode');
const { waitFor } = require('./wait');

const EXTENSION_ID = 'mcp-control-plane.mcp-control-plane';
const APPROVALS_VIEW = 'mcpControlPlane.approvals';

/**
 * Activates the extension and resolves with its API (see ExtensionApi in src/extension/extension.ts)
 * once the control plane has started behind it (activate() returns before that).
 */
async function activateExtension() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded`);
  const api = await ext.activate();
  await api.ready;
  return api;
}

/**
 * Waits until `api.servers()` shows `name` in `state` and `extra(server)` holds; resolves with the
 * server. Gives up at once on an unexpected `failed`, with the server's error.
 */
async function waitForServer(api, name, state, extra = () => true, { timeout = 45_000 } = {}) {
  let last;
  try {
    return await waitFor(`${name} to be ${state}`, () => {
      last = api.servers().find((s) => s.name === name);
      if (last?.state === 'failed' && state !== 'failed') throw new Error(`${name} failed: ${last.lastError}`);
      return last && last.state === state && extra(last) ? last : undefined;
    }, { timeout });
  } catch (err) {
    throw new Error(`${err.message}; servers(): ${JSON.stringify(api.servers())}`);
  }
}

/**
 * An MCP client (the repository's SDK) connected to `server` through the gateway, with the
 * endpoint and token a user gets from "Copy Client Configuration" (which this runs: it overwrites
 * the clipboard). Close it when done.
 */
async function gatewayClient(server) {
  await vscode.env.clipboard.writeText('');
  await vscode.commands.executeCommand('mcpControlPlane.clientConfig.copy');
  const config = JSON.parse(await vscode.env.clipboard.readText());
  const entry = config.servers?.[server];
  if (!entry?.url) throw new Error(`the client configuration has no "${server}": ${Object.keys(config.servers ?? {}).join(', ')}`);
  const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'vscode-suite', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers: entry.headers ?? {} } }));
  return client;
}

/** Opens the Approvals view and resolves with the oversight test hooks once its webview is ready. */
async function openApprovalsView(api) {
  if (!api.oversight) throw new Error('the extension API has no `oversight` test hooks (ExtensionMode.Test only)');
  await vscode.commands.executeCommand(`${APPROVALS_VIEW}.focus`);
  await waitFor('the Approvals webview to say ready', () => api.oversight.approvalsView().ready, { timeout: 30_000 });
  return api.oversight;
}

/** Waits for a pending approval of `server`/`tool` in the Approvals view; resolves with it. */
function waitForPending(hooks, server, tool, { timeout = 30_000 } = {}) {
  return waitFor(`${tool} on ${server} to reach the Approvals view`, () => hooks.approvalsView().pending.find((a) => a.server === server && a.tool === tool), { timeout });
}

/**
 * Decides `pending` as the view's Approve / Reject button does (same message, same validation,
 * decider `vscode-ui`) and resolves with the view's response.
 */
let requestSeq = 0;
async function decide(hooks, pending, approve, reason) {
  const id = `suite-${++requestSeq}`;
  const response = await hooks.postFromApprovalsView({ type: 'request', id, method: 'approval.decide', params: { approvalId: pending.id, digest: pending.digest, approve, ...(reason ? { reason } : {}) } });
  return { id, response };
}

/** Rejects whatever `server` still has pending (a suite that failed half-way must not leave a call waiting). */
async function rejectPending(hooks, server) {
  if (!hooks) return;
  for (const pending of hooks.approvalsView().pending.filter((a) => a.server === server)) {
    await decide(hooks, pending, false, 'test cleanup').catch(() => undefined);
  }
}

/** Text of an MCP CallToolResult's text content (what an MCP client other than VS Code's chat reads). */
function contentText(result) {
  return (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

module.exports = { EXTENSION_ID, APPROVALS_VIEW, activateExtension, waitForServer, gatewayClient, openApprovalsView, waitForPending, decide, rejectPending, contentText };
