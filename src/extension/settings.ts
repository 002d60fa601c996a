import * as vscode from 'vscode';
import { deprecatedDurations } from '../core/config/duration';
import { configSchema, DURATION_GROUPS, type Config } from '../core/config/schema';
import { OPERATOR_OBJECTS, SETTINGS_GROUPS, SETTINGS_SECTION, USER_ONLY_GROUPS, settingsGroupKeys } from '../core/config/settings-contribution';
import { checkWorkspaceConfig } from '../core/config/workspace';

/**
 * Reads the settings into a validated configuration; a problem names the setting. `warnings` name
 * deprecated settings still in use (`…Ms` durations) and what to write instead.
 */
export function readSettings(): { config: Config; workspaceDefined: Set<string>; warnings: string[] } | { error: string } {
  const section = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  const pick = (group: string, keys: string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const inspected = section.inspect(`${group}.${key}`);
      // A workspace may turn read-only mode on, never off; other user-only settings ignore it.
      const value = !USER_ONLY_GROUPS.has(group)
        ? (inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue)
        : key === 'readOnlyMode'
          ? [inspected?.globalValue, inspected?.workspaceValue, inspected?.workspaceFolderValue].some((v) => v === true) || inspected?.globalValue
          : inspected?.globalValue;
      if (value !== undefined) out[key] = value;
    }
    return out;
  };
  const servers = section.get<Record<string, unknown>>('servers', {});
  const inspected = section.inspect<Record<string, unknown>>('servers');
  // Workspace and folder values came with the repository: the same allowlist as a headless
  // workspace configuration (proposed servers; built-ins only switched off or narrowed).
  for (const [scope, value] of [['workspace', inspected?.workspaceValue], ['folder', inspected?.workspaceFolderValue]] as const) {
    if (value === undefined) continue;
    try {
      checkWorkspaceConfig({ servers: value }, `${scope} setting ${SETTINGS_SECTION}.servers`, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '/');
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }
  const workspaceDefined = new Set([...Object.keys(inspected?.workspaceValue ?? {}), ...Object.keys(inspected?.workspaceFolderValue ?? {})]);
  const raw: Record<string, unknown> = { servers };
  for (const group of SETTINGS_GROUPS) raw[group] = pick(group, settingsGroupKeys(group));
  // Only the user's own value: a workspace must not choose where alerts (and arguments) go.
  for (const key of OPERATOR_OBJECTS) {
    const value = section.inspect(key)?.globalValue;
    if (value !== undefined) raw[key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { error: `setting ${SETTINGS_SECTION}.${issue.path.map(String).join('.')}: ${issue.message}` };
  }
  const warnings = deprecatedDurations(raw, DURATION_GROUPS, `${SETTINGS_SECTION}.`).map((d) => d.message);
  return { config: parsed.data, workspaceDefined, warnings };
}
