import { z } from 'zod';
import { durationFields, resolveDurations, type DurationField } from '../config/duration';

/** Telemetry durations: human units (`5s`), the engine's `…Ms` name (deprecated). */
export const TELEMETRY_DURATIONS = {
  exportInterval: { legacy: 'exportIntervalMs', min: 100, max: 300_000, default: 5_000, description: 'How often spans (batched) and metrics are sent.' },
} as const satisfies Record<string, DurationField>;

export const telemetryConfigSchema = z
  .object({
    endpoint: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('OTLP/HTTP endpoint of an OpenTelemetry collector (e.g. `http://127.0.0.1:4318`); traces go to `<endpoint>/v1/traces`, metrics to `<endpoint>/v1/metrics`. Unset: OpenTelemetry is off and not loaded.'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string())
      .default({})
      .describe('HTTP headers for the collector (an API key, say); values may reference `${secret:name}`.'),
    serviceName: z.string().min(1).default('mcp-control-plane').describe('`service.name` of the gateway\'s spans and metrics (built-in servers add their own name).'),
    ...durationFields('telemetry', TELEMETRY_DURATIONS),
  })
  .strict()
  .transform(resolveDurations(TELEMETRY_DURATIONS));

export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;
