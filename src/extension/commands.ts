import { ADOPT_COMMANDS, ADOPT_COMMAND_TITLES } from './adopt/commands';
import { TEAM_COMMANDS, TEAM_COMMAND_TITLES } from './team/commands';

/** Every command of the extension, by id. A unit test checks this map against package.json. */
export const COMMANDS = {
  ...ADOPT_COMMANDS,
  ...TEAM_COMMANDS,
  serverStart: 'mcpControlPlane.server.start',
  serverStop: 'mcpControlPlane.server.stop',
  serverRestart: 'mcpControlPlane.server.restart',
  serverShowLog: 'mcpControlPlane.server.showLog',
  serverEnable: 'mcpControlPlane.server.enable',
  serverDisable: 'mcpControlPlane.server.disable',
  serverConnect: 'mcpControlPlane.server.connect',
  workspaceTrust: 'mcpControlPlane.workspace.trust',
  clientConfigCopy: 'mcpControlPlane.clientConfig.copy',
  secretSet: 'mcpControlPlane.secret.set',
  secretList: 'mcpControlPlane.secret.list',
  secretDelete: 'mcpControlPlane.secret.delete',
  viewFocus: 'mcpControlPlane.view.focus',
  dashboardOpen: 'mcpControlPlane.dashboard.open',
  policyTest: 'mcpControlPlane.policy.test',
  auditVerify: 'mcpControlPlane.audit.verify',
  consentReview: 'mcpControlPlane.consent.review',
  consentGitHooks: 'mcpControlPlane.consent.gitHooks',
  consentRevoke: 'mcpControlPlane.consent.revoke',
  policyReload: 'mcpControlPlane.policy.reload',
  auditExportKey: 'mcpControlPlane.audit.exportKey',
  auditRotateKey: 'mcpControlPlane.audit.rotateKey',
  // Per-tool controls and Add Server (src/extension/tool-rules.ts, add-server.ts). They take no
  // arguments from outside: a tool comes from the tree's own node, an approval card or a pick.
  toolAllow: 'mcpControlPlane.tool.allow',
  toolRequireApproval: 'mcpControlPlane.tool.requireApproval',
  toolDisable: 'mcpControlPlane.tool.disable',
  toolEnable: 'mcpControlPlane.tool.enable',
  serverAdd: 'mcpControlPlane.server.add',
} as const;

/** Titles as the palette shows them (category "MCP Control Plane"). */
export const COMMAND_TITLES: Record<keyof typeof COMMANDS, string> = {
  ...ADOPT_COMMAND_TITLES,
  ...TEAM_COMMAND_TITLES,
  serverStart: 'Start Server',
  serverStop: 'Stop Server',
  serverRestart: 'Restart Server',
  serverShowLog: 'Show Server Log',
  serverEnable: 'Enable Server',
  serverDisable: 'Disable Server',
  serverConnect: 'Connect VS Code to Server',
  workspaceTrust: 'Trust Workspace (Leave Restricted Mode)…',
  clientConfigCopy: 'Copy Client Configuration',
  secretSet: 'Set Secret',
  secretList: 'List Secrets',
  secretDelete: 'Delete Secret',
  viewFocus: 'Show Servers',
  dashboardOpen: 'Open Dashboard',
  policyTest: 'Test Policy Draft…',
  auditVerify: 'Verify Audit Log',
  consentReview: 'Review Workspace Proposals…',
  consentGitHooks: 'Allow Git Hooks for a Repository…',
  consentRevoke: 'Withdraw a Consent…',
  policyReload: 'Reload Workspace Policy (Drop Kept Rules)…',
  auditExportKey: 'Export Audit Key',
  auditRotateKey: 'Rotate Audit Key',
  toolAllow: 'Always Allow Tool…',
  toolRequireApproval: 'Always Require Approval for Tool',
  toolDisable: 'Disable Tool',
  toolEnable: 'Enable Tool…',
  serverAdd: 'Add Server…',
};

export const VIEW_CONTAINER_ID = 'mcpControlPlane';
export const SERVERS_VIEW_ID = 'mcpControlPlane.servers';
export const APPROVALS_VIEW_ID = 'mcpControlPlane.approvals';
export const MCP_PROVIDER_ID = 'mcpControlPlane.servers';
