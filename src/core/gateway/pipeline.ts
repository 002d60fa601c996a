import type { ProgressToken, ToolAnnotations, CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallOutcome } from '../metrics/metrics';
import type { Principal } from '../team/principal';
import type { UndoAuditDetail, UndoCapture } from '../undo/service';

/** Who is calling, as the client said in `initialize`. */
export interface ClientIdentity {
  name: string;
  version: string;
}

/** One request travelling through the gateway pipeline. */
export interface GatewayCall {
  /** Unique id; also sent to built-in servers as `_meta["mcpcp/callId"]`. */
  readonly id: string;
  readonly server: string;
  /** Built-in servers' annotations and previews are trusted; third-party ones are not. */
  readonly builtin: boolean;
  /** `tools/call`, `resources/read`, `prompts/get`, or another forwarded method. */
  readonly method: string;
  /** Tool name, resource URI or prompt name; the method for other requests. */
  readonly name: string;
  readonly args: Record<string, unknown>;
  /** The tool's annotations as the server declared them (tools/call only). */
  readonly annotations: ToolAnnotations | undefined;
  /** The tool declares a preview (`_meta["mcpcp/preview"]`) and takes `dryRun`. */
  readonly hasPreview: boolean;
  /**
   * A built-in tool that declares a preview, called with `dryRun: true`: its own call, which needs
   * no approval (unless policy asks one for `reveal`/`force` or a secret resource), never uses or
   * satisfies the real call's approval, and is audited as `dry-run`. Always false for third-party
   * servers, whose `dryRun` is just an argument.
   */
  readonly dryRun: boolean;
  /** What the call will change, as the built-in server resolved it before policy (`effects.ts`). */
  readonly effect?: Record<string, unknown>;
  /** The tool declares an effect but it could not be resolved (policy then asks a human). */
  readonly effectProblem?: string;
  /** The server said the arguments are at fault (`effectProblem`): the call could not run, policy refuses it. */
  readonly effectInvalid?: boolean;
  readonly client: ClientIdentity | undefined;
  /** Who is calling (team mode resolves it from the credential); absent: the loopback mode's LOCAL_PRINCIPAL. */
  readonly principal?: Principal;
  readonly sessionId: string;
  readonly signal: AbortSignal;
  readonly progressToken: ProgressToken | undefined;
  readonly startedAt: number;
  /** Time spent waiting for a human's decision: not part of the tool's latency. */
  approvalWaitMs?: number;
  /** The call the control plane submitted this one to undo (a ticket of the undo service; audited as `undoOf`). */
  readonly undoOf?: string;
  /** A step of an undo session whose plan a human approved (that approval id stands for this call's). */
  readonly undoPlanApproval?: string;
  /** The undo handle's secret-bearing prior state, forwarded to the built-in server in `_meta` (never in the arguments). */
  readonly undoState?: Record<string, unknown>;
}

/** What policy says of a call. */
export interface PolicyVerdict {
  decision: 'allow' | 'approve' | 'deny';
  reason: string;
  /** Which rule matched (for display and audit). */
  rule?: { source: string; index?: number; id?: string };
  /** For `approve`: distinct approvers needed (the rule's `approvers`); absent means 1. */
  approvers?: number;
}

/** A human's answer to an approval request. */
export interface ApprovalOutcome {
  approved: boolean;
  reason: string;
  /** How a call that was not approved is recorded (default `rejected`). */
  outcome?: Extract<CallOutcome, 'rejected' | 'expired' | 'denied' | 'caller-disconnected' | 'stopped'>;
}

/** Runs the tool's preview (`dryRun: true`) through the same server; undefined without one. */
export type PreviewRunner = () => Promise<CallToolResult | undefined>;

/**
 * The oversight stages of the pipeline: auth → limits → **policy → approval** → forward →
 * **audit** and metrics. Implementations must not throw for a denial: they return the verdict.
 */
export interface OversightStages {
  policy(call: GatewayCall): Promise<PolicyVerdict>;
  /**
   * Waits for a human decision for a call policy sent to approval. `call.signal` aborts when the
   * caller is gone (request cancelled, stream closed, session deleted): the pending approval is
   * then cancelled, never left for a later decision to run.
   */
  approve(call: GatewayCall, verdict: PolicyVerdict, runPreview: PreviewRunner, progress: (message: string) => void): Promise<ApprovalOutcome>;
  /**
   * Records a pipeline event. The gateway awaits the records written before a call is forwarded
   * (requested, policy decision) and refuses the call when they fail: no call runs unrecorded.
   */
  audit(event: PipelineEvent): Promise<void> | void;
  /**
   * Keeps the undo handle a built-in server returned with a successful call (encrypted, outside
   * the audit); what it returns goes into the call's completion record. Absent: handles are dropped.
   */
  captureUndo?(call: GatewayCall, handle: unknown): Promise<UndoCapture>;
  /** The call a tools/call undoes, when its `_meta["mcpcp/undoOf"]` carries a ticket the undo service issued. */
  undoLink?(meta: unknown, server: string, tool: string, args: Record<string, unknown>): { undoOf: string; planApproval?: string; state?: Record<string, unknown> } | undefined;
}

export type PipelineEvent =
  | { type: 'call.requested'; call: GatewayCall }
  | { type: 'policy.decided'; call: GatewayCall; verdict: PolicyVerdict }
  | { type: 'call.completed'; call: GatewayCall; durationMs: number; resultBytes: number; isError: boolean; undo?: UndoAuditDetail }
  | { type: 'call.failed'; call: GatewayCall; durationMs: number; outcome: CallOutcome; error: string }
  | { type: 'server.request'; server: string; method: string; sessionId: string | undefined; callId: string | undefined };

/**
 * The foundation's stages: policy allows everything (the oversight issue replaces this), nothing
 * waits for approval, and events are dropped.
 */
export const allowAllStages: OversightStages = {
  policy: async () => ({ decision: 'allow', reason: 'no policy configured', rule: { source: 'default' } }),
  approve: async () => ({ approved: false, reason: 'approvals are not available' }),
  audit: () => undefined,
};
