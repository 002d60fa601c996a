/** The team client's commands, by id. Merged into the extension's COMMANDS map and package.json. */
export const TEAM_COMMANDS = {
  teamSetApiKey: 'mcpControlPlane.team.setApiKey',
  teamForgetApiKey: 'mcpControlPlane.team.forgetApiKey',
  teamRefresh: 'mcpControlPlane.team.refresh',
  teamSignInApprover: 'mcpControlPlane.team.signInApprover',
  teamSignOutApprover: 'mcpControlPlane.team.signOutApprover',
  teamSignIn: 'mcpControlPlane.team.signIn',
  teamSignOut: 'mcpControlPlane.team.signOut',
} as const;

/** Titles as the palette shows them (category "MCP Control Plane"). */
export const TEAM_COMMAND_TITLES: Record<keyof typeof TEAM_COMMANDS, string> = {
  teamSetApiKey: 'Team: Set API Key…',
  teamForgetApiKey: 'Team: Forget API Key',
  teamRefresh: 'Team: Refresh Servers',
  teamSignInApprover: 'Team: Sign In as Approver…',
  teamSignOutApprover: 'Team: Sign Out Approver',
  teamSignIn: 'Team: Sign In…',
  teamSignOut: 'Team: Sign Out',
};
