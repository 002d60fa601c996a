// No imports here: otel.ts (loaded dynamically) and index.ts (loaded always) both use these, and a
// dynamically imported module's dependencies are bundled as lazily initialised modules.

/** Environment variables that hand a built-in server the gateway's export settings. */
export const TELEMETRY_ENV = {
  endpoint: 'MCPCP_OTLP_ENDPOINT',
  headers: 'MCPCP_OTLP_HEADERS',
  intervalMs: 'MCPCP_OTLP_INTERVAL_MS',
} as const;

/** The `_meta` keys of W3C trace context on an MCP request (as the MCP OpenTelemetry conventions use them). */
export const TRACEPARENT_META = 'traceparent';
export const TRACESTATE_META = 'tracestate';
