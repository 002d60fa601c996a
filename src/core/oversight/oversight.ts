import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { ApprovalStore, FilePendingJournal, approvalProgress, obtainPreview, type Approval, type ApprovalPreview, type HumanDecider, type SharedApprovalStorage } from '../approvals';
import { LOCAL_PRINCIPAL } from '../team/principal';
import { AuditLog, defaultAuditKeyFile, fileAuditKeyStorage, loadOrCreateAuditKeyring, queryAudit, type AuditEvent, type AuditFilter as AuditQueryFilter, type AuditHealth, type AuditKeyStorage, type AuditKeyring, type AuditPage, type AuditPageRequest, type AuditRecord, type AuditSink } from '../audit';
import { AuditRetention, type AuditRetentionOptions } from '../audit/retention';
import type { JsonValue } from '../canonical-json';
import type { ApprovalsConfig } from '../config/schema';
import type { PgPool } from '../storage/postgres';
import { ControlPlaneError, errorMessage } from '../errors';
import { Emitter, type Event } from '../events';
import type { ApprovalOutcome, GatewayCall, OversightStages, PipelineEvent, PolicyVerdict, PreviewRunner } from '../gateway/pipeline';
import { percentile, type CallSample, type Metrics } from '../metrics/metrics';
import { OUTCOME_CLASS } from '../outcome';
import type { PolicyEngine, PolicyLayers } from '../policy';
import { loosens, parseDraft, readLiveAudit, replayAudit, type WhatIfSource } from '../whatif';
import { secretPaths } from '../display';
import type { Redactor } from '../redact';
import type { Supervisor } from '../supervisor/supervisor';
import { describeStatus, type ServerStatus } from '../supervisor/state';
import type { ApprovalView, AuditFilter, AuditRow, CallStats, DashboardState, PolicyTestView, SeriesPoint, ServerView, UiResults, UndoPreviewView } from '../../protocol/ui';
import type { UiBackend, UiDecider } from './ui-backend';
import type { UndoCapture, UndoService } from '../undo/service';
import { principalForAudit, type Principal } from '../team/principal';

/** Why an approval was cancelled when its caller went away (shown on the approval card). */
export const CALLER_DISCONNECTED_REASON = 'caller disconnected before a decision: cancelled, nothing ran';

/** VS Code sends at most this many tools per chat request. */
export const VSCODE_TOOL_LIMIT = 128;

/** The policy in force, as its owner keeps it current (settings, workspace file, config). */
export interface PolicySource {
  engine(): PolicyEngine;
  readOnlyMode(): boolean;
  /** Problems loading a source (the last valid policy stays in force). */
  problems(): string[];
  /** The layers as rule lists, for a what-if replay (absent: the replay keeps no other layer). */
  layers?(): { layers: PolicyLayers; note?: string };
}

export interface OversightOptions {
  policy: PolicySource;
  approvals: ApprovalsConfig;
  /** The audit log of this instance (files or PostgreSQL); every pipeline event is written there. */
  audit: AuditSink;
  auditDir: string;
  /** Where the dashboard and what-if runs read the audit from. Default: the files in `auditDir`. */
  auditHistory?: AuditHistory;
  /** The keys that verify the audit before a what-if replay (`testPolicy`). */
  auditKeyring?: AuditKeyring;
  /** The layer the operator's own rules are in: user (VS Code) or config (headless). Default config. */
  operatorLayer?: 'user' | 'config';
  redactor: Redactor;
  metrics: Metrics;
  supervisor: Supervisor;
  gatewayUrl: (server: string) => string;
  journal?: FilePendingJournal;
  /** Audit retention attached to `audit` (stopped before the log closes). */
  auditRetention?: { dispose(): void };
  log?: (message: string) => void;
  /** How often a waiting call reports progress (ms). */
  heartbeatMs?: number;
  /**
   * The requester may decide their own request. Default true: the loopback single-user mode is
   * self-approval by construction. A team deployment passes `team.allowSelfApproval` (default false).
   */
  allowSelfApproval?: boolean;
  /** Approval state shared with other replicas (PostgreSQL); absent: this process only. */
  sharedApprovals?: SharedApprovalStorage;
}

/** Reads the audit of every writer: the dashboard's queries and a what-if run's verified history. */
export interface AuditHistory {
  query(filter: AuditQueryFilter, page: AuditPageRequest): Promise<AuditPage>;
  /** The records since `sinceMs` ago, after verifying every chain (throws when one is broken). */
  live(keys: AuditKeyring, sinceMs: number): Promise<{ records: AuditRecord[]; source: WhatIfSource }>;
}

/** The local files' history (every instance's files in `dir`). */
export function fileAuditHistory(dir: string): AuditHistory {
  return { query: (filter, page) => queryAudit(dir, filter, page), live: (keys, sinceMs) => readLiveAudit(dir, keys, sinceMs) };
}

/**
 * Human oversight: the policy, approval and audit stages of the gateway pipeline, and the backend
 * of the dashboard and approvals UIs. Policy and audit live here once; tool handlers never check
 * either.
 */
export class Oversight implements OversightStages, UiBackend {
  readonly store: ApprovalStore;
  private readonly changed = new Emitter<void>();
  readonly onDidChange: Event<void> = this.changed.event;
  /** Fires the error when the audit log stops accepting writes (once per failure, as calls are refused from then on). */
  readonly onDidFailAudit: Event<string> = (listener) =>
    this.options.audit.onDidChangeHealth((health) => {
      if (health.state === 'failing') listener(health.lastError);
    });
  private readonly disposables: Array<{ dispose(): void }> = [];
  /** Calls waiting in `approve`, per client session (bounded by approvals.maxPendingPerSession). */
  private readonly waitingBySession = new Map<string, number>();
  private closed = false;
  private recentCache: { windowMs: number; at: number; records: readonly AuditRecord[] } | undefined;
  private recentDirty = true;

  private readonly history: AuditHistory;

