import { z } from 'zod';
import { durationFields, resolveDurations, type DurationField } from './duration';
import { notificationsConfigSchema } from '../notify/config';
import { policyRulesSchema } from '../policy/schema';
import { TELEMETRY_DURATIONS, telemetryConfigSchema } from '../telemetry/config';
import { teamConfigSchema } from '../team/config';

/**
 * The single source of truth for configuration. It gives the TypeScript types, validates the
 * headless `config.yaml`, and generates `contributes.configuration` in package.json
 * (`npm run gen:settings`; a unit test fails on drift).
 */

export const serverNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'a server name is lower-case letters, digits and dashes, starting with a letter');

/** Environment names a child may receive from the host, besides the ones its definition names. */
export const DEFAULT_PASS_ENV = [
  'PATH', 'HOME', 'USERPROFILE', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'TEMP', 'TMP',
  'SYSTEMROOT', 'COMSPEC', 'PATHEXT', 'APPDATA', 'LOCALAPPDATA',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
] as const;

export const serverConfigSchema = z
  .object({
    enabled: z.boolean().optional().describe('Start this server. Built-in servers have their own default (git: on).'),
    type: z
      .enum(['stdio', 'http', 'sse'])
      .optional()
      .describe('How to reach a server that is not built in: `stdio` (a supervised child; default with `command`), `http` (Streamable HTTP, falling back to SSE; default with `url`) or `sse`.'),
    command: z
      .string()
      .min(1)
      .optional()
      .describe('For a server that is not built in: the program to run (stdio MCP server).'),
    args: z.array(z.string()).optional().describe('Arguments for `command`.'),
    cwd: z.string().optional().describe('Working directory of the child (default: the first root).'),
    env: z
      .record(z.string(), z.string())
      .optional()
      .describe('Environment variables for the child. Values may reference `${secret:name}` (secret store) or `${env:NAME}` (host environment); never put a secret here in plain text.'),
    envFile: z.string().optional().describe('A dotenv file whose variables the child gets (values may reference `${secret:name}`).'),
    passEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/))
      .optional()
      .describe('Extra host environment variables passed through to the child, beyond PATH, HOME, LANG and proxy variables.'),
    url: z.url({ protocol: /^https?$/ }).optional().describe('For an `http` or `sse` server: its endpoint.'),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe('HTTP headers for an `http` or `sse` server. Values may reference `${secret:name}`; never put a token here in plain text.'),
    allowSecretInArgs: z
      .boolean()
      .optional()
      .describe('Opt in to `${secret:name}` in `args`, which every local user can read in the process list. Prefer `env` when the server reads the secret there.'),
    timeoutMs: z.number().int().min(1_000).optional().describe('Longest a call to this server may run (default: gateway.callTimeoutMs).'),
    retries: z.number().int().min(0).max(100).optional().describe('Quick crashes (or failed connections) in a row before the server is left crash-looping (default: supervisor.crashLoopThreshold).'),
    tools: z
      .object({
        include: z.array(z.string()).optional().describe('Only these tools (globs) are offered.'),
        exclude: z.array(z.string()).optional().describe('These tools (globs) are hidden and refused.'),
      })
      .strict()
      .optional()
      .describe('Per-server tool filter applied at the gateway (VS Code takes at most 128 tools per request).'),
    adoptedFrom: z
      .object({ file: z.string(), name: z.string() })
      .strict()
      .optional()
      .describe('Set by "Adopt servers": the MCP config file and entry this server came from.'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const type = s.type ?? (s.url !== undefined ? 'http' : 'stdio');
    if (type === 'stdio' && s.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'a stdio server takes `command`, not `url`' });
    if (type !== 'stdio' && s.command !== undefined) ctx.addIssue({ code: 'custom', path: ['command'], message: `an ${type} server takes \`url\`, not \`command\`` });
    if (type !== 'stdio' && s.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: `an ${type} server needs \`url\`` });
  });

