// Undo of destructive calls: capture of the handle a built-in server returns, the preview with a
// drift check, and the inverse submitted through the gateway's own pipeline (policy, approval,
// audit), linked to the original call in the audit (`detail.undoOf`).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { queryAudit } from '../audit';
import { canonicalJson, sha256Hex } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import type { GatewayCall } from '../gateway/pipeline';
import type { Redactor } from '../redact';
import type { Supervisor } from '../supervisor/supervisor';
import { UNDO_OF_META_KEY, undoHandleSchema, type UndoToolCall } from './handle';
import { drifted, stateOf, stateOfResult, threeWay, type StateView } from './state';
import type { StoredUndo, UndoStore } from './store';

/** What the audit record of a call says about its undo (`detail.undo`): an id and digest, never prior content. */
export type UndoAuditDetail = { undoable: true; id: string; digest: string; summary: string; irreversible?: string[] } | { undoable: false; reason: string };

/** What the gateway does with a captured handle: an audit detail, and a note for the result when it is not undoable. */
export interface UndoCapture {
  detail: UndoAuditDetail;
  note?: string;
}

/** An undo's preview: what will run, what changed since, what can't come back. */
export interface UndoPreview {
  callId: string;
  server: string;
  tool: string;
  summary: string;
  inverse: UndoToolCall;
  drift: { changed: boolean; before: StateView; after: StateView; now: StateView; lines: string[] };
  irreversible: string[];
  /** Binds a run to this preview: the run is refused when the plan is no longer this one. */
  digest: string;
  text: string;
}

export interface UndoRunResult {
  callId: string;
  ok: boolean;
  text: string;
}

export interface UndoSessionPlan {
  sessionId: string;
  steps: UndoPreview[];
  digest: string;
  text: string;
}

export interface UndoSessionResult {
  sessionId: string;
  approvalId?: string;
  approved: boolean;
  undone: UndoRunResult[];
  failed?: UndoRunResult;
  skipped: string[];
  text: string;
}

export interface UndoServiceOptions {
  store: UndoStore;
  supervisor: () => Supervisor | undefined;
  gateway: () => { url(server: string): string; token: string };
  redactor: Redactor;
  auditDir: string;
  /** How long a submitted undo may wait for its approval and run. */
  callTimeoutMs: number;
  /** One approval for a whole plan (an undo session), through the approvals UI. */
  requestApproval?: (input: { action: string; args: Record<string, string>; previewText: string; reason: string }) => Promise<{ approved: boolean; reason: string; approvalId: string }>;
  log?: (message: string) => void;
}

interface Ticket {
  callId: string;
  server: string;
  tool: string;
  argsKey: string;
  /** Set for a step of an approved undo session: the plan's approval stands for this call. */
  planApproval?: string;
  state?: Record<string, unknown>;
  expires: number;
}

