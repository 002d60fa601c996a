// How a test starts an extension-provided MCP server in VS Code 1.139 and waits for its tools.
'use strict';

const vscode = require('vscode');
const { sleep, waitFor } = require('./wait');
const { note } = require('./mocha-runner');

/**
 * The id VS Code gives a server from `lm.registerMcpServerDefinitionProvider`:
 * `<extension id, lower case>/<definition label>`.
 */
function definitionId(extensionId, label) {
  return `${extensionId.toLowerCase()}/${label}`;
}

function toolsWithPrefix(prefix) {
  return vscode.lm.tools.filter((t) => t.name.startsWith(prefix));
}

/**
 * The prefix VS Code 1.139 gives an MCP server's tools in `vscode.lm.tools`: `mcp_`, the server's
 * `serverInfo.name` (or the definition label before it is known) lower-cased, characters outside
 * [a-z0-9_.-] as `_`, cut to 13 characters, then `_` (`2_`, `3_`… when two servers share it).
 */
function toolPrefix(serverName) {
  return `mcp_${serverName.toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').slice(0, 13)}_`;
}

/**
 * Starts a server through the workbench command the MCP view's "Start" uses, and resolves with
 * the `vscode.lm.tools` entries that `match` (a name prefix or a predicate) once there are any.
 * Retries the start: the first `workbench.mcp.startServer` right after activation can return
 * before the provider's definitions reached the workbench, and then starts nothing.
 * `id` may be '*' (every known server).
 */
async function startServerAndWaitForTools(id, match, { timeout = 60_000 } = {}) {
  const matches = typeof match === 'function' ? match : (t) => t.name.startsWith(match);
  const what = typeof match === 'function' ? 'matching tools' : `tools named ${match}*`;
  const deadline = Date.now() + timeout;
  let attempt = 0;
  for (;;) {
    attempt++;
    // With waitForLiveTools the command resolves once the server's tools are live; a server that
    // never gets there must not hang the suite past its own deadline.
    const started = vscode.commands.executeCommand('workbench.mcp.startServer', id, { waitForLiveTools: true, autoTrustChanges: true });
    await Promise.race([started, sleep(Math.max(0, deadline - Date.now()))]);
    const left = deadline - Date.now();
    try {
      const tools = await waitFor(`${what} (start attempt ${attempt})`, () => {
        const found = vscode.lm.tools.filter(matches);
        return found.length > 0 ? found : undefined;
      }, { timeout: Math.max(500, Math.min(1_500, left)) });
      note(`${id}: tools live after ${attempt} start attempt(s)`);
      return tools;
    } catch (err) {
      if (Date.now() > deadline) {
        const names = vscode.lm.tools.map((t) => t.name);
        throw new Error(`${err.message}; vscode.lm.tools has ${names.length}: ${names.slice(0, 30).join(', ')}`);
      }
    }
  }
}

/** The text parts of a LanguageModelToolResult. */
function resultTexts(result) {
  return result.content
    .map((part) => (part instanceof vscode.LanguageModelTextPart || typeof part.value === 'string' ? part.value : undefined))
    .filter((v) => v !== undefined);
}

/** Text of a LanguageModelToolResult's text parts, joined by newlines. */
function resultText(result) {
  return resultTexts(result).join('\n');
}

/**
 * The structured output of an MCP tool result: VS Code 1.139 hands a tool's `structuredContent`
 * to the extension as a JSON text part (and no text part for `content`). Undefined when no part
 * parses as a JSON object.
 */
function resultJson(result) {
  for (const text of resultTexts(result)) {
    try {
      const value = JSON.parse(text);
      if (value && typeof value === 'object') return value;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

module.exports = { definitionId, toolPrefix, toolsWithPrefix, startServerAndWaitForTools, resultText, resultTexts, resultJson };