/** Supervisor durations: human units (`10s`), the engine's `…Ms` names (deprecated in settings). */
export const SUPERVISOR_DURATIONS = {
  healthInterval: { legacy: 'healthIntervalMs', min: 100, default: 10_000, description: 'Interval between health pings to each running server.' },
  pingTimeout: { legacy: 'pingTimeoutMs', min: 50, default: 5_000, description: 'A ping not answered within this time counts as missed.' },
  startTimeout: { legacy: 'startTimeoutMs', min: 100, default: 30_000, description: 'Time a server has to complete the MCP handshake and list its tools.' },
  backoffBase: { legacy: 'backoffBaseMs', min: 1, default: 500, description: 'Base delay of the exponential restart backoff (full jitter).' },
  backoffCap: { legacy: 'backoffCapMs', min: 1, default: 30_000, description: 'Upper bound of the restart backoff.' },
  backoffResetAfter: { legacy: 'backoffResetAfterMs', min: 0, default: 60_000, description: 'Time running healthy after which the backoff starts over.' },
  crashLoopWindow: { legacy: 'crashLoopWindowMs', min: 0, default: 10_000, description: 'A crash within this time of becoming running (or before) counts toward a crash loop.' },
} as const satisfies Record<string, DurationField>;

export const supervisorConfigSchema = z
  .object({
    ...durationFields('supervisor', SUPERVISOR_DURATIONS),
    missedPingsBeforeRestart: z.number().int().min(1).default(2).describe('Consecutive missed pings after which a server is killed and restarted.'),
    crashLoopThreshold: z.number().int().min(1).default(5).describe('Consecutive quick crashes after which a server is left crash-looping until restarted by hand.'),
  })
  .strict()
  .transform(resolveDurations(SUPERVISOR_DURATIONS));

/** Gateway durations: human units (`30m`), the engine's `…Ms` names (deprecated in settings). */
export const GATEWAY_DURATIONS = {
  sessionIdle: { legacy: 'sessionIdleMs', min: 1_000, default: 30 * 60_000, description: 'Idle client sessions expire after this time.' },
  callTimeout: { legacy: 'callTimeoutMs', min: 1_000, default: 10 * 60_000, description: 'Longest a forwarded request may run in a server.' },
  unauthenticatedTimeout: {
    legacy: 'unauthenticatedTimeoutMs',
    min: 100,
    default: 10_000,
    description: 'A connection that has not shown the client token and has no request under way (unfinished headers included) is closed after this time.',
  },
  drainTimeout: {
    legacy: 'drainTimeoutMs',
    min: 0,
    max: 300_000,
    default: 10_000,
    description: 'On a stop (SIGTERM, SIGINT, VS Code closing), how long calls already running may still finish; then they get an error naming the stop. New, queued and approval-waiting calls get it at once.',
  },
  queueTimeout: {
    legacy: 'queueTimeoutMs',
    min: 1_000,
    default: 30_000,
    description: 'Longest a call to a third-party server waits while another session\'s calls run there (calls from two sessions are serialized so that the server\'s requests reach the right client).',
  },
} as const satisfies Record<string, DurationField>;

export const gatewayConfigSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(0).describe('Loopback port of the gateway; 0 picks a free port.'),
    allowedOrigins: z
      .array(z.string())
      .default([])
      .describe('Origins allowed to call the gateway from a browser (requests with any other Origin get 403).'),
    maxBodyBytes: z.number().int().min(1024).default(4 * 1024 * 1024).describe('Largest request body accepted (413 beyond).'),
    maxConcurrentPerSession: z.number().int().min(1).default(32).describe('Requests one client session may have in flight (429 beyond).'),
    maxRequestsPerSecondPerSession: z.number().int().min(1).default(200).describe('Sustained request rate per client session (429 beyond).'),
    maxSessions: z.number().int().min(1).default(1_000).describe('Client sessions kept at most; beyond, the longest-idle sessions are closed to make room (a busy one never is).'),
    maxUnauthenticatedConnections: z.number().int().min(1).default(64).describe('Such connections kept at most; beyond, the oldest is closed, so they cannot starve real clients.'),
    ...durationFields('gateway', GATEWAY_DURATIONS),
  })
  .strict()
  .transform(resolveDurations(GATEWAY_DURATIONS));

export const policyConfigSchema = z
  .object({
    readOnlyMode: z.boolean().default(false).describe('Deny every call that is not read-only (reads still pass policy and audit).'),
    rules: policyRulesSchema
      .default([])
      .describe('Ordered policy rules; the first match decides (allow, approve or deny). A workspace `.mcpcp/policy.yaml` can only tighten them. See docs/policy.md.'),
  })
  .strict();

