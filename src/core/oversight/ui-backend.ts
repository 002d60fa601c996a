import type { Event } from '../events';
import type { Principal } from '../team/principal';
import type { AuditFilter, AuditRow, DashboardState, PolicyTestView, UiResults, UndoPreviewView } from '../../protocol/ui';

/** A human decider as the UI hosts identify one. */
export interface UiDecider {
  kind: 'vscode-ui' | 'approver-credential' | 'ui-session';
  name?: string;
  /** Who the human is (team mode: the signed-in `/ui` user); absent: the loopback mode's local user. */
  principal?: Principal;
}

/**
 * What the dashboard and approvals UIs read and do, whichever host shows them (a VS Code webview
 * or the gateway's /ui). Hosts never reach the stores directly.
 */
export interface UiBackend {
  /** The whole state the UI renders, with call statistics over the last `windowMs`. */
  state(windowMs: number): Promise<DashboardState>;
  /** Something the UI shows changed (servers, approvals, calls); hosts re-send state, throttled. */
  readonly onDidChange: Event<void>;
  /**
   * A human's decision, bound to the digest the human saw. Throws a ControlPlaneError
   * (`APPROVAL_NOT_FOUND`, `APPROVAL_NOT_PENDING`, `APPROVAL_DIGEST_MISMATCH`) otherwise.
   */
  decide(params: { approvalId: string; digest: string; approve: boolean; reason?: string }, by: UiDecider): Promise<UiResults['approval.decide']>;
  queryAudit(filter: AuditFilter, cursor: string | undefined, limit: number): Promise<{ records: AuditRow[]; nextCursor?: string }>;
  /**
   * What-if: replays the verified audit of the last `sinceMs` through a draft policy (YAML text) in
   * place of `layer` (default: the operator's). Throws a ControlPlaneError saying what to fix when
   * the draft is invalid or the audit does not verify. Reads only: nothing is put in force.
   */
  testPolicy(params: { name: string; text: string; layer?: 'user' | 'config' | 'workspace'; sinceMs: number }): Promise<PolicyTestView>;
  /** The undo of a call: its inverse and drift check (docs/undo.md). Throws when the call cannot be undone. */
  undoPreview(callId: string): Promise<UndoPreviewView>;
  /**
   * Submits the previewed undo through the gateway (policy, approval, audit with undoOf) and
   * answers at once: the undo then waits for an approval. Throws when the plan changed since.
   */
  undoSubmit(callId: string, digest: string): Promise<UiResults['undo.submit']>;
}
