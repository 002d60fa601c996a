// The harness's own probe: the smallest extension that exercises the paths the real one needs,
// a command and an McpHttpServerDefinition whose server (an MCP SDK server on 127.0.0.1) it hosts.
'use strict';

const http = require('node:http');
const vscode = require('vscode');
// Resolved from the repository's node_modules (this folder lives inside the clone).
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { z } = require('zod');

function createMcpServer(calls) {
  const server = new McpServer({ name: 'probe', version: '0.0.1' });
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the text it is given.',
      inputSchema: { text: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ text }) => {
      calls.push(text);
      return { content: [{ type: 'text', text: `echo: ${text}` }] };
    },
  );
  return server;
}

async function activate(context) {
  const calls = [];
  const token = Math.random().toString(36).slice(2);
  // Stateless Streamable HTTP: one server and transport per request.
  const httpServer = http.createServer(async (req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const server = createMcpServer(calls);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  context.subscriptions.push({ dispose: () => httpServer.close() });
  const url = `http://127.0.0.1:${httpServer.address().port}/mcp`;

  const changed = new vscode.EventEmitter();
  let enabled = true;
  context.subscriptions.push(
    vscode.commands.registerCommand('harnessProbe.hello', (name) => `hello ${name ?? 'world'}`),
    vscode.lm.registerMcpServerDefinitionProvider('harnessProbe', {
      onDidChangeMcpServerDefinitions: changed.event,
      provideMcpServerDefinitions: () =>
        enabled ? [new vscode.McpHttpServerDefinition('probe', vscode.Uri.parse(url), {}, '1')] : [],
      resolveMcpServerDefinition: (def) => {
        def.headers = { ...def.headers, Authorization: `Bearer ${token}` };
        return def;
      },
    }),
  );
  return {
    url: () => url,
    calls: () => [...calls],
    setEnabled: (value) => {
      enabled = value;
      changed.fire();
    },
  };
}

function deactivate() {}

module.exports = { activate, deactivate };
