export { EFFECT_CAPABILITY, EFFECT_META_KEY, EXPECTED_EFFECT_META_KEY, RESOLVE_EFFECT_METHOD, effectKey } from './effect';
export type { EffectContext, ResourceEffectResolver, ToolEffect } from './effect';
export { KitErrorCode, errorToToolResult, invalidArgument } from './errors';
export { createLogger, parseLogLevel, silentLogger } from './log';
export type { LogLevel, Logger } from './log';
export {
  DEFAULT_BUDGET_BYTES,
  byteLength,
  capList,
  capText,
  cutToBytes,
  describeBudget,
  estimateTokens,
  formatTable,
  pageLines,
  truncationNote,
} from './output';
export type { LinePage, TableColumn } from './output';
export { SECRET_PATTERNS, findSecrets, redactDeep, redactSecrets } from './redact';
export type { SecretFinding, SecretPattern } from './redact';
export { DRY_RUN_FIELD, registerTools } from './register';
export type { RegisterOptions } from './register';
export { RootsTracker } from './roots';
export type { RootsState, WorkspaceRoot } from './roots';
export { createToolServer } from './server';
export type { ToolServerOptions } from './server';
export { runStdioServer } from './stdio';
export type { StdioServerOptions } from './stdio';
export { OUTPUT_KIND_META_KEY, outputKindMeta } from './output-kind';
export type { OutputKind } from './output-kind';
export { CALL_ID_META_KEY, PREVIEW_META_KEY, defineTool, toolDefiner } from './tool';
export type { ToolContext, ToolDefinition, ToolHints, ToolReply } from './tool';
