import * as vscode from 'vscode';
import { configSchema, settingsSchema, type Config } from '../core/config/schema';
import { SETTINGS_SECTION } from '../core/config/settings-contribution';

/** Reads the settings into a validated configuration; a problem names the setting. */
export function readSettings(): { config: Config; workspaceDefined: Set<string> } | { error: string } {
  const section = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  const gatewayKeys = Object.keys(settingsSchema.shape.gateway.unwrap().shape);
  const supervisorKeys = Object.keys(settingsSchema.shape.supervisor.unwrap().shape);
  const pick = (group: string, keys: string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const inspected = section.inspect(`${group}.${key}`);
      const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
      if (value !== undefined) out[key] = value;
    }
    return out;
  };
  const servers = section.get<Record<string, unknown>>('servers', {});
  const inspected = section.inspect<Record<string, unknown>>('servers');
  const workspaceDefined = new Set([...Object.keys(inspected?.workspaceValue ?? {}), ...Object.keys(inspected?.workspaceFolderValue ?? {})]);
  const raw = { gateway: pick('gateway', gatewayKeys), supervisor: pick('supervisor', supervisorKeys), servers };
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { error: `setting ${SETTINGS_SECTION}.${issue.path.map(String).join('.')}: ${issue.message}` };
  }
  return { config: parsed.data, workspaceDefined };
}