  constructor(private readonly options: OversightOptions) {
    this.history = options.auditHistory ?? fileAuditHistory(options.auditDir);
    this.store = new ApprovalStore({
      defaultExpiryMs: options.approvals.expiryMs,
      ...(options.journal ? { journal: options.journal } : {}),
      ...(options.allowSelfApproval !== undefined ? { allowSelfApproval: options.allowSelfApproval } : {}),
      ...(options.sharedApprovals ? { shared: options.sharedApprovals } : {}),
      onError: (err) => options.log?.(`approvals: ${errorMessage(err)}`),
    });
    this.disposables.push(
      this.store.onDidChange((change) => {
        const a = change.approval;
        if (change.type === 'requested') {
          this.record({ type: 'approval.requested', approvalId: a.id, ...(a.callId ? { callId: a.callId } : {}), kind: a.kind, server: a.server, tool: a.tool, ...(a.client ? { client: a.client } : {}), ...(a.rule ? { rule: a.rule } : {}), reason: a.reason, detail: { digest: a.digest, preview: a.preview.status } });
        } else if (change.type === 'decided' || change.type === 'expired') {
          const d = a.decision;
          // Who asked and who decided (principal ids), the four-eyes votes, and self-approval when the configuration allowed it.
          const who = {
            requester: a.requester.id,
            ...(d?.principal ? { decidedBy: d.principal.id } : {}),
            ...(a.approversRequired > 1 || a.votes.length > 1 ? { approvers: a.votes.map((v) => v.principal.id), approvals: approvalProgress(a.votes.length, a.approversRequired) } : {}),
            ...(d?.selfApproved ? { selfApproved: true } : {}),
          };
          this.record({
            type: 'approval.decided',
            approvalId: a.id,
            ...(a.callId ? { callId: a.callId } : {}),
            kind: a.kind,
            server: a.server,
            tool: a.tool,
            decision: change.type === 'expired' ? 'expired' : d?.approved ? 'approved' : 'rejected',
            ...(d ? { actor: { kind: d.by.kind, ...(d.by.name ? { name: d.by.name } : {}), ...(deciderPrincipal(d) ? actorPrincipal(deciderPrincipal(d)!) : {}) }, reason: d.reason } : {}),
            detail: { digest: a.digest, ...who },
          });
        }
        this.changed.fire();
      }),
      // Another replica asked or decided: the UIs here re-read the shared state.
      ...(options.sharedApprovals ? [options.sharedApprovals.onDidChange(() => this.changed.fire())] : []),
      // Approvals of a replica that is gone, ended here: audited here, as their replica cannot.
      ...(options.sharedApprovals?.onDidEndOrphans
        ? [
            options.sharedApprovals.onDidEndOrphans((a) =>
              this.record({
                type: 'approval.decided',
                approvalId: a.id,
                ...(a.callId ? { callId: a.callId } : {}),
                kind: a.kind,
                server: a.server,
                tool: a.tool,
                decision: a.status === 'expired' ? 'expired' : 'rejected',
                actor: { kind: 'system', ...(a.decision?.by.name ? { name: a.decision.by.name } : {}) },
                reason: a.decision?.reason ?? a.status,
                detail: { digest: a.digest, requester: a.requester.id, endedByReplica: true },
              }),
            ),
          ]
        : []),
      options.supervisor.onDidChangeStatus((s) => {
        this.auditLifecycle(s);
        this.changed.fire();
      }),
      // Logged once when writing fails and once when it works again (with the count), never per call.
      options.audit.onDidChangeHealth((health) => {
        if (health.state === 'failing') {
          options.log?.(`audit log cannot be written (${health.lastError}): calls are refused until it can; trying again every few seconds and on each call`);
        } else {
          const gap = health.resumed;
          options.log?.(`audit log writable again${gap ? ` after ${((gap.until - gap.since) / 1000).toFixed(1)} s: ${gap.refusedCount} calls were refused and ${gap.lostRecords} records not written meanwhile (audit.write-resumed, seq ${gap.seq})` : ''}; calls are served`);
          this.refusedCalls.clear();
        }
        this.changed.fire();
      }),
    );
  }

  // ---- Undo (docs/undo.md) ----------------------------------------------------------------------

  /** The undo service, once the control plane made one (handles are dropped until then). */
  undo: UndoService | undefined;

  captureUndo(call: GatewayCall, handle: unknown): Promise<UndoCapture> {
    if (this.undo === undefined) return Promise.resolve({ detail: { undoable: false, reason: 'undo is not set up in this instance' } });
    return this.undo.capture(call, handle);
  }

  async undoPreview(callId: string): Promise<UndoPreviewView> {
    const p = await this.undoService().preview(callId);
    return { callId: p.callId, text: p.text, digest: p.digest, changed: p.drift.changed, irreversible: p.irreversible };
  }

  async undoSubmit(callId: string, digest: string): Promise<UiResults['undo.submit']> {
    return this.undoService().start(callId, digest);
  }

  private undoService(): UndoService {
    if (this.undo === undefined) throw new ControlPlaneError('UNDO_NOT_SET_UP', 'undo is not set up in this instance');
    return this.undo;
  }

  undoLink(meta: unknown, server: string, tool: string, args: Record<string, unknown>): { undoOf: string; planApproval?: string; state?: Record<string, unknown> } | undefined {
    return this.undo?.link(meta, server, tool, args);
  }

  // ---- Pipeline stages -----------------------------------------------------------------------

