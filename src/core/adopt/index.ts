export {
  adoptServers,
  planAdoption,
  removalChange,
  renderPlan,
  shellQuote,
  yamlOwnServers,
  type AdoptDeps,
  type AdoptionPlan,
  type AdoptResult,
  type OwnServers,
  type PlannedServer,
  type PlanOptions,
} from './adopt';
export {
  SEVERITIES,
  assessLocations,
  buildReport,
  packageArgument,
  toPointer,
  type AssessedFile,
  type AssessmentReport,
  type AssessOptions,
  type Finding,
  type FindingLocation,
  type PackageArgument,
  type Remediation,
  type Rule,
  type Severity,
} from './assess';
export { convertServer, secretNameFor, secretNameFrom, serverNameFrom, SecretNamer, type ConvertResult, type PlannedSecret } from './convert';
export { BACKUPS_FOLDER, backupFolder, backupRoot, backupSource, listBackups, referenceMovedSecrets, writeBackup, type MovedSecret } from './backups';
export {
  applyFileChange,
  restoreBackup,
  writeAtomic,
  type ActionRecorder,
  type AppliedChange,
  type ApplyDeps,
  type ChangeApprover,
  type FileChange,
} from './file-change';
export { describeHistoryScan, scanGitHistory, type HistoryHit, type HistoryLocation, type HistoryScan, type HistoryScanOptions } from './git-history';
export { editJsonc, parseJsonc, type JsonPath, type TextPosition } from './jsonc';
export {
  claudeDesktopConfigPath,
  defaultVsCodeUserDir,
  detectKind,
  locationForFile,
  mcpConfigLocations,
  parseMcpConfig,
  readMcpConfig,
  type LocationOptions,
  type McpConfigKind,
  type McpConfigLocation,
  type ParsedMcpConfig,
  type SourceInput,
  type SourceServer,
} from './mcp-config';
export { firstResolver, mapResolver, nodeModulesResolver, npmViewResolver, npxCacheResolver, pypiResolver, type VersionResolver } from './package-version';
export {
  applyRemediation,
  prepareRemediation,
  type ApplyRemediationDeps,
  type PreparedRemediation,
  type RemediationAction,
  type RemediationContext,
  type RemediationResult,
} from './remediation';
export { reportToJson, reportToMarkdown, reportToText } from './report';
export { commandUri, escapeHtml, renderAssessmentHtml, type ReportCommands, type ReportHtmlOptions } from './report-html';
export { SecretScanner, type SecretHit } from './secret-scan';
export { findExecutable, mergePathValues, readLoginShellPath, ShellPath, type LoginShellOptions } from './shell-path';
export { JSONC_SYNTAX, YAML_SYNTAX, syntaxFor, type ConfigSyntax } from './syntax';
export { unifiedDiff } from './unified-diff';