/** Approval durations: human units (`5m`), the engine's `…Ms` names (deprecated in settings). */
export const APPROVALS_DURATIONS = {
  expiry: { legacy: 'expiryMs', min: 10_000, max: 24 * 3_600_000, default: 5 * 60_000, description: 'A pending approval nobody decides is rejected after this time.' },
  previewTimeout: { legacy: 'previewTimeoutMs', min: 1_000, max: 120_000, default: 15_000, description: 'Longest a tool\'s preview (dry run) may take before the approval shows without it.' },
} as const satisfies Record<string, DurationField>;

export const approvalsConfigSchema = z
  .object({
    ...durationFields('approvals', APPROVALS_DURATIONS),
    maxPendingPerSession: z.number().int().min(1).max(1_000).default(10).describe('Approvals one client session may have waiting for a human; further calls needing one are refused.'),
    maxPending: z.number().int().min(1).max(10_000).default(100).describe('Approvals this instance may have waiting for a human; further calls needing one are refused.'),
  })
  .strict()
  .transform(resolveDurations(APPROVALS_DURATIONS));

/** Every group with duration settings, for deprecation warnings (`deprecatedDurations`). */
export const DURATION_GROUPS = { gateway: GATEWAY_DURATIONS, supervisor: SUPERVISOR_DURATIONS, approvals: APPROVALS_DURATIONS, telemetry: TELEMETRY_DURATIONS } as const;

export const networkConfigSchema = z
  .object({
    trustedInventory: z
      .string()
      .optional()
      .describe('Your own device inventory (same format as `.mcpcp/inventory.yaml`): its devices need no consent. A workspace\'s `.mcpcp/inventory.yaml` only proposes devices; each waits until you bind its secrets to its destination. User settings only.'),
  })
  .strict();

const auditSecretReference = z
  .string()
  .regex(/^\$\{secret:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\}$/, 'must be a secret reference, `${secret:name}`: a log sink URL often carries a token, so it lives in the secret store, never in settings');

/**
 * Shared state for a team deployment (docs/team.md): PostgreSQL holds approvals, the audit (one
 * keyed chain per replica), API keys and `/ui` sessions, so several replicas serve one team. Absent:
 * the local files (the embedded default). Operator configuration only: never read from a workspace file.
 */
export const storageConfigSchema = z
  .object({
    postgres: z
      .object({
        url: z
          .string()
          .regex(/^\$\{secret:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\}$/, 'must be a secret reference, `${secret:name}`: a database URL carries a password, so it lives in the secret store, never in settings')
          .describe('The PostgreSQL connection URL, as `${secret:name}` (postgres://user:password@host:port/database).'),
        writerId: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, `.`, `_` and `-`, at most 64')
          .optional()
          .describe('This replica\'s name in the shared state (its audit chain, its waiting calls). Default: the host name and the process id. Unique per running replica.'),
        poolSize: z.number().int().min(2).max(100).default(10).describe('Connections this replica keeps open at most (one more listens for approval decisions).'),
        replicaTimeoutSeconds: z
          .number()
          .min(1)
          .max(600)
          .default(15)
          .describe('A replica not heard from for this long is gone: the approvals its calls waited for are ended as "caller gone" by another replica, so nothing runs later. Each replica says it is alive five times per period.'),
      })
      .strict()
      .optional()
      .describe('Use PostgreSQL for shared state; migrations run at start.'),
  })
  .strict();

export const auditRetentionConfigSchema = z
  .object({
    maxAgeDays: z.number().positive().optional().describe('Remove rotated audit files whose last record is older than this many days. Default: keep them.'),
    maxTotalBytes: z.number().int().min(1024 * 1024).optional().describe('Remove the oldest rotated audit files while one instance\'s files take more than this many bytes. Default: no limit.'),
    ship: z
      .union([
        z.object({ url: auditSecretReference.describe('An HTTP(S) endpoint, as `${secret:name}`, that receives each file as one JSONL POST (2xx = accepted).') }).strict(),
        z.object({ command: z.array(z.string().min(1)).min(1).describe('A program and its arguments (no shell) that gets the file\'s JSONL on stdin; exit code 0 = accepted.') }).strict(),
      ])
      .optional()
      .describe('Ship each file before it is removed; a file that could not be shipped is kept and tried again later.'),
    retrySeconds: z.number().int().min(1).max(86_400).default(60).describe('After a failed ship, retention runs again after this many seconds.'),
  })
  .strict();