  async policy(call: GatewayCall): Promise<PolicyVerdict> {
    const health = this.options.audit.health.state === 'ok' ? this.options.audit.health : await this.auditHealthNow();
    if (health.state === 'failing') {
      this.options.audit.noteRefused();
      if (this.refusedCalls.size < 100_000) this.refusedCalls.add(call.id);
      return {
        decision: 'deny',
        reason: `the audit log cannot be written since ${new Date(health.since).toISOString()} (${health.lastError}); calls are refused until it can be written again (no call runs unrecorded); try again later`,
        rule: { source: 'audit' },
      };
    }
    const result = this.options.policy.engine().evaluate({
      kind: kindOf(call.method),
      server: call.server,
      name: call.name,
      builtin: call.builtin,
      ...(call.annotations ? { annotations: call.annotations } : {}),
      args: call.method === 'resources/read' ? {} : call.args,
      ...(call.effect !== undefined ? { effect: call.effect } : {}),
      ...(call.principal ? { principal: call.principal } : {}),
    });
    if (call.effectProblem !== undefined && call.effectInvalid === true) {
      return { decision: 'deny', reason: `${call.effectProblem}. Nothing ran: fix the arguments and call again.`, rule: { source: 'default', id: 'effect-invalid' } };
    }
    if (call.effectProblem !== undefined && result.decision === 'allow') {
      return { decision: 'approve', reason: `What ${call.name} would change could not be resolved (${call.effectProblem}), so a human decides.`, rule: { source: 'default', id: 'effect-unresolved' } };
    }
    return { decision: result.decision, reason: result.reason, rule: { source: result.rule.source, ...(result.rule.index !== undefined ? { index: result.rule.index } : {}), ...(result.rule.id ? { id: result.rule.id } : {}) }, ...(result.approvers !== undefined && result.decision === 'approve' ? { approvers: result.approvers } : {}) };
  }

  async approve(call: GatewayCall, verdict: PolicyVerdict, runPreview: PreviewRunner, progress: (message: string) => void): Promise<ApprovalOutcome> {
    const kind = kindOf(call.method);
    const digest = this.store.digest(digestInput(call));
    // A repeat of a call whose approval is already pending needs no second preview.
    const joining = this.store.list().some((a) => a.server === call.server && a.tool === call.name && a.kind === kind && a.digest === digest);
    // Bounded: a session (or all of them) cannot flood the approvers.
    const { maxPendingPerSession, maxPending } = this.options.approvals;
    const mine = this.waitingBySession.get(call.sessionId) ?? 0;
    if (mine >= maxPendingPerSession) {
      return { approved: false, outcome: 'denied', reason: `this session already has ${mine} calls waiting for a human (limit ${maxPendingPerSession}, setting approvals.maxPendingPerSession); wait for those decisions before asking for more` };
    }
    if (!joining && this.store.list().length >= maxPending) {
      return { approved: false, outcome: 'denied', reason: `${maxPending} approvals are already waiting for a human (setting approvals.maxPending); try again once they are decided` };
    }
    // A step of an undo session: a human approved the whole plan (bound to its digest) once.
    if (call.undoPlanApproval !== undefined) return { approved: true, reason: `approved as a step of the undo plan of approval ${call.undoPlanApproval}` };
    this.waitingBySession.set(call.sessionId, mine + 1);
    try {
      return await this.approveBounded(call, verdict, runPreview, progress, kind, digest, joining);
    } finally {
      const left = (this.waitingBySession.get(call.sessionId) ?? 1) - 1;
      if (left > 0) this.waitingBySession.set(call.sessionId, left);
      else this.waitingBySession.delete(call.sessionId);
    }
  }

  private async approveBounded(call: GatewayCall, verdict: PolicyVerdict, runPreview: PreviewRunner, progress: (message: string) => void, kind: 'tool' | 'resource' | 'prompt', digest: string, joining: boolean): Promise<ApprovalOutcome> {
    let preview: ApprovalPreview = { status: 'none' };
    if (!joining) {
      preview = await obtainPreview({
        builtin: call.builtin,
        declared: call.hasPreview,
        server: call.server,
        args: call.args,
        run: async () => (await runPreview()) as unknown,
        redactor: this.options.redactor,
        timeoutMs: this.options.approvals.previewTimeoutMs,
      });
    }
    // Gone while the preview ran: no approval is asked for nobody.
    if (call.signal.aborted) return { approved: false, outcome: 'caller-disconnected', reason: 'the caller disconnected before the approval was asked; nothing ran' };
    let requested;
    try {
      requested = await this.store.requestShared({
      kind,
      server: call.server,
      tool: call.name,
      args: digestInput(call),
      ...(call.effect !== undefined ? { effect: call.effect as Record<string, JsonValue> } : {}),
      // The human sees the arguments as they will run; the audit and the agent get them redacted.
      displayArgs: withoutDryRun(call.args) as Record<string, JsonValue>,
      secretPaths: secretPaths(withoutDryRun(call.args), this.options.redactor),
      preview,
      ...(call.client ? { client: call.client } : {}),
      ...(verdict.rule ? { rule: { source: verdict.rule.source as never, ...(verdict.rule.index !== undefined ? { index: verdict.rule.index } : {}), ...(verdict.rule.id ? { id: verdict.rule.id } : {}) } } : {}),
      reason: verdict.reason,
      callId: call.id,
      requester: call.principal ?? LOCAL_PRINCIPAL,
      ...(verdict.approvers !== undefined ? { approvers: verdict.approvers } : {}),
    });
    } catch (err) {
      if (err instanceof ControlPlaneError && err.code === 'APPROVAL_SHARED_FAILED') {
        return { approved: false, outcome: 'denied', reason: `the approval could not be recorded for the approvers (${err.message}); nothing ran, try again later` };
      }
      throw err;
    }
    const { approval } = requested;
    progress(`Waiting for a human to approve ${call.name} on ${call.server} (approval ${approval.id}, expires ${new Date(approval.expiresAt).toISOString()})`);
    let outcome;
    try {
      outcome = await this.store.waitForDecision(approval.id, {
        signal: call.signal,
        heartbeatMs: this.options.heartbeatMs ?? 10_000,
        onHeartbeat: () => progress(`Still waiting for approval ${approval.id} of ${call.name} on ${call.server}`),
      });
    } catch (err) {
      if (err instanceof ControlPlaneError && err.code === 'APPROVAL_WAIT_ABORTED') {
        // The caller is gone: an approval nobody waits for is cancelled, so it can never run
        // later for nobody (and then again on a retry).
        const cancelled = this.store.cancelUnwaited(approval.id, CALLER_DISCONNECTED_REASON);
        return { approved: false, outcome: 'caller-disconnected', reason: cancelled ? `the caller disconnected before a decision; approval ${approval.id} was cancelled and nothing ran` : `the caller disconnected before a decision; another call waits for approval ${approval.id}` };
      }
      throw err;
    }
    if (!outcome.approved) {
      const how = outcome.status === 'expired' ? `nobody decided within ${Math.round(this.options.approvals.expiryMs / 1000)} s` : `rejected by ${outcome.by.kind === 'system' ? 'the control plane' : 'a human'}${outcome.reason && !/^rejected by /.test(outcome.reason) ? `: ${outcome.reason}` : ''}`;
      return { approved: false, reason: how, outcome: outcome.status === 'expired' ? 'expired' : 'rejected' };
    }
    // A decision is single-use: the call runs only if it takes the approval now.
    const used = await this.store.consumeShared(call.server, call.name, digest, kind, (call.principal ?? LOCAL_PRINCIPAL).id);
    if (!used) return { approved: false, reason: `approval ${approval.id} was already used by an identical call; ask again` };
    return { approved: true, reason: outcome.reason || 'approved' };
  }

