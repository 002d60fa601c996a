import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { McpConfigLocation, OwnServers } from '../../core/adopt';
import { mcpConfigLocations } from '../../core/adopt';
import type { ServerConfig } from '../../core/config/schema';

/**
 * The control plane's servers in VS Code: the `mcpControlPlane.servers` user setting. Adopted
 * servers go there (a user-level choice; a workspace cannot add servers that run outside it).
 * Writing it makes the extension re-apply its settings, which starts them.
 */
export function settingsOwnServers(): OwnServers {
  const section = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('mcpControlPlane');
  const current = (): Record<string, ServerConfig> => ({ ...(section().inspect<Record<string, ServerConfig>>('servers')?.globalValue ?? {}) });
  return {
    label: 'user settings (mcpControlPlane.servers)',
    read: async () => current(),
    update: async (entries) => {
      const next = current();
      for (const [name, value] of Object.entries(entries)) {
        if (value === undefined) delete next[name];
        else next[name] = value;
      }
      await section().update('servers', next, vscode.ConfigurationTarget.Global);
    },
  };
}

/** VS Code's user folder (settings.json, mcp.json): two folders above the extension's global storage. */
export function vscodeUserDir(context: vscode.ExtensionContext): string {
  return dirname(dirname(context.globalStorageUri.fsPath));
}

/**
 * Every MCP configuration this window can see: per workspace folder `.vscode/mcp.json`, `.mcp.json`,
 * `.mcpcp/config.yaml` and `.vscode/settings.json`; the user's `mcp.json` and `settings.json`
 * (where `mcpControlPlane.servers` lives); Claude Desktop's file.
 */
export function windowLocations(context: vscode.ExtensionContext): McpConfigLocation[] {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const userDir = vscodeUserDir(context);
  const locations = mcpConfigLocations({ workspaceFolders: folders, vscodeUserDir: userDir, ownConfigFiles: [join(userDir, 'settings.json')] });
  for (const folder of folders) locations.push({ path: join(folder, '.vscode', 'settings.json'), kind: 'mcpcp-settings', scope: 'workspace', workspaceFolder: folder });
  return locations;
}

/**
 * Whether VS Code itself starts the servers of a file: its own mcp.json files always; Claude
 * Desktop's when `chat.mcp.discovery.enabled` says so.
 */
export function editorRunsFile(location: McpConfigLocation): boolean {
  if (location.kind === 'vscode-workspace' || location.kind === 'vscode-user') return true;
  if (location.kind !== 'claude-desktop') return false;
  const discovery = vscode.workspace.getConfiguration('chat.mcp').get<unknown>('discovery.enabled');
  if (typeof discovery === 'boolean') return discovery;
  return typeof discovery === 'object' && discovery !== null && (discovery as Record<string, unknown>)['claude-desktop'] === true;
}
