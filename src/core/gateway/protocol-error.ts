/**
 * A JSON-RPC error to send to a client as it is. The SDK puts an error's `code`, `message` and
 * `data` on the wire; an `McpError`'s message already starts with "MCP error <code>: ", and the
 * client adds its own, so an `McpError` thrown by the gateway would reach the model with the
 * prefix twice (three times for a server's error passed through).
 */
export function protocolError(code: number, message: string, data?: unknown): Error {
  return Object.assign(new Error(stripMcpPrefix(message)), { code, ...(data !== undefined ? { data } : {}) });
}

/** The message without the "MCP error <code>: " prefixes clients and `McpError` put in front of it. */
export function stripMcpPrefix(message: string): string {
  return message.replace(/^(?:MCP error -?\d+: )+/, '');
}
