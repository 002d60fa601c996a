// The generated parts of package.json (no 'vscode' import: scripts and unit tests load this).
import { settingsContribution } from '../core/config/settings-contribution';
import { COMMANDS, COMMAND_TITLES } from './commands';

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
  return { configuration: settingsContribution(), commands };
}
