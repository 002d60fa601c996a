export type { AuditAppendAck, AuditSink } from './sink';
export { auditFileName, listAuditFiles, type AuditFileRef } from './files';
export {
  AuditLog,
  isProcessAlive,
  type AuditAppendResult,
  type AuditHealth,
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
  recordMac,
  type AuditDecision,
  type AuditEvent,
  type AuditEventType,
  type AuditOutcome,
  type AuditRecord,
} from './record';
export {
  auditVerifyExitCode,
  verifyAudit,
  type AuditBreak,
  type AuditInstanceReport,
  type AuditTornTail,
  type AuditVerifyOptions,
  type AuditVerifyResult,
  type AuditVerifyStatus,
} from './verify';
export {
  AUDIT_KEYRING_FORMAT,
  auditKeyId,
  defaultAuditKeyFile,
  fileAuditKeyStorage,
  loadOrCreateAuditKeyring,
  mergeAuditKeyrings,
  newAuditKeyring,
  parseAuditKeyring,
  rotateAuditKeyring,
  rotateStoredAuditKeyring,
  secretReferenceAuditKeyStorage,
  secretStoreAuditKeyStorage,
  serializeAuditKeyring,
  writeOwnerOnly,
  type AuditKeyStorage,
  type AuditKeyring,
} from './keys';
export { CHECKPOINT_FORMAT, checkpointFileName, defaultCheckpointDir, readCheckpoint, type AuditCheckpoint, type AuditManifestEntry } from './checkpoint';
// The PostgreSQL audit (`./postgres`, `./postgres-verify`) is imported on its own: it loads `pg`,
// which hosts without storage.postgres (VS Code at activation) should not pay for.
