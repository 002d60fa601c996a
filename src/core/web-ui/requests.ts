import { ControlPlaneError, errorMessage } from '../errors';
import type { UiBackend, UiDecider } from '../oversight/ui-backend';
import type { HostToUi, UiRequest, UiResults } from '../../protocol/ui';

/** Rows an `audit.query` returns when the UI names no limit. */
export const DEFAULT_AUDIT_PAGE = 50;

/** What a host gives the shared request handler: the backend, who is deciding, and its own window setter. */
export interface UiRequestContext {
  readonly backend: UiBackend;
  /** The human behind this UI instance: `vscode-ui` in a webview, `approver-credential` at /ui. */
  readonly by: UiDecider;
  /** Changes this UI instance's statistics window (the host re-sends state). */
  setWindow(windowMs: number): void;
  /**
   * VS Code only: "Allow this tool from now on…" for the tool of this approval (the host resolves
   * it in its own state and asks in a modal dialog). Absent at /ui, which refuses the request.
   */
  allowTool?(approvalId: string): Promise<{ written: boolean; message: string }>;
}

/**
 * Runs one validated UI request and returns the response to post back (same `id`). Never throws:
 * a refused decision (not found, no longer pending, digest mismatch) or any other error becomes
 * `ok: false` with a message for the human at the UI. Both hosts use this, so a webview button and
 * the web UI take the same path to `UiBackend.decide`.
 */
export async function handleUiRequest(request: UiRequest, ctx: UiRequestContext): Promise<HostToUi> {
  try {
    let result: UiResults[UiRequest['method']];
    switch (request.method) {
      case 'approval.decide': {
        const { approvalId, digest, approve, reason } = request.params;
        result = await ctx.backend.decide({ approvalId, digest, approve, ...(reason !== undefined && reason.trim() !== '' ? { reason: reason.trim() } : {}) }, ctx.by);
        break;
      }
      case 'audit.query': {
        const { filter, cursor, limit } = request.params;
        result = await ctx.backend.queryAudit(filter, cursor, limit ?? DEFAULT_AUDIT_PAGE);
        break;
      }
      case 'dashboard.setWindow':
        ctx.setWindow(request.params.windowMs);
        result = { windowMs: request.params.windowMs };
        break;
      case 'policy.test': {
        const { name, text, layer, sinceMs } = request.params;
        result = await ctx.backend.testPolicy({ name, text, sinceMs, ...(layer !== undefined ? { layer } : {}) });
        break;
      }
      case 'approval.allowTool': {
        if (ctx.allowTool === undefined) throw new Error('"Allow this tool from now on" is offered only in VS Code, where it asks in a modal dialog and writes your user settings');
        result = await ctx.allowTool(request.params.approvalId);
        break;
      }
      case 'undo.preview':
        result = await ctx.backend.undoPreview(request.params.callId);
        break;
      case 'undo.submit':
        result = await ctx.backend.undoSubmit(request.params.callId, request.params.digest);
        break;
    }
    return { type: 'response', id: request.id, ok: true, result };
  } catch (err) {
    return { type: 'response', id: request.id, ok: false, error: errorMessage(err) };
  }
}

/** HTTP status for an error from `UiBackend.decide` (the CLI's API reports it this way). */
export function decisionErrorStatus(err: unknown): number {
  if (!(err instanceof ControlPlaneError)) return 500;
  switch (err.code) {
    case 'APPROVAL_NOT_FOUND':
      return 404;
    case 'APPROVAL_NOT_PENDING':
    case 'APPROVAL_DIGEST_MISMATCH':
      return 409;
    case 'APPROVAL_BAD_DECIDER':
    case 'APPROVAL_SELF_DECISION':
      return 403;
    case 'APPROVAL_ALREADY_APPROVED':
      return 409;
    case 'APPROVAL_SHARED_FAILED':
      return 503;
    default:
      return 500;
  }
}