  /**
   * Asks a human to approve an action of the control plane itself (a remediation of an MCP
   * configuration, say) through the same approvals UI, with `previewText` (a file diff) shown as
   * the preview. Resolves when a human decided or the approval expired; audited like a call.
   */
  async requestInternalApproval(input: { action: string; args: Record<string, JsonValue>; previewText: string; reason: string; signal?: AbortSignal }): Promise<{ approved: boolean; reason: string; approvalId: string }> {
    const { approval } = await this.store.requestShared({
      kind: 'tool',
      server: 'mcpcp',
      tool: input.action,
      args: input.args,
      // A control-plane action on the user's own files, not an agent's call: secrets found in them
      // (tokens in an MCP configuration) stay masked on screen.
      displayArgs: this.options.redactor.redact(input.args) as Record<string, JsonValue>,
      preview: { status: 'ok', result: { content: [{ type: 'text', text: this.options.redactor.redactString(input.previewText) }] }, truncated: false },
      client: { name: 'mcp-control-plane' },
      rule: { source: 'default', id: 'control-plane-change' },
      reason: input.reason,
    });
    const outcome = await this.store.waitForDecision(approval.id, input.signal ? { signal: input.signal } : {});
    if (outcome.approved && !(await this.store.consumeShared('mcpcp', input.action, approval.digest, 'tool'))) {
      return { approved: false, reason: 'the approval was already used', approvalId: approval.id };
    }
    return { approved: outcome.approved, reason: outcome.reason, approvalId: approval.id };
  }

  /** Writes a record for an action of the control plane itself (remediation applied, rolled back...). */
  recordAction(event: { action: string; outcome: 'ok' | 'error'; detail?: Record<string, unknown>; error?: string; approvalId?: string }): Promise<void> {
    return this.write({
      type: event.outcome === 'ok' ? 'call.completed' : 'call.failed',
      server: 'mcpcp',
      tool: event.action,
      outcome: event.outcome === 'ok' ? 'ok' : 'failed',
      ...(event.approvalId ? { approvalId: event.approvalId } : {}),
      ...(event.error ? { error: event.error } : {}),
      ...(event.detail ? { detail: event.detail } : {}),
    });
  }

  /**
   * The audit stage. `call.requested` and `policy.decided` are awaited by the gateway before a call
   * runs: they reject while the log fails (after one probe), so the call is refused. A
   * `call.completed` that cannot be written rejects too, so the gateway can flag the result it still
   * returns. Other records (`call.failed`, server requests) never reject: while the log fails they
   * are counted in its health and listed in the `audit.write-resumed` record, not logged one by one.
   */
  audit(event: PipelineEvent): Promise<void> {
    // A server reading the host's roots changes nothing (it is answered from the host, never a client).
    if (event.type === 'server.request' && event.method === 'roots/list') return Promise.resolve();
    const record = toAuditEvent(event);
    if (event.type === 'call.requested' || event.type === 'policy.decided') {
      // Appended at once while the log is fine, so records keep the order of the calls here.
      if (this.options.audit.health.state === 'ok') return this.write(record);
      return this.auditHealthNow().then((health) => {
        if (health.state === 'failing') throw new ControlPlaneError('AUDIT_WRITE_FAILED', `the audit log cannot be written: ${health.lastError}`);
        return this.write(record);
      });
    }
    if (event.type === 'call.completed') return this.write(record);
    // The refusal of a call refused for the audit itself is in the refusal count.
    if (event.type === 'call.failed' && this.refusedCalls.has(event.call.id)) {
      this.refusedCalls.delete(event.call.id);
      if (this.options.audit.health.state === 'failing') return Promise.resolve();
    }
    return this.write(record).catch((err: unknown) => {
      if (!(err instanceof ControlPlaneError && err.code === 'AUDIT_WRITE_FAILED')) throw err;
    });
  }

  /** Calls refused while the audit log fails: their own records are not counted as lost. */
  private readonly refusedCalls = new Set<string>();

  /** Fires when the audit log stops or starts being writable (once each way, never per call). */
  get onDidChangeAuditHealth(): Event<AuditHealth> {
    return this.options.audit.onDidChangeHealth;
  }

  /** Whether the audit log can be written: `ok`, or `failing` with since, refused calls, records lost, last error. */
  get auditHealth(): AuditHealth {
    return this.options.audit.health;
  }

  /** The health, after one write attempt when it was failing (the "on the next call" probe). */
  private async auditHealthNow(): Promise<AuditHealth> {
    const audit = this.options.audit;
    if (audit.health.state === 'ok') return audit.health;
    await audit.probe();
    return audit.health;
  }

  /** Switches this instance's audit log to the key ring's current key (recorded in the chain). */
  async rotateAuditKey(keys: AuditKeyring): Promise<void> {
    await this.options.audit.rotateKey(keys);
    this.options.auditKeyring = keys;
  }

