// The generated parts of package.json (no 'vscode' import: scripts and unit tests load this).
import { settingsContribution } from '../core/config/settings-contribution';
import { COMMANDS, COMMAND_TITLES } from './commands';
import { TEAM_URL_CONTRIBUTION, TEAM_URL_SETTING } from './team/remote';

const ICONS: Partial<Record<keyof typeof COMMANDS, string>> = {
  serverStart: '$(debug-start)',
  serverStop: '$(debug-stop)',
  serverRestart: '$(debug-restart)',
  serverShowLog: '$(output)',
  serverEnable: '$(check)',
  serverConnect: '$(plug)',
  workspaceTrust: '$(workspace-trusted)',
  clientConfigCopy: '$(copy)',
  dashboardOpen: '$(dashboard)',
  auditVerify: '$(verified)',
  serversAdopt: '$(cloud-download)',
  configAssess: '$(shield)',
  toolAllow: '$(pass)',
  toolRequireApproval: '$(shield)',
  toolDisable: '$(circle-slash)',
  toolEnable: '$(check)',
  serverAdd: '$(add)',
};

export function manifestContributions(): {
  configuration: ReturnType<typeof settingsContribution>;
  commands: Array<{ command: string; title: string; category: string; icon?: string }>;
} {
  const commands = (Object.keys(COMMANDS) as Array<keyof typeof COMMANDS>).map((key) => ({
    command: COMMANDS[key],
    title: COMMAND_TITLES[key],
    category: 'MCP Control Plane',
    ...(ICONS[key] ? { icon: ICONS[key] } : {}),
  }));
  // The team client's setting is the extension's own (not part of the engine's configuration).
  const configuration = settingsContribution();
  const properties = Object.fromEntries(Object.entries({ ...configuration.properties, [TEAM_URL_SETTING]: TEAM_URL_CONTRIBUTION }).sort(([a], [b]) => a.localeCompare(b)));
  return { configuration: { ...configuration, properties }, commands };
}