export const auditConfigSchema = z
  .object({
    keyring: z
      .string()
      .regex(/^\$\{secret:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\}$/, 'must be a secret reference, `${secret:name}`: the audit key ring signs the audit, so it lives in the secret store, never in settings')
      .optional()
      .describe('Take the audit key ring from this secret (`${secret:name}`; headless also `MCPCP_SECRET_<NAME>`, e.g. from a Kubernetes Secret) instead of `<dataDir>/keys/audit.key`: every replica of a team deployment signs with the same keys. Create it with `mcpcp audit rotate-key --key-file F`. See docs/audit.md.'),
    retention: auditRetentionConfigSchema
      .default(auditRetentionConfigSchema.parse({}))
      .describe('Which old audit files are removed (whole rotated files, oldest first, recorded in the signed chain so `mcpcp audit verify` still holds). Default: keep everything. See docs/audit.md.'),
  })
  .strict();

/** Undo handles (docs/undo.md): prior state of destructive calls, kept encrypted outside the audit log. */
export const undoConfigSchema = z
  .object({
    retentionDays: z.number().positive().max(3650).default(30).describe('Undo handles older than this many days are removed (the call can then no longer be undone).'),
    maxHandleBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024).describe('Largest prior state kept for one call; beyond it the call is "not undoable: too large", said in its result and audit record.'),
  })
  .strict();

export const configSchema = z
  .object({
    roots: z
      .array(z.string())
      .default(['.'])
      .describe('Headless: folders the servers may work in (relative to the config file). VS Code uses the workspace folders.'),
    dataDir: z.string().optional().describe('Headless: data directory (default ~/.mcpcp).'),
    gateway: gatewayConfigSchema.default(gatewayConfigSchema.parse({})),
    supervisor: supervisorConfigSchema.default(supervisorConfigSchema.parse({})),
    policy: policyConfigSchema.default(policyConfigSchema.parse({})),
    approvals: approvalsConfigSchema.default(approvalsConfigSchema.parse({})),
    network: networkConfigSchema.default(networkConfigSchema.parse({})),
    servers: z
      .record(serverNameSchema, serverConfigSchema)
      .default({})
      .describe('Servers by name. Built-in servers (git) need no entry; an entry with `command` adds a stdio server.'),
    telemetry: telemetryConfigSchema.prefault({}).describe('OpenTelemetry export over OTLP/HTTP (docs/telemetry.md); off unless `endpoint` is set. Operator configuration only: never read from a workspace file.'),
    audit: auditConfigSchema.default(auditConfigSchema.parse({})).describe('Audit log retention and shipping (docs/audit.md). Operator configuration only: never read from a workspace file.'),
    storage: storageConfigSchema.default({}).describe('Shared state for a team deployment (PostgreSQL). Default: local files. Operator configuration only: never read from a workspace file.'),
    notifications: notificationsConfigSchema.default(notificationsConfigSchema.parse({})).describe('Alerts to Teams, Slack or a signed webhook (docs/notifications.md). Operator configuration only: never read from a workspace file.'),
    undo: undoConfigSchema.default(undoConfigSchema.parse({})).describe('Undo of destructive calls (docs/undo.md): how long prior state is kept and how large it may be.'),
    team: teamConfigSchema.optional().describe('Team mode of `mcpcp serve`: OIDC and API keys, roles, TLS, the public URL (docs/team.md). Absent: the loopback single-user mode. Operator configuration only: never read from a workspace file.'),
  })
  .strict();

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type SupervisorConfig = z.infer<typeof supervisorConfigSchema>;
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type PolicyConfig = z.infer<typeof policyConfigSchema>;
export type ApprovalsConfig = z.infer<typeof approvalsConfigSchema>;
export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/**
 * The VS Code settings: the same schema, minus what only the headless command has (roots and the
 * data directory come from the workspace and the extension's storage; team mode is `mcpcp serve` only).
 */
export const settingsSchema = configSchema.omit({ roots: true, dataDir: true, team: true });