  async testPolicy(params: { name: string; text: string; layer?: 'user' | 'config' | 'workspace'; sinceMs: number }): Promise<PolicyTestView> {
    const layer = params.layer ?? this.options.operatorLayer ?? 'config';
    const { policy, tests } = parseDraft(params.text, params.name, layer);
    const keys = this.options.auditKeyring;
    if (keys === undefined) throw new ControlPlaneError('AUDIT_KEY_MISSING', 'this instance has no audit key to verify the history with');
    const history = await this.history.live(keys, params.sinceMs);
    const inForce = this.options.policy.layers?.() ?? { layers: {} };
    const report = replayAudit(history.records, { draft: policy, layer, others: inForce.layers, display: (args) => this.options.redactor.redactRecord(args) });
    const keptNames = (['user', 'config', 'workspace'] as const).filter((l) => l !== layer && (inForce.layers[l]?.length ?? 0) > 0);
    return {
      draft: params.name,
      layer,
      kept: `${keptNames.length > 0 ? `kept in force beside the draft: the ${keptNames.join(' and ')} layer${keptNames.length > 1 ? 's' : ''}` : 'no other layer has rules'}${inForce.note ? `; ${inForce.note}` : ''}`,
      source: history.source,
      report,
      tests: [...tests],
      loosens: loosens(report),
    };
  }

  /** Audits a configuration change (settings, policy file, config file). */
  configChanged(source: string, detail: Record<string, unknown> = {}): void {
    this.record({ type: 'config.changed', reason: source, detail });
    this.changed.fire();
  }

  /** Rejects every pending approval (audited): the waiting calls end now. First step of a stop. */
  rejectPending(reason = 'control plane stopping'): void {
    this.store.rejectAllPending(reason);
  }

  /** Rejects what is still pending, flushes and closes the audit log. Call after the servers stopped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.rejectPending();
    this.closed = true;
    for (const d of this.disposables) d.dispose();
    // Pending approvals rejected in the shared state too before the connection closes.
    await this.store.settled();
    this.store.dispose();
    await this.options.sharedApprovals?.close().catch(() => undefined);
    this.options.auditRetention?.dispose();
    await this.options.audit.close().catch(() => undefined);
    this.changed.dispose();
  }

  private async write(event: AuditEvent): Promise<void> {
    if (this.closed) return;
    await this.options.audit.append(event);
    // Written (and fsync'd): the next state() reads it.
    if (event.type === 'call.completed' || event.type === 'call.failed') this.recentDirty = true;
  }

  /** Writes without waiting; a failure is in the log's health (and listed when writing resumes). */
  private record(event: AuditEvent): void {
    void this.write(event).catch(() => undefined);
  }

  private readonly lastKinds = new Map<string, string>();
  private auditLifecycle(s: ServerStatus): void {
    const previous = this.lastKinds.get(s.name);
    const kind = s.state.kind;
    if (previous === kind) return;
    this.lastKinds.set(s.name, kind);
    const base = { server: s.name, ...(s.lastError ? { error: s.lastError } : {}) };
    const exit = s.lastExit ? { exitCode: s.lastExit.code, signal: s.lastExit.signal } : {};
    let event: AuditEvent | undefined;
    if (kind === 'running') event = { type: previous === 'restarting' || (previous === 'starting' && s.restarts > 0) ? 'server.restarted' : 'server.started', ...base, detail: { pid: s.state.kind === 'running' ? s.state.pid : undefined, restarts: s.restarts, tools: s.toolCount } };
    else if (kind === 'restarting') event = { type: 'server.crashed', ...base, detail: { ...exit, restarts: s.restarts } };
    else if (kind === 'crash-looping') event = { type: 'server.crash-looping', ...base, detail: exit };
    else if (kind === 'stopped' || kind === 'failed') event = { type: 'server.stopped', ...base, reason: kind === 'failed' ? 'failed to start' : (s.state.kind === 'stopped' ? s.state.reason : undefined) ?? 'stopped' };
    if (event) this.record(event);
  }

  // ---- UI backend ------------------------------------------------------------------------------

  async state(windowMs: number): Promise<DashboardState> {
    const now = Date.now();
    const since = now - windowMs;
    const samples = this.options.metrics.recent(since);
    const statuses = this.options.supervisor.statuses();
    const recent = await this.recentCalls(windowMs, since, now);
    // Shared: every replica's approvals, so an approver here decides a call waiting on another one.
    const shared = this.options.sharedApprovals;
    let pendingList = this.store.list();
    let historyList = this.store.history().slice(0, 50);
    if (shared) {
      try {
        [pendingList, historyList] = await Promise.all([shared.listPending(), shared.history(50)]);
      } catch (err) {
        // PostgreSQL unreachable: show what this replica holds rather than nothing.
        this.options.log?.(`approvals: cannot read the shared approval state, showing this replica's own: ${errorMessage(err)}`);
      }
    }
    const pending = pendingList.map(toApprovalView);
    const history = historyList.map(toApprovalView);
    const totalTools = this.options.supervisor.list().reduce((n, s) => n + (s.lastConnection?.tools.length ?? 0), 0);
    return {
      generatedAt: now,
      windowMs,
      servers: statuses.map((s) => this.serverView(s, now)),
      totals: stats('*', '*', samples),
      tools: groupStats(samples),
      series: series(samples, since, now),
      pending,
      history,
      recentCalls: recent.records.map(toAuditRow),
      toolBudget: { total: totalTools, limit: VSCODE_TOOL_LIMIT },
      policy: { readOnlyMode: this.options.policy.readOnlyMode(), problems: this.options.policy.problems() },
    };
  }

  /**
   * The latest calls from the audit files (every instance's). Re-read when this instance recorded
   * a call since, or after 5 s (other windows write too): the UIs refresh often.
   */
  private async recentCalls(windowMs: number, since: number, now: number): Promise<{ records: readonly AuditRecord[] }> {
    const cached = this.recentCache;
    if (cached && !this.recentDirty && cached.windowMs === windowMs && now - cached.at < 5_000) return cached;
    this.recentDirty = false;
    const page = await this.history.query({ type: ['call.completed', 'call.failed'], from: since }, { limit: 50, order: 'desc' }).catch(() => ({ records: [] as AuditRecord[] }));
    this.recentCache = { windowMs, at: now, records: page.records };
    return this.recentCache;
  }

