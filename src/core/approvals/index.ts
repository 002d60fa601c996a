export {
  APPROVER_CREDENTIAL_FILE,
  APPROVER_CREDENTIAL_PREFIX,
  ensureApproverCredential,
  rotateApproverCredential,
  verifyApproverCredential,
  type EnsuredCredential,
} from './approver-credential';
export { ManualClock, systemClock, type Clock, type Timer } from './clock';
export {
  FilePendingJournal,
  type AuditSink,
  type FilePendingJournalOptions,
  type OrphanedApproval,
} from './journal';
export {
  PREVIEW_META_KEY,
  declaresPreview,
  obtainPreview,
  type ApprovalPreview,
  type PreviewOptions,
} from './preview';
export { approvalProgress, judgeDecision, MAX_APPROVERS, type ApprovalVote, type DecisionRules, type Judgement } from './rules';
export type { SharedApprovalStorage, SharedDecisionInput } from './shared';
export {
  ApprovalStore,
  approvalDigest,
  type Approval,
  type ApprovalChange,
  type ApprovalDecision,
  type ApprovalKind,
  type ApprovalOutcome,
  type ApprovalRequest,
  type ApprovalStatus,
  type ApprovalStoreOptions,
  type ClientInfo,
  type Decider,
  type HumanDecider,
  type PendingEntry,
  type PendingJournal,
} from './store';
