export { auditFileName, listAuditFiles, type AuditFileRef } from './files';
export {
  AuditLog,
  isProcessAlive,
  type AuditAppendResult,
  type AuditLogOptions,
  type AuditOpenReport,
  type AuditQuarantine,
} from './log';
export {
  AUDIT_CSV_COLUMNS,
  exportAudit,
  queryAudit,
  type AuditFilter,
  type AuditPage,
  type AuditPageRequest,
} from './query';
export {
  AUDIT_DECISIONS,
  AUDIT_EVENT_TYPES,
  AUDIT_OUTCOMES,
  GENESIS_HASH,
  auditEventSchema,
  auditRecordSchema,
  recordHash,
  type AuditDecision,
  type AuditEvent,
  type AuditEventType,
  type AuditOutcome,
  type AuditRecord,
} from './record';
export {
  verifyAudit,
  type AuditBreak,
  type AuditInstanceReport,
  type AuditTornTail,
  type AuditVerifyResult,
} from './verify';
