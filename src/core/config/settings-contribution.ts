import { z } from 'zod';
import { settingsSchema } from './schema';

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
  return { title: 'MCP Control Plane', properties: sortKeys(properties) };
}

function stripSchemaMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, ...rest } = schema;
  return rest;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
