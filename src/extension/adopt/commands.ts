/** The adopt and assess commands, by id. Merge into the extension's COMMANDS map and package.json. */
export const ADOPT_COMMANDS = {
  serversAdopt: 'mcpControlPlane.servers.adopt',
  configAssess: 'mcpControlPlane.config.assess',
  /** Run from the assessment report's links; hidden from the palette. */
  assessExportJson: 'mcpControlPlane.config.assessExportJson',
  assessExportMarkdown: 'mcpControlPlane.config.assessExportMarkdown',
  assessReveal: 'mcpControlPlane.config.assessReveal',
  assessRemediate: 'mcpControlPlane.config.assessRemediate',
} as const;

/** Titles as the palette shows them (category "MCP Control Plane"). */
export const ADOPT_COMMAND_TITLES: Record<keyof typeof ADOPT_COMMANDS, string> = {
  serversAdopt: 'Adopt Servers from mcp.json',
  configAssess: 'Assess MCP Configuration',
  assessExportJson: 'Export Assessment as JSON',
  assessExportMarkdown: 'Export Assessment as Markdown',
  assessReveal: 'Show Assessment Finding',
  assessRemediate: 'Fix Assessment Finding',
};

/** Commands only the report's links run: `"when": "false"` in `menus.commandPalette`. */
export const ADOPT_HIDDEN_COMMANDS: ReadonlyArray<keyof typeof ADOPT_COMMANDS> = ['assessExportJson', 'assessExportMarkdown', 'assessReveal', 'assessRemediate'];

/** The view type of the assessment report panel. */
export const ASSESSMENT_PANEL_TYPE = 'mcpControlPlane.assessment';
