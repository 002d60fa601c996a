import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { TelemetryConfig } from './config';

export { telemetryConfigSchema, type TelemetryConfig } from './config';

export { TELEMETRY_ENV, TRACEPARENT_META, TRACESTATE_META } from './constants';
import { TELEMETRY_ENV } from './constants';

/**
 * One guarded call's trace, as the gateway pipeline drives it. Every method is cheap and never
 * throws into the pipeline.
 */
export interface CallTrace {
  /** The policy's decision (allow, approve, deny). */
  decided(decision: string): void;
  /** Starts the approval-wait span; the returned function ends it with the result. */
  approvalWait(): (result: 'approved' | 'rejected') => void;
  /** `_meta` entries (traceparent, tracestate) for the request forwarded to the server; starts the forward span. */
  forwardMeta(): Record<string, string>;
  /** Ends the call's span (and the forward span) with its outcome. */
  end(outcome: string, error?: string): void;
}

/** What the gateway pipeline calls; absent when OpenTelemetry is off. */
export interface CallTelemetry {
  startCall(call: { id: string; server: string; name: string; method: string; sessionId?: string; startedAt: number; meta?: Record<string, unknown> }): CallTrace;
}

/** The running OpenTelemetry of the control plane. */
export interface Telemetry {
  readonly calls: CallTelemetry;
  /** Counts a notification delivery outcome. */
  notificationDelivery(channel: string, outcome: string): void;
  /** Environment for a built-in server's process so it exports its spans to the same collector. */
  readonly serverEnv: Record<string, string>;
  shutdown(): Promise<void>;
}

export interface TelemetryDeps {
  /** Header values with `${secret:}` expanded. */
  headers: Record<string, string>;
  /** Servers and whether each is up, read when metrics are collected. */
  serversUp: () => Array<{ server: string; up: boolean; state: string }>;
  log?: (message: string) => void;
}

/**
 * Starts OpenTelemetry when an endpoint is configured; otherwise returns undefined without
 * loading any `@opentelemetry/*` module (they are imported only here, dynamically).
 */
export async function startTelemetry(config: TelemetryConfig, deps: TelemetryDeps): Promise<Telemetry | undefined> {
  if (!config.endpoint) return undefined;
  const { createOtelTelemetry } = await import('./otel');
  return createOtelTelemetry(config as TelemetryConfig & { endpoint: string }, deps);
}

/** What a built-in server's stdio loop uses: a span per `tools/call` it answers. */
export interface ServerTracer {
  /** Wraps a transport so each incoming `tools/call` is a span, child of its `_meta.traceparent`. */
  instrument(transport: Transport): void;
  shutdown(): Promise<void>;
}

/** A server's tracer when the control plane handed it an endpoint; undefined (nothing loaded) otherwise. */
export async function startServerTracer(env: NodeJS.ProcessEnv, serviceName: string): Promise<ServerTracer | undefined> {
  const endpoint = env[TELEMETRY_ENV.endpoint];
  if (!endpoint) return undefined;
  let headers: Record<string, string> = {};
  try {
    headers = JSON.parse(env[TELEMETRY_ENV.headers] ?? '{}') as Record<string, string>;
  } catch {
    headers = {};
  }
  const intervalMs = Number(env[TELEMETRY_ENV.intervalMs] ?? '') || 5_000;
  const { createOtelServerTracer } = await import('./otel');
  return createOtelServerTracer({ endpoint, headers, intervalMs, serviceName });
}
