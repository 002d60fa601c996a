import { z } from 'zod';
import { formatDuration } from './duration';
import { DURATION_GROUPS, settingsSchema } from './schema';

/** Prefix of every VS Code setting of the extension. */
export const SETTINGS_SECTION = 'mcpControlPlane';

/** Configuration groups whose leaves are one VS Code setting each. */
export const SETTINGS_GROUPS = ['gateway', 'supervisor', 'policy', 'approvals', 'network'] as const;

/**
 * Groups a workspace must not set: a cloned repository's .vscode/settings.json could otherwise
 * loosen the policy, lengthen approvals or open the gateway to a browser origin. VS Code only
 * honours `application` settings from user settings; the extension reads only the user value.
 */
export const USER_ONLY_GROUPS: ReadonlySet<string> = new Set(['gateway', 'supervisor', 'policy', 'approvals', 'network']);

/** Whole-object settings only user settings may set (webhook channels, telemetry export, audit retention). */
export const OPERATOR_OBJECTS = ['notifications', 'telemetry', 'audit'] as const;

type JsonSchema = Record<string, unknown>;

/** The keys of a settings group as a user writes them (a group with durations is a pipe: its input object's keys). */
export function settingsGroupKeys(group: (typeof SETTINGS_GROUPS)[number]): string[] {
  const schema: z.ZodType = settingsSchema.shape[group].unwrap();
  const object = schema instanceof z.ZodPipe ? schema.in : schema;
  return object instanceof z.ZodObject ? Object.keys(object.shape) : [];
}

/**
 * The order of the settings editor: what most users change first (servers, policy, approvals), then
 * the gateway and supervision, then limits; a setting not listed comes after these, deprecated
 * `…Ms` settings last.
 */
export const SETTINGS_ORDER = [
  'servers',
  'policy.readOnlyMode',
  'policy.rules',
  'approvals.expiry',
  'approvals.previewTimeout',
  'network.trustedInventory',
  'gateway.port',
  'gateway.callTimeout',
  'gateway.allowedOrigins',
  'supervisor.startTimeout',
  'supervisor.healthInterval',
  'supervisor.pingTimeout',
  'supervisor.missedPingsBeforeRestart',
  'supervisor.crashLoopThreshold',
  'supervisor.crashLoopWindow',
  'supervisor.backoffBase',
  'supervisor.backoffCap',
  'supervisor.backoffResetAfter',
  'notifications',
  'audit',
  'telemetry',
  'approvals.maxPendingPerSession',
  'approvals.maxPending',
  'gateway.queueTimeout',
  'gateway.drainTimeout',
  'gateway.sessionIdle',
  'gateway.maxSessions',
  'gateway.maxConcurrentPerSession',
  'gateway.maxRequestsPerSecondPerSession',
  'gateway.maxBodyBytes',
  'gateway.unauthenticatedTimeout',
  'gateway.maxUnauthenticatedConnections',
] as const;

/**
 * `contributes.configuration` generated from the zod settings schema: one VS Code setting per leaf
 * of `gateway` and `supervisor`, and `servers` as one object setting. `servers` is restricted in
 * untrusted workspaces (it names programs to run).
 */
export function settingsContribution(): { title: string; properties: Record<string, JsonSchema> } {
  const json = z.toJSONSchema(settingsSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema & {
    properties: Record<string, JsonSchema & { properties?: Record<string, JsonSchema> }>;
  };
  const properties: Record<string, JsonSchema> = {};
  for (const group of SETTINGS_GROUPS) {
    const groupSchema = json.properties[group];
    for (const [key, leaf] of Object.entries(groupSchema?.properties ?? {})) {
      const { description, maximum, ...rest } = leaf as JsonSchema & { description?: string; maximum?: number };
      properties[`${SETTINGS_SECTION}.${group}.${key}`] = {
        ...rest,
        // zod writes MAX_SAFE_INTEGER for an unbounded integer: noise in the settings editor.
        ...(maximum !== undefined && maximum !== Number.MAX_SAFE_INTEGER ? { maximum } : {}),
        ...(description ? { markdownDescription: description } : {}),
        scope: USER_ONLY_GROUPS.has(group) ? 'application' : 'window',
      };
    }
  }
  const servers = json.properties['servers']!;
  const { description, ...rest } = servers as JsonSchema & { description?: string };
  properties[`${SETTINGS_SECTION}.servers`] = {
    ...stripSchemaMeta(rest),
    ...(description ? { markdownDescription: description } : {}),
    default: {},
    scope: 'window',
    restricted: true,
  };
  // Operator-only objects: application scope (VS Code ignores workspace values of these).
  for (const key of OPERATOR_OBJECTS) {
    const { description: d, ...schema } = json.properties[key] as JsonSchema & { description?: string };
    properties[`${SETTINGS_SECTION}.${key}`] = { ...stripSchemaMeta(schema), ...(d ? { markdownDescription: d } : {}), scope: 'application' };
  }
  // Durations: the human-unit setting shows its default as text; the old `…Ms` one is deprecated.
  for (const [group, table] of Object.entries(DURATION_GROUPS)) {
    for (const [key, f] of Object.entries(table)) {
      const name = `${SETTINGS_SECTION}.${group}.${key}`;
      // A leaf setting of its own, or a property inside an object setting (telemetry).
      const leaves = properties[name] ? properties : (properties[`${SETTINGS_SECTION}.${group}`]?.['properties'] as Record<string, JsonSchema> | undefined);
      const [own, old] = properties[name] ? [name, `${SETTINGS_SECTION}.${group}.${f.legacy}`] : [key, f.legacy];
      if (!leaves?.[own]) continue;
      leaves[own] = { default: formatDuration(f.default), ...leaves[own] };
      const legacy = leaves[old];
      if (legacy) legacy['deprecationMessage'] = `Deprecated: use ${name} (a duration such as "${formatDuration(f.default)}"). It wins when both are set.`;
    }
  }
  const sorted = sortKeys(properties);
  const listed = SETTINGS_ORDER.length;
  let unlisted = 0;
  const deprecated = Object.keys(sorted).filter((k) => sorted[k]!['deprecationMessage'] !== undefined);
  for (const [name, schema] of Object.entries(sorted)) {
    const at = (SETTINGS_ORDER as readonly string[]).indexOf(name.slice(SETTINGS_SECTION.length + 1));
    schema['order'] = at >= 0 ? at + 1 : deprecated.includes(name) ? 1000 + deprecated.indexOf(name) : listed + 1 + unlisted++;
  }
  return { title: 'MCP Control Plane', properties: sorted };
}

function stripSchemaMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, ...rest } = schema;
  return rest;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
