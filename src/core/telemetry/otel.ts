// The only module that imports @opentelemetry/*: loaded with a dynamic import when an endpoint is
// configured, never otherwise. No global provider or context manager is registered: contexts are
// passed explicitly, so nothing else in the process is affected.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TelemetryConfig } from './config';
import { TELEMETRY_ENV, TRACEPARENT_META, TRACESTATE_META } from './constants';
import type { CallTrace, ServerTracer, Telemetry, TelemetryDeps } from './index';

const SCOPE = 'mcp-control-plane';
const propagator = new W3CTraceContextPropagator();

/** The parent context a request's `_meta` carries (W3C traceparent/tracestate), or the root. */
function extractParent(meta: unknown): Context {
  if (meta === null || typeof meta !== 'object') return ROOT_CONTEXT;
  const m = meta as Record<string, unknown>;
  const carrier: Record<string, string> = {};
  if (typeof m[TRACEPARENT_META] === 'string') carrier[TRACEPARENT_META] = m[TRACEPARENT_META];
  if (typeof m[TRACESTATE_META] === 'string') carrier[TRACESTATE_META] = m[TRACESTATE_META];
  return carrier[TRACEPARENT_META] ? propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter) : ROOT_CONTEXT;
}

function inject(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier;
}

function tracerProvider(endpoint: string, headers: Record<string, string>, serviceName: string, intervalMs: number): TracerProvider {
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces`, headers }), scheduledDelayMillis: intervalMs })],
  });
}

const FAILED_OUTCOMES = new Set(['failed', 'tool-error']);

export function createOtelTelemetry(config: TelemetryConfig & { endpoint: string }, deps: TelemetryDeps): Telemetry {
  const provider = tracerProvider(config.endpoint, deps.headers, config.serviceName, config.exportIntervalMs);
  const tracer: Tracer = provider.getTracer(SCOPE);
  const meterProvider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${config.endpoint.replace(/\/+$/, '')}/v1/metrics`, headers: deps.headers }),
        exportIntervalMillis: config.exportIntervalMs,
        exportTimeoutMillis: Math.min(config.exportIntervalMs, 30_000),
      }),
    ],
  });
  const meter = meterProvider.getMeter(SCOPE);
  const calls = meter.createCounter('mcpcp.calls', { description: 'Guarded calls (tools, resource reads, prompts) by server, tool, policy decision and outcome.' });
  const duration = meter.createHistogram('mcpcp.call.duration', { unit: 'ms', description: 'Call latency without the time a human took to decide.' });
  const approvalWait = meter.createHistogram('mcpcp.approval.wait.duration', { unit: 'ms', description: 'Time a call waited for a human decision.' });
  const deliveries = meter.createCounter('mcpcp.notifications.deliveries', { description: 'Notification deliveries by channel and outcome (delivered, retried, failed, dropped).' });
  meter.createObservableGauge('mcpcp.server.up', { description: '1 while a server is running (or unhealthy but serving), else 0.' }).addCallback((result) => {
    for (const s of deps.serversUp()) result.observe(s.up ? 1 : 0, { 'mcpcp.server': s.server, 'mcpcp.server.state': s.state });
  });

  return {
    serverEnv: {
      [TELEMETRY_ENV.endpoint]: config.endpoint,
      [TELEMETRY_ENV.headers]: JSON.stringify(deps.headers),
      [TELEMETRY_ENV.intervalMs]: String(config.exportIntervalMs),
    },
    notificationDelivery: (channel, outcome) => deliveries.add(1, { 'mcpcp.channel': channel, 'mcpcp.outcome': outcome }),
    calls: {
      startCall(call): CallTrace {
        const base: Attributes = { 'mcp.method.name': call.method, 'gen_ai.tool.name': call.name, 'mcpcp.server': call.server, 'mcpcp.call.id': call.id, ...(call.sessionId ? { 'mcp.session.id': call.sessionId } : {}) };
        const span = tracer.startSpan(`${call.method} ${call.name}`, { kind: SpanKind.SERVER, startTime: call.startedAt, attributes: base }, extractParent(call.meta));
        const parent = trace.setSpan(ROOT_CONTEXT, span);
        let forward: Span | undefined;
        let decision = 'none';
        let waitedMs = 0;
        let ended = false;
        return {
          decided(d) {
            decision = d;
            span.setAttribute('mcpcp.decision', d);
          },
          approvalWait() {
            const started = Date.now();
            const wait = tracer.startSpan('approval wait', { kind: SpanKind.INTERNAL, attributes: { 'mcpcp.server': call.server, 'gen_ai.tool.name': call.name } }, parent);
            return (result) => {
              waitedMs += Date.now() - started;
              wait.setAttribute('mcpcp.approval.result', result);
              wait.end();
              approvalWait.record(Date.now() - started, { 'mcpcp.server': call.server, 'gen_ai.tool.name': call.name, 'mcpcp.approval.result': result });
            };
          },
          forwardMeta() {
            forward ??= tracer.startSpan(`forward ${call.server}`, { kind: SpanKind.CLIENT, attributes: { 'mcpcp.server': call.server, 'gen_ai.tool.name': call.name } }, parent);
            return inject(forward);
          },
          end(outcome, error) {
            if (ended) return;
            ended = true;
            const failed = FAILED_OUTCOMES.has(outcome);
            for (const s of forward ? [forward, span] : [span]) {
              s.setAttribute('mcpcp.outcome', outcome);
              if (failed) s.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
              s.end();
            }
            const attrs = { 'mcpcp.server': call.server, 'gen_ai.tool.name': call.name, 'mcpcp.outcome': outcome, 'mcpcp.decision': decision };
            calls.add(1, attrs);
            duration.record(Math.max(0, Date.now() - call.startedAt - waitedMs), attrs);
          },
        };
      },
    },
    shutdown: async () => {
      await Promise.allSettled([provider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

interface JsonRpcLike {
  id?: string | number;
  method?: string;
  params?: { name?: unknown; _meta?: unknown };
  result?: { isError?: boolean };
  error?: { message?: string };
}

export function createOtelServerTracer(options: { endpoint: string; headers: Record<string, string>; intervalMs: number; serviceName: string }): ServerTracer {
  const provider = tracerProvider(options.endpoint, options.headers, options.serviceName, options.intervalMs);
  const tracer = provider.getTracer(SCOPE);
  const open = new Map<string | number, Span>();
  return {
    instrument(transport) {
      const receive = transport.onmessage;
      const send = transport.send.bind(transport);
      transport.onmessage = (raw, extra) => {
        const message = raw as JsonRpcLike;
        if (message.method === 'tools/call' && message.id !== undefined) {
          const name = typeof message.params?.name === 'string' ? message.params.name : '';
          open.set(message.id, tracer.startSpan(`tools/call ${name}`, { kind: SpanKind.SERVER, attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': name } }, extractParent(message.params?._meta)));
        }
        receive?.(raw, extra);
      };
      transport.send = (raw, o) => {
        const message = raw as JsonRpcLike;
        const span = message.id !== undefined && (message.result !== undefined || message.error !== undefined) ? open.get(message.id) : undefined;
        if (span) {
          open.delete(message.id!);
          const failed = message.error !== undefined || message.result?.isError === true;
          span.setAttribute('mcpcp.outcome', message.error ? 'failed' : failed ? 'tool-error' : 'ok');
          if (failed) span.setStatus({ code: SpanStatusCode.ERROR, ...(message.error?.message ? { message: message.error.message } : {}) });
          span.end();
        }
        return send(raw, o);
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