export class UndoService {
  /** Single-use tickets of undo calls submitted by this service (nonce → what it may run). */
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly options: UndoServiceOptions) {}

  get store(): UndoStore {
    return this.options.store;
  }

  /**
   * Keeps the undo handle a built-in server returned for `call` (encrypted), and says what the
   * audit records of it. An invalid or oversized handle makes the call "not undoable", with why.
   */
  async capture(call: GatewayCall, raw: unknown): Promise<UndoCapture> {
    const parsed = undoHandleSchema.safeParse(raw);
    if (!parsed.success) return { detail: { undoable: false, reason: 'the server returned an invalid undo handle' } };
    const handle = parsed.data;
    if (!handle.undoable) return { detail: { undoable: false, reason: handle.reason }, note: `Not undoable: ${handle.reason}.` };
    let after = handle.after;
    if (after === undefined) {
      try {
        after = await this.check(call.server, handle.check);
      } catch (err) {
        return { detail: { undoable: false, reason: `the state after the call could not be read (${errorMessage(err)})` }, note: 'Not undoable: the state after the call could not be read.' };
      }
    }
    try {
      const saved = await this.options.store.save({ callId: call.id, server: call.server, tool: call.name, sessionId: call.sessionId, handle: { ...handle, after } });
      if (!saved.saved) return { detail: { undoable: false, reason: saved.reason }, note: `${saved.reason[0]!.toUpperCase()}${saved.reason.slice(1)}.` };
      return { detail: { undoable: true, id: saved.id, digest: saved.digest, summary: handle.summary, ...(handle.irreversible?.length ? { irreversible: handle.irreversible } : {}) } };
    } catch (err) {
      this.options.log?.(`undo: the handle of ${call.server}/${call.name} (${call.id}) could not be stored: ${errorMessage(err)}`);
      return { detail: { undoable: false, reason: `the undo handle could not be stored (${errorMessage(err)})` }, note: 'Not undoable: the undo handle could not be stored.' };
    }
  }

  /** The preview of undoing `callId`: the inverse, the drift check, what can't come back. */
  async preview(callId: string): Promise<UndoPreview> {
    const stored = await this.loadVerified(callId);
    return this.previewOf(stored);
  }

  private async previewOf(stored: StoredUndo): Promise<UndoPreview> {
    const { handle } = stored;
    const before = stateOf(handle.before);
    const after = stateOf(handle.after);
    let now: StateView;
    try {
      now = await this.check(stored.server, handle.check);
    } catch (err) {
      now = { kind: 'absent', text: `could not be read: ${errorMessage(err)}` };
    }
    const changed = drifted(after, now);
    const lines = changed ? threeWay(before, after, now).map((l) => this.options.redactor.redactString(l)) : [];
    const irreversible = handle.irreversible ?? [];
    const digest = sha256Hex(canonicalJson({ callId: stored.callId, inverse: handle.inverse, now: stateKey(now) } as never));
    const text = [
      `Undo of call ${stored.callId}: ${stored.tool} on ${stored.server}, ${new Date(stored.createdAt).toISOString()} (${handle.summary})`,
      `Inverse: ${handle.inverse.tool} ${displayArgs(handle.inverse.args, this.options.redactor)}`,
      changed
        ? `Drift: CHANGED SINCE THE CALL (checked with ${handle.check.tool}). Three-way difference, before the call | after the call | now:\n${lines.join('\n')}`
        : `Drift: none; ${handle.check.tool} shows the state as the call left it.`,
      ...(irreversible.length > 0 ? [`Cannot be undone: ${irreversible.join('; ')}`] : []),
      `Plan digest: ${digest}`,
    ].join('\n');
    return { callId: stored.callId, server: stored.server, tool: stored.tool, summary: handle.summary, inverse: handle.inverse, drift: { changed, before, after, now, lines }, irreversible, digest, text };
  }

  /**
   * Submits the inverse of `callId` through the gateway (policy, approval and audit apply; the
   * audit links it with `undoOf`). With `digest`, refuses when the plan is no longer the one
   * previewed (the state moved in between). Resolves when the call ended (approved and ran, or not).
   */
  async run(callId: string, options: { digest?: string; planApproval?: string } = {}): Promise<UndoRunResult> {
    const stored = await this.loadVerified(callId);
    if (options.digest !== undefined) {
      const current = await this.previewOf(stored);
      if (current.digest !== options.digest) {
        throw new ControlPlaneError('UNDO_PLAN_CHANGED', `the undo of ${callId} is no longer the one previewed (the state changed since); preview it again`);
      }
    }
    return this.submit(stored, options.planApproval);
  }

  /**
   * Submits the undo previewed with `digest` and answers at once (a UI request must not wait for
   * a human): the undo then waits for its approval like any destructive call; its outcome is in
   * the audit (linked with undoOf). Throws when the plan changed since the preview.
   */
  async start(callId: string, digest: string): Promise<{ status: 'submitted'; text: string }> {
    const stored = await this.loadVerified(callId);
    const current = await this.previewOf(stored);
    if (current.digest !== digest) throw new ControlPlaneError('UNDO_PLAN_CHANGED', `the undo of ${callId} is no longer the one previewed (the state changed since); preview it again`);
    void this.submit(stored).then(
      (r) => this.options.log?.(`undo of ${callId}: ${r.ok ? 'done' : 'not done'}: ${this.options.redactor.redactString(r.text).slice(0, 300)}`),
      (err: unknown) => this.options.log?.(`undo of ${callId} failed: ${errorMessage(err)}`),
    );
    return { status: 'submitted', text: `The undo of ${callId} (${stored.handle.inverse.tool} on ${stored.server}) was submitted: it waits for an approval in Approvals; its outcome is in the audit.` };
  }

  /** Every undoable call of one client session, newest first, as one plan. */
  async previewSession(sessionId: string): Promise<UndoSessionPlan> {
    const handles = await this.options.store.ofSession(sessionId);
    if (handles.length === 0) throw new ControlPlaneError('UNDO_NOT_FOUND', `session ${sessionId} has no undoable calls`);
    const steps: UndoPreview[] = [];
    for (const h of handles) steps.push(await this.previewOf(h));
    const digest = sha256Hex(canonicalJson({ sessionId, steps: steps.map((s) => s.digest) } as never));
    const text = [`Undo session ${sessionId}: ${steps.length} call(s), newest first, stopping at the first failure.`, ...steps.map((s, i) => `\n${i + 1}. ${s.text}`), `\nSession plan digest: ${digest}`].join('\n');
    return { sessionId, steps, digest, text };
  }

  /**
   * Runs a session plan under ONE approval bound to the plan's digest (asked through the approvals
   * UI), newest call first, stopping at the first failure. Each step still goes through policy and
   * the audit (linked with undoOf); the plan's approval stands for the steps' own.
   */
  async runSession(sessionId: string, digest: string): Promise<UndoSessionResult> {
    const plan = await this.previewSession(sessionId);
    if (plan.digest !== digest) throw new ControlPlaneError('UNDO_PLAN_CHANGED', `the undo plan of session ${sessionId} is no longer the one previewed; preview it again`);
    if (this.options.requestApproval === undefined) throw new ControlPlaneError('UNDO_NO_APPROVALS', 'no approvals UI to approve an undo session');
    const decision = await this.options.requestApproval({ action: 'undo_session', args: { sessionId, planDigest: plan.digest }, previewText: plan.text, reason: `undo ${plan.steps.length} call(s) of session ${sessionId}, newest first` });
    if (!decision.approved) {
      return { sessionId, approvalId: decision.approvalId, approved: false, undone: [], skipped: plan.steps.map((s) => s.callId), text: `Not approved (${decision.reason}): nothing was undone.` };
    }
    const undone: UndoRunResult[] = [];
    for (const [i, step] of plan.steps.entries()) {
      const result = await this.submit(await this.loadVerified(step.callId), decision.approvalId).catch((err: unknown) => ({ callId: step.callId, ok: false, text: errorMessage(err) }));
      if (!result.ok) {
        const skipped = plan.steps.slice(i + 1).map((s) => s.callId);
        const text = [`Undo session ${sessionId} stopped at call ${step.callId} (${step.tool}): ${result.text}`, `Undone (${undone.length}): ${undone.map((u) => u.callId).join(', ') || 'none'}`, `Not attempted (${skipped.length}): ${skipped.join(', ') || 'none'}`].join('\n');
        return { sessionId, approvalId: decision.approvalId, approved: true, undone, failed: result, skipped, text };
      }
      undone.push(result);
    }
    return { sessionId, approvalId: decision.approvalId, approved: true, undone, skipped: [], text: `Undo session ${sessionId}: all ${undone.length} call(s) undone (${undone.map((u) => u.callId).join(', ')}).` };
  }

  /**
   * For the gateway: the original call a tools/call undoes, when its `_meta["mcpcp/undoOf"]`
   * carries a ticket this service issued for exactly this server, tool and arguments (single use).
   * Anything else (an agent's own undoOf) links nothing.
   */
  link(meta: unknown, server: string, tool: string, args: Record<string, unknown>): { undoOf: string; planApproval?: string; state?: Record<string, unknown> } | undefined {
    if (meta === null || typeof meta !== 'object') return undefined;
    const nonce = (meta as { nonce?: unknown }).nonce;
    if (typeof nonce !== 'string') return undefined;
    let found: [string, Ticket] | undefined;
    for (const entry of this.tickets) {
      const a = Buffer.from(entry[0]);
      const b = Buffer.from(nonce);
      if (a.length === b.length && timingSafeEqual(a, b)) found = entry;
    }
    if (found === undefined) return undefined;
    const [key, t] = found;
    this.tickets.delete(key);
    if (t.expires < Date.now() || t.server !== server || t.tool !== tool || t.argsKey !== canonicalJson(args as never)) return undefined;
    return { undoOf: t.callId, ...(t.planApproval ? { planApproval: t.planApproval } : {}), ...(t.state ? { state: t.state } : {}) };
  }

  /** Removes expired handles (at start and once a day). */
  sweep(): Promise<number> {
    return this.options.store.sweep();
  }

  private async submit(stored: StoredUndo, planApproval?: string): Promise<UndoRunResult> {
    const { inverse } = stored.handle;
    const gateway = this.options.gateway();
    const nonce = randomBytes(24).toString('base64url');
    const state = stored.handle.state;
    this.tickets.set(nonce, { callId: stored.callId, server: stored.server, tool: inverse.tool, argsKey: canonicalJson(inverse.args as never), ...(planApproval ? { planApproval } : {}), ...(state ? { state } : {}), expires: Date.now() + this.options.callTimeoutMs });
    const client = new Client({ name: 'mcpcp-undo', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url(stored.server)), { requestInit: { headers: { Authorization: `Bearer ${gateway.token}` } } });
    try {
      await client.connect(transport);
      const result = (await client.request(
        { method: 'tools/call', params: { name: inverse.tool, arguments: inverse.args, _meta: { [UNDO_OF_META_KEY]: { callId: stored.callId, nonce } } } },
        CallToolResultSchema,
        { timeout: this.options.callTimeoutMs },
      )) as CallToolResult;
      const text = result.content.filter((c): c is { type: 'text'; text: string } => c.type === 'text').map((c) => c.text).join('\n');
      return { callId: stored.callId, ok: result.isError !== true, text };
    } finally {
      this.tickets.delete(nonce);
      await client.close().catch(() => undefined);
    }
  }

  /** The handle of `callId`, checked against the digest its audit record holds. */
  private async loadVerified(callId: string): Promise<StoredUndo> {
    const page = await queryAudit(this.options.auditDir, { callId, type: ['call.completed'] }, { limit: 5 }).catch(() => ({ records: [] }));
    const detail = page.records.map((r) => (r.detail as { undo?: UndoAuditDetail } | undefined)?.undo).find((u) => u !== undefined);
    if (detail === undefined) throw new ControlPlaneError('UNDO_NOT_FOUND', `the audit log has no completed call ${callId} with an undo handle; list calls with \`mcpcp audit query\``);
    if (!detail.undoable) throw new ControlPlaneError('UNDO_NOT_UNDOABLE', `call ${callId} is not undoable: ${detail.reason}`);
    return this.options.store.load(callId, detail.digest);
  }

  /** Runs a read call on the server directly (not through the pipeline: it changes nothing, and is the control plane's own). */
  private async check(server: string, call: UndoToolCall): Promise<StateView> {
    const managed = this.options.supervisor()?.get(server);
    if (!managed) throw new ControlPlaneError('UNKNOWN_SERVER', `server "${server}" is not configured`);
    const tool = managed.lastConnection?.tools.find((t) => t.name === call.tool);
    if (tool !== undefined && tool.annotations?.readOnlyHint !== true) throw new ControlPlaneError('UNDO_CHECK_NOT_READ_ONLY', `the check tool ${call.tool} is not read-only`);
    const conn = await managed.waitUntilServing(10_000);
    const result = (await conn.client.request({ method: 'tools/call', params: { name: call.tool, arguments: call.args } }, CallToolResultSchema, { timeout: 30_000 })) as CallToolResult;
    return stateOfResult(result);
  }
}

function stateKey(s: StateView): string {
  return s.kind === 'json' ? canonicalJson(s.value as never) : s.text;
}

/** The inverse's arguments for a person, compact: long values shortened, Secret data masked. */
function displayArgs(args: Record<string, unknown>, redactor: Redactor): string {
  const shown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (typeof v === 'string' && (v.trim().startsWith('{') || v.includes('\n'))) {
      shown[k] = summariseDocument(v);
    } else shown[k] = v;
  }
  const text = redactor.redactString(JSON.stringify(shown));
  return text.length > 600 ? `${text.slice(0, 597)}...` : text;
}

function summariseDocument(text: string): string {
  try {
    const obj = JSON.parse(text) as { kind?: string; metadata?: { name?: string; namespace?: string } };
    if (obj && typeof obj === 'object' && typeof obj.kind === 'string') return `<${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? ''} as before the call>`;
    // A short patch (the way back of a resource_patch) is what the approver needs to see.
    if (obj && typeof obj === 'object' && !text.includes('\n') && text.length <= 400) return text;
  } catch {
    // not JSON
  }
  const lines = text.split('\n').length;
  return `<${lines} line(s), ${Buffer.byteLength(text)} bytes, as before the call>`;
}