  async decide(params: { approvalId: string; digest: string; approve: boolean; reason?: string }, by: UiDecider): Promise<{ status: ApprovalView['status']; note?: string; decidedBy?: string }> {
    const human: HumanDecider = { kind: by.kind, ...(by.name ? { name: by.name } : {}), principal: by.principal ?? LOCAL_PRINCIPAL };
    const decided = await this.store.decideShared(params.approvalId, { approve: params.approve, ...(params.reason ? { reason: params.reason } : {}), by: human, digest: params.digest });
    // Who this decision (or vote) was recorded as, in the form of ApprovalView.decidedBy.
    const decidedBy = human.name ? `${human.kind} (${human.name})` : human.kind;
    if (decided.status === 'pending') {
      // A four-eyes approval after its first approver: it waits for another one.
      return { status: 'pending', note: `${approvalProgress(decided.votes.length, decided.approversRequired)}; another approver must approve it`, decidedBy };
    }
    return { status: decided.status, decidedBy };
  }

  async queryAudit(filter: AuditFilter, cursor: string | undefined, limit: number): Promise<{ records: AuditRow[]; nextCursor?: string }> {
    const page = await this.history.query(
      {
        ...(filter.server ? { server: filter.server } : {}),
        ...(filter.tool ? { tool: filter.tool } : {}),
        ...(filter.type ? { type: filter.type } : {}),
        ...(filter.decision ? { decision: filter.decision } : {}),
        ...(filter.outcome ? { outcome: filter.outcome } : {}),
        ...(filter.from !== undefined ? { from: filter.from } : {}),
        ...(filter.to !== undefined ? { to: filter.to } : {}),
        ...(filter.callId ? { callId: filter.callId } : {}),
      },
      { limit, order: 'desc', ...(cursor ? { cursor } : {}) },
    );
    return { records: page.records.map(toAuditRow), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  private serverView(s: ServerStatus, now: number): ServerView {
    const state = s.state;
    return {
      name: s.name,
      builtin: s.builtin,
      state: state.kind,
      description: describeStatus(s, now),
      ...('pid' in state && state.pid !== undefined ? { pid: state.pid } : {}),
      ...('startedAt' in state ? { startedAt: state.startedAt } : {}),
      restarts: s.restarts,
      toolCount: s.toolCount,
      ...(s.lastError ? { lastError: s.lastError } : {}),
      endpoint: this.options.gatewayUrl(s.name),
    };
  }
}

/**
 * Opens this instance's audit log under `<stateDir>/audit` (the first of `<prefix>-1`, `<prefix>-2`…
 * that no live process holds), audits as rejected the approvals a dead instance left pending, and
 * builds the oversight stages. Throws when the audit log cannot be opened: nothing is served
 * unrecorded.
 */
export async function openOversight(
  options: Omit<OversightOptions, 'audit' | 'auditDir' | 'journal' | 'auditKeyring' | 'auditRetention' | 'auditHistory'> & {
    stateDir: string;
    instancePrefix: string;
    auditKeys?: AuditKeyStorage;
    retention?: AuditRetentionOptions;
    /** A team deployment: the audit goes to PostgreSQL, in this replica's own chain (`storage.postgres`). */
    postgresAudit?: { pool: PgPool; writerId: string; checkpointIntervalMs?: number };
  },
): Promise<Oversight> {
  const auditDir = join(options.stateDir, 'audit');
  const keys = await loadOrCreateAuditKeyring(options.auditKeys ?? fileAuditKeyStorage(defaultAuditKeyFile(options.stateDir)));
  if (options.postgresAudit !== undefined) {
    const pg = options.postgresAudit;
    if (options.retention !== undefined) {
      throw new ControlPlaneError('CONFIG_INVALID', 'audit.retention removes rotated audit files, and with storage.postgres the audit is in the database, where it would be silently ignored: remove audit.retention (the database keeps every record; see docs/audit.md, PostgreSQL)');
    }
    // Loaded only here: `pg` costs nothing to hosts without storage.postgres.
    const { PostgresAuditLog } = await import('../audit/postgres');
    const { postgresAuditHistory } = await import('./postgres-history');
    const audit = await PostgresAuditLog.open({ pool: pg.pool, writerId: pg.writerId, redactor: options.redactor, keys, ...(pg.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: pg.checkpointIntervalMs } : {}), ...(options.log ? { log: options.log } : {}) });
    const journal = new FilePendingJournal({ dir: options.stateDir, instanceId: audit.instanceId });
    await journal.recoverOrphans(audit);
    const { stateDir: _s, instancePrefix: _p, auditKeys: _k, retention: _r, postgresAudit: _pg, ...rest } = options;
    return new Oversight({ ...rest, audit, auditDir, auditHistory: postgresAuditHistory(pg.pool), journal, auditKeyring: keys });
  }
  let audit: AuditLog | undefined;
  for (let n = 1; n <= 64 && !audit; n++) {
    try {
      audit = await AuditLog.open({ dir: auditDir, instanceId: `${options.instancePrefix}-${n}`, redactor: options.redactor, keys });
    } catch (err) {
      if (!(err instanceof ControlPlaneError && err.code === 'AUDIT_LOCKED')) throw err;
    }
  }
  if (!audit) throw new ControlPlaneError('AUDIT_OPEN_FAILED', `64 live instances already write audit logs in ${auditDir}`);
  const journal = new FilePendingJournal({ dir: options.stateDir, instanceId: audit.instanceId });
  await journal.recoverOrphans(audit);
  // Retention runs now (in the background) and after each rotation: whole old files, recorded in the chain.
  const auditRetention = options.retention !== undefined ? new AuditRetention(audit, options.retention) : undefined;
  void auditRetention?.run();
  const { stateDir: _stateDir, instancePrefix: _prefix, auditKeys: _keys, retention: _retention, postgresAudit: _postgres, ...rest } = options;
  return new Oversight({ ...rest, audit, auditDir, journal, auditKeyring: keys, ...(auditRetention !== undefined ? { auditRetention } : {}) });
}

function kindOf(method: string): 'tool' | 'resource' | 'prompt' {
  return method === 'resources/read' ? 'resource' : method === 'prompts/get' ? 'prompt' : 'tool';
}

/**
 * What an approval is bound to: the arguments and, for a tool that declares one, the resolved
 * effect (a push approved for main at one commit is not an approval for another commit).
 */
function digestInput(call: GatewayCall): Record<string, unknown> {
  return call.effect === undefined ? call.args : { ...call.args, 'mcpcp/effect': call.effect };
}

/** The arguments without a `dryRun` that is not `true` (a dry run stays visible as one). */
function withoutDryRun(args: Record<string, unknown>): Record<string, unknown> {
  const { dryRun, ...rest } = args;
  return dryRun === true ? { ...rest, dryRun } : rest;
}

function toAuditEvent(event: PipelineEvent): AuditEvent {
  if (event.type === 'server.request') {
    return {
      type: event.method === 'sampling/createMessage' ? 'sampling.requested' : event.method === 'elicitation/create' ? 'elicitation.requested' : 'config.changed',
      server: event.server,
      ...(event.callId ? { callId: event.callId } : {}),
      detail: { method: event.method, routedToSession: event.sessionId !== undefined },
    };
  }
  const call = event.call;
  const base = {
    callId: call.id,
    kind: kindOf(call.method),
    server: call.server,
    tool: call.name,
    ...(call.client ? { client: call.client } : {}),
    // Team mode: who asked, on every record of the call (call.requested adds the client and session).
    ...(call.principal ? { principal: principalForAudit(call.principal) } : {}),
  };
  switch (event.type) {
    case 'call.requested': {
      // The policy inputs, replayable by a what-if run: the arguments as sent (the audit log masks
      // only the secret values it knows), the effect when the call carries one, the annotations,
      // and who asked.
      const effect = call.effect;
      return {
        ...base,
        type: call.method === 'resources/read' ? 'resource.read' : call.method === 'prompts/get' ? 'prompt.get' : 'call.requested',
        args: call.args,
        ...(effect !== undefined ? { effect } : {}),
        ...(call.annotations ? { annotations: { ...call.annotations } } : {}),
        principal: {
          ...(call.client ? { client: { name: call.client.name, ...(call.client.version ? { version: call.client.version } : {}) } } : {}),
          session: call.sessionId,
          ...(call.principal ? principalForAudit(call.principal) : {}),
        },
        // Whether the server is built in: the policy defaults depend on it (trusted annotations).
        detail: { builtin: call.builtin, ...(effect === undefined && call.effectProblem !== undefined ? { effectProblem: call.effectProblem } : {}), ...undoLinkDetail(call) },
      };
    }
    case 'policy.decided':
      return { ...base, type: 'policy.decided', decision: event.verdict.decision, reason: event.verdict.reason, ...(event.verdict.rule ? { rule: event.verdict.rule } : {}) };
    case 'call.completed':
      return {
        ...base,
        type: 'call.completed',
        outcome: event.isError ? 'tool-error' : call.dryRun ? 'dry-run' : 'ok',
        durationMs: event.durationMs,
        resultBytes: event.resultBytes,
        ...(event.undo !== undefined || call.undoOf !== undefined ? { detail: { ...(event.undo !== undefined ? { undo: event.undo } : {}), ...undoLinkDetail(call) } } : {}),
      };
    case 'call.failed':
      return { ...base, type: 'call.failed', outcome: event.outcome, durationMs: event.durationMs, error: event.error, ...(call.undoOf !== undefined ? { detail: undoLinkDetail(call) } : {}) };
  }
}

/** `undoOf` (and the undo plan's approval) of a call the undo service submitted. */
function undoLinkDetail(call: GatewayCall): { undoOf?: string; undoPlanApproval?: string } {
  return { ...(call.undoOf !== undefined ? { undoOf: call.undoOf } : {}), ...(call.undoPlanApproval !== undefined ? { undoPlanApproval: call.undoPlanApproval } : {}) };
}

/**
 * The person behind a `/ui` session decision (team mode): the store keeps it in `decision.principal`
 * (its `by` is stripped to kind and name), so it is read there. Other deciders (VS Code, the approver
 * credential) keep the loopback mode's actor as it was: kind and name only.
 */
function deciderPrincipal(d: { readonly by: { readonly kind: string }; readonly principal?: Principal }): Principal | undefined {
  if ('principal' in d.by && (d.by as { principal?: Principal }).principal) return (d.by as { principal: Principal }).principal;
  return d.by.kind === 'ui-session' ? d.principal : undefined;
}

/** The deciding principal as the audit's `actor` carries it. */
function actorPrincipal(p: Principal): { id: string; via: string; roles: string[]; groups: string[] } {
  const a = principalForAudit(p);
  return { id: a.id, via: a.via, roles: a.roles, groups: a.groups };
}

function toApprovalView(a: Approval): ApprovalView {
  const p = a.preview;
  const preview: ApprovalView['preview'] =
    p.status === 'ok'
      ? { status: 'ok', text: previewText(p.result), truncated: p.truncated, ...(p.secretLooking ? { secretLooking: true } : {}), ...irreversibleOf(p.result) }
      : p.status === 'failed'
        ? { status: 'failed', note: `the preview failed: ${p.error}` }
        : p.status === 'untrusted'
          ? { status: 'untrusted', note: p.note }
          : { status: 'none', note: 'this tool declares no preview: review the arguments' };
  return {
    id: a.id,
    kind: a.kind,
    server: a.server,
    tool: a.tool,
    args: { ...a.displayArgs },
    ...(a.effect ? { effect: { ...a.effect } } : {}),
    ...(a.secretPaths ? { secretPaths: [...a.secretPaths] } : {}),
    digest: a.digest,
    preview,
    ...(a.client ? { client: { name: a.client.name, ...(a.client.version ? { version: a.client.version } : {}) } } : {}),
    ...(a.rule ? { rule: { source: a.rule.source, ...(a.rule.index !== undefined ? { index: a.rule.index } : {}), ...(a.rule.id ? { id: a.rule.id } : {}) } } : {}),
    reason: a.reason,
    createdAt: a.createdAt,
    expiresAt: a.expiresAt,
    status: a.status === 'pending' ? 'pending' : a.status === 'expired' ? 'expired' : a.decision?.approved ? 'approved' : 'rejected',
    ...(a.callId ? { callId: a.callId } : {}),
    ...(a.decision ? { decidedBy: a.decision.by.name ? `${a.decision.by.kind} (${a.decision.by.name})` : a.decision.by.kind, decisionReason: a.decision.reason, decidedAt: a.decision.at } : {}),
    ...(a.requester.id !== LOCAL_PRINCIPAL.id ? { requestedBy: a.requester.name || a.requester.id, requestedByRoles: [...a.requester.roles] } : {}),
    ...(a.approversRequired > 1 ? { approvals: { given: a.votes.length, required: a.approversRequired, by: a.votes.map((v) => v.principal.name || v.principal.id) } } : {}),
    ...(a.decision?.selfApproved ? { selfApproved: true } : {}),
  };
}

/** What a built-in tool's dry run said cannot be undone (`_meta["mcpcp/irreversible"]`). */
function irreversibleOf(result: JsonValue): { irreversible?: string[] } {
  const meta = (result as { _meta?: Record<string, unknown> } | null)?._meta;
  const list = meta?.['mcpcp/irreversible'];
  return Array.isArray(list) && list.every((l) => typeof l === 'string') && list.length > 0 ? { irreversible: list as string[] } : {};
}

/** The text of a preview result: a tool result's text parts, or JSON. */
function previewText(result: JsonValue): string {
  const r = result as Partial<CallToolResult> | null;
  if (r && typeof r === 'object' && Array.isArray(r.content)) {
    const text = r.content.filter((c): c is { type: 'text'; text: string } => c.type === 'text').map((c) => c.text).join('\n');
    if (text) return r.isError ? `The preview reported an error:\n${text}` : text;
  }
  return JSON.stringify(result, null, 2);
}

function toAuditRow(r: AuditRecord): AuditRow {
  return {
    seq: r.seq,
    ts: r.ts,
    instance: r.instance,
    type: r.type,
    ...(r.callId ? { callId: r.callId } : {}),
    ...(r.server ? { server: r.server } : {}),
    ...(r.tool ? { tool: r.tool } : {}),
    ...(r.client ? { client: r.client.version ? `${r.client.name} ${r.client.version}` : r.client.name } : {}),
    ...(r.principal?.name ? { principal: `${r.principal.name}${r.principal.roles?.length ? ` (${r.principal.roles.join(', ')})` : ''}` } : {}),
    ...(r.decision ? { decision: r.decision } : {}),
    ...(r.outcome ? { outcome: r.outcome } : {}),
    ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...undoOfRecord(r),
  };
}

/** What a row says about undo: from `detail.undo` of a completion, `detail.undoOf` of an undo. */
function undoOfRecord(r: AuditRecord): Pick<AuditRow, 'undo' | 'undoOf'> {
  const detail = (r.detail ?? {}) as { undo?: { undoable?: unknown; summary?: unknown; reason?: unknown }; undoOf?: unknown };
  const u = detail.undo;
  return {
    ...(u !== undefined && typeof u.undoable === 'boolean' ? { undo: { undoable: u.undoable, ...(typeof u.summary === 'string' ? { summary: u.summary } : {}), ...(typeof u.reason === 'string' ? { reason: u.reason } : {}) } } : {}),
    ...(typeof detail.undoOf === 'string' ? { undoOf: detail.undoOf } : {}),
  };
}

/** Latencies of the calls that reached a server (approval wait excluded). */
function durationsOf(samples: readonly CallSample[]): number[] {
  return samples.flatMap((s) => (s.durationMs === undefined ? [] : [s.durationMs]));
}

function stats(server: string, tool: string, samples: CallSample[]): CallStats {
  const durations = durationsOf(samples);
  // Denials and human rejections are the oversight working, not errors.
  const errors = samples.filter((s) => OUTCOME_CLASS[s.outcome] === 'error').length;
  const refused = samples.filter((s) => OUTCOME_CLASS[s.outcome] === 'refused').length;
  return {
    server,
    tool,
    calls: samples.length,
    errors,
    refused,
    errorRate: samples.length ? errors / samples.length : 0,
    p50Ms: percentile(durations, 50),
    p95Ms: percentile(durations, 95),
    p99Ms: percentile(durations, 99),
  };
}

function groupStats(samples: CallSample[]): CallStats[] {
  const groups = new Map<string, CallSample[]>();
  for (const s of samples) {
    const key = `${s.server}\u0000${s.tool}`;
    const list = groups.get(key) ?? [];
    list.push(s);
    groups.set(key, list);
  }
  return [...groups.values()].map((list) => stats(list[0]!.server, list[0]!.tool, list)).sort((a, b) => b.calls - a.calls);
}

function series(samples: CallSample[], since: number, now: number): SeriesPoint[] {
  const minute = 60_000;
  const start = Math.floor(since / minute) * minute;
  const buckets: CallSample[][] = [];
  for (let t = start; t <= now; t += minute) buckets.push([]);
  for (const s of samples) buckets[Math.floor((s.at - start) / minute)]?.push(s);
  return buckets.map((list, i) => {
    const d = durationsOf(list);
    return { t: start + i * minute, calls: list.length, errors: list.filter((s) => OUTCOME_CLASS[s.outcome] === 'error').length, p50Ms: percentile(d, 50), p95Ms: percentile(d, 95) };
  });
}
