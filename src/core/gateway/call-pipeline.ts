import { randomUUID } from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type Request,
  type Result,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError, errorMessage } from '../errors';
import type { CallOutcome } from '../metrics/metrics';
import type { CallTrace } from '../telemetry';
import { toolOffered } from '../supervisor/managed-server';
import type { Extra, GatewayContext } from './context';
import { protocolError, stripMcpPrefix } from './protocol-error';
import type { DrainTicket, StopPhase } from './drain';
import { EXPECTED_EFFECT_META, effectQuery, resolveEffect } from './effects';
import { LOCAL_PRINCIPAL, PRINCIPAL_META, principalMeta } from '../team/principal';
import type { ApprovalOutcome, ClientIdentity, GatewayCall, PolicyVerdict } from './pipeline';
import { AnyResultSchema, CALL_ID_META, type ServerRequestRouter } from './server-requests';
import type { ClientSession } from './sessions';
import type { Subscriptions } from './subscriptions';
import { ToolCallValidator } from './tool-validation';
import { UNDO_META_KEY, UNDO_OF_META_KEY, UNDO_STATE_META_KEY } from '../undo/handle';
import type { UndoAuditDetail } from '../undo/service';

/** The `_meta` key by which a tool declares a preview (`dryRun`). */
export const PREVIEW_META = 'mcpcp/preview';

/** Default policy rules that ask a human because a call may reveal a secret; they hold for dry runs too. */
const ESCALATING_DEFAULTS: ReadonlySet<string> = new Set(['force-or-reveal', 'secret-resource']);

/** How long effect resolution may take before the call goes to a human instead. */
const EFFECT_TIMEOUT_MS = 5_000;

/**
 * Client → server: the pipeline each request of a session runs, policy → approval → forward,
 * with audit and metrics. Lists, completions and subscriptions pass through; tool calls,
 * resource reads and prompts are guarded.
 */
export class CallPipeline {
  private readonly validator: ToolCallValidator;
  /** The trace of each guarded call in flight (OpenTelemetry on). */
  private readonly traces = new WeakMap<GatewayCall, CallTrace>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly router: ServerRequestRouter,
    private readonly subscriptions: Subscriptions,
  ) {
    this.validator = new ToolCallValidator((message) => ctx.log(message));
  }

  /** Installs the request handlers of a new session for the capabilities its server has. */
  registerHandlers(session: ClientSession, caps: ServerCapabilities): void {
    const { mcp } = session;
    const forward = (request: Request, extra: Extra): Promise<Result> => this.handle(session, request, extra);
    if (caps.tools) {
      mcp.setRequestHandler(ListToolsRequestSchema, forward as never);
      mcp.setRequestHandler(CallToolRequestSchema, forward as never);
    }
    if (caps.resources) {
      mcp.setRequestHandler(ListResourcesRequestSchema, forward as never);
      mcp.setRequestHandler(ListResourceTemplatesRequestSchema, forward as never);
      mcp.setRequestHandler(ReadResourceRequestSchema, forward as never);
      if (caps.resources.subscribe) {
        mcp.setRequestHandler(SubscribeRequestSchema, (req) => this.subscriptions.subscribe(session, req.params.uri));
        mcp.setRequestHandler(UnsubscribeRequestSchema, (req) => this.subscriptions.unsubscribe(session, req.params.uri));
      }
    }
    if (caps.prompts) {
      mcp.setRequestHandler(ListPromptsRequestSchema, forward as never);
      mcp.setRequestHandler(GetPromptRequestSchema, forward as never);
    }
    if (caps.completions) mcp.setRequestHandler(CompleteRequestSchema, forward as never);
  }

  /**
   * The pipeline for one client request: policy → approval → forward, with audit and metrics.
   * During a stop (see `Drain`) it answers with a JSON-RPC error naming the stop instead.
   */
  async handle(session: ClientSession, request: Request, extra: Extra): Promise<Result> {
    const arrivedStopping = this.ctx.drain.stopping;
    const ticket = this.ctx.drain.enter(extra.signal);
    try {
      return await this.run(session, request, extra, ticket, arrivedStopping);
    } finally {
      ticket.leave();
    }
  }

  private async run(session: ClientSession, request: Request, extra: Extra, ticket: DrainTicket, arrivedStopping: boolean): Promise<Result> {
    const managed = this.ctx.supervisor()?.get(session.server);
    const params = (request.params ?? {}) as Record<string, unknown> & { _meta?: Record<string, unknown> };
    const name = callName(request.method, params);
    const tool = request.method === 'tools/call' ? managed?.lastConnection?.tools.find((t) => t.name === name) : undefined;
    const args = request.method === 'tools/call' || request.method === 'prompts/get' ? ((params['arguments'] ?? {}) as Record<string, unknown>) : request.method === 'resources/read' ? { uri: params['uri'] } : {};
    const builtin = managed?.spec.builtin ?? false;
    const hasPreview = tool?._meta?.[PREVIEW_META] === true;
    // The caller is gone when its request is cancelled, its session closes (both abort
    // extra.signal) or the HTTP stream that carries the answer closes (callerGone).
    const gone = new AbortController();
    session.callerGone.set(extra.requestId, () => gone.abort());
    try {
      // A built-in tool that declares its effect says what the call will change, before policy.
      const query = effectQuery(managed, request.method, name, args, tool?._meta);
      const effect = query !== undefined && managed ? await resolveEffect(managed, query, AbortSignal.any([ticket.wait, gone.signal]), EFFECT_TIMEOUT_MS) : {};
      // An undo the control plane submitted carries its ticket; anyone else's undoOf links nothing.
      const undoMeta = request.method === 'tools/call' ? params._meta?.[UNDO_OF_META_KEY] : undefined;
      const link = undoMeta !== undefined ? this.ctx.stages().undoLink?.(undoMeta, session.server, name, args) : undefined;
      return await this.runCall(session, request, extra, ticket, arrivedStopping, {
        ...effect,
        ...(link ? { undoOf: link.undoOf, ...(link.planApproval ? { undoPlanApproval: link.planApproval } : {}), ...(link.state && builtin ? { undoState: link.state } : {}) } : {}),
        id: randomUUID(),
        server: session.server,
        builtin,
        method: request.method,
        name,
        args,
        annotations: tool?.annotations,
        hasPreview,
        dryRun: request.method === 'tools/call' && builtin && hasPreview && args['dryRun'] === true,
        client: clientIdentity(session.mcp),
        ...(session.principal ? { principal: session.principal } : {}),
        sessionId: session.id,
        // Ends on the client's cancellation, when the caller is gone, and at once on a stop
        // (approval waits end with it).
        signal: AbortSignal.any([ticket.wait, gone.signal]),
        progressToken: params._meta?.progressToken as GatewayCall['progressToken'],
        startedAt: Date.now(),
      });
    } finally {
      session.callerGone.delete(extra.requestId);
    }
  }

  private async runCall(session: ClientSession, request: Request, extra: Extra, ticket: DrainTicket, arrivedStopping: boolean, call: GatewayCall): Promise<Result> {
    const managed = this.ctx.supervisor()?.get(session.server);
    const params = (request.params ?? {}) as Record<string, unknown>;
    const { name, args } = call;
    const guarded = request.method === 'tools/call' || request.method === 'resources/read' || request.method === 'prompts/get';
    if (arrivedStopping) return await this.stopped(call, 'new', guarded);
    if (request.method === 'tools/list') {
      // The server's tool filter applies to what clients see, page by page.
      const { result } = await this.forward(session, call, request, extra, ticket, false);
      const filter = managed?.spec.toolFilter;
      if (!filter) return result;
      const tools = (result as { tools?: Array<{ name: string }> }).tools ?? [];
      return { ...result, tools: tools.filter((t) => toolOffered(filter, t.name)) };
    }
    // Lists, completions and subscriptions pass through; only calls count in the metrics.
    if (!guarded) return this.forward(session, call, request, extra, ticket, false).then((r) => r.result);
    const trace = this.ctx.options.telemetry?.()?.startCall({ id: call.id, server: call.server, name, method: request.method, sessionId: session.id, startedAt: call.startedAt, meta: params['_meta'] as Record<string, unknown> | undefined });
    if (trace) this.traces.set(call, trace);
    if (request.method === 'tools/call' && !toolOffered(managed?.spec.toolFilter, name)) {
      return this.refuse(call, 'denied', `Tool "${name}" is turned off on server "${session.server}" by the control plane's tool filter; use another tool.`);
    }
    // Only valid calls reach policy and a human: unknown tools and arguments the tool's schema
    // rejects are refused here with -32602 (nothing is audited or queued for them).
    if (request.method === 'tools/call') {
      // Before the server's first handshake its tools are unknown: wait for them (forward reports
      // a server that never comes).
      if (managed && !managed.lastConnection) await managed.waitUntilServing(this.ctx.options.waitForServerMs ?? 10_000, extra.signal).catch(() => undefined);
      this.validator.check(session.server, managed?.lastConnection?.tools, name, params['arguments']);
    }

    // Handled at once: while policy runs, a failing audit log may already have refused the record,
    // and an unhandled rejection would end the process (the call is refused below, with why).
    const requested = Promise.resolve(this.ctx.stages().audit({ type: 'call.requested', call }));
    requested.catch(() => undefined);
    let verdict: PolicyVerdict;
    try {
      verdict = await this.ctx.stages().policy(call);
    } catch (err) {
      // A broken policy never means "allow".
      verdict = { decision: 'deny', reason: `policy could not be evaluated: ${errorMessage(err)}` };
    }
    // An undo puts state back on a human's word: policy may deny it, never let it run unasked
    // (cordon's undo is an uncordon, which policy alone would allow).
    if (call.undoOf !== undefined && verdict.decision === 'allow') {
      verdict = { ...verdict, decision: 'approve', reason: `an undo is approved by a human (policy alone: allow, ${verdict.reason})` };
    }
    trace?.decided(verdict.decision);
    const decided = this.ctx.stages().audit({ type: 'policy.decided', call, verdict });
    try {
      await Promise.all([requested, decided]);
    } catch (err) {
      return this.refuse(call, 'denied', `Refused: the audit log cannot be written (${errorMessage(err)}); no call runs unrecorded`);
    }
    if (verdict.decision === 'deny') return this.refuse(call, 'denied', `Denied by policy: ${verdict.reason}`);
    // A dry run of a built-in preview changes nothing: it needs no approval, unless policy asks
    // one because it reveals secrets (`reveal`/`force`, secret resources) — then it has its own,
    // whose digest includes `dryRun` so it never stands in for the real call's.
    const needsApproval = verdict.decision === 'approve' && (!call.dryRun || ESCALATING_DEFAULTS.has(verdict.rule?.id ?? ''));
    if (needsApproval) {
      const runPreview = async (): Promise<CallToolResult | undefined> => {
        if (!call.builtin || !call.hasPreview) return undefined;
        const previewRequest = { method: 'tools/call', params: { ...params, arguments: { ...args, dryRun: true } } } as Request;
        const { result } = await this.forward(session, { ...call, id: randomUUID() }, previewRequest, extra, ticket, false);
        return result as CallToolResult;
      };
      const progress = (message: string): void => {
        if (call.progressToken === undefined) return;
        void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: call.progressToken, progress: 0, message } }).catch(() => undefined);
      };
      let outcome: ApprovalOutcome;
      const waitStarted = Date.now();
      const waited = trace?.approvalWait();
      try {
        outcome = await this.ctx.stages().approve(call, verdict, runPreview, progress);
      } catch (err) {
        outcome = { approved: false, reason: errorMessage(err) };
      }
      waited?.(outcome.approved ? 'approved' : 'rejected');
      // The human's time is measured on its own, and kept out of the tool's latency.
      call.approvalWaitMs = Date.now() - waitStarted;
      this.ctx.metrics.recordApprovalWait(call.server, call.name, call.approvalWaitMs, outcome.approved ? 'approved' : (outcome.outcome ?? 'rejected'));
      if (!outcome.approved) {
        if (ticket.stoppedBy()) return await this.stopped(call, 'waiting', true);
        return this.refuse(call, outcome.outcome ?? 'rejected', `Not approved: ${outcome.reason}`);
      }
    }
    const forwarded = await this.forward(session, call, request, extra, ticket, true, call.dryRun ? 'dry-run' : undefined);
    const { failed } = forwarded;
    let result = forwarded.result;
    if (!failed) {
      // The tool's time, as in the metrics: the approval wait is in the approval records.
      const durationMs = toolMs(call);
      const isError = (result as CallToolResult).isError === true;
      const captured = forwarded.undo !== undefined ? await this.captureUndo(call, forwarded.undo, isError) : undefined;
      if (captured?.note !== undefined) {
        const r = result as CallToolResult;
        result = { ...r, content: [...r.content, { type: 'text', text: captured.note }] };
      }
      const undo = captured?.detail;
      // Recorded before the result leaves (the audit log group-commits concurrent records). If it
      // can't be written the tool has run all the same: the result goes back, flagged, rather than
      // make the agent run the action again.
      try {
        await this.ctx.stages().audit({ type: 'call.completed', call, durationMs, resultBytes: JSON.stringify(result).length, isError, ...(undo !== undefined ? { undo } : {}) });
      } catch (err) {
        this.ctx.log(`audit: the completion of ${call.server}/${call.name} could not be recorded: ${errorMessage(err)}`);
        const meta = (result as { _meta?: Record<string, unknown> })._meta ?? {};
        return { ...result, _meta: { ...meta, [AUDIT_META]: { recorded: false, error: errorMessage(err) } } };
      }
    }
    return result;
  }

  /**
   * What becomes of an undo handle a result carried (already stripped from it): kept for a
   * successful real call of a built-in server; dropped (and logged) for a third-party server, which
   * must not plant one, and for failed calls and dry runs.
   */
  private async captureUndo(call: GatewayCall, handle: unknown, isError: boolean): Promise<{ detail?: UndoAuditDetail; note?: string } | undefined> {
    if (!call.builtin) {
      this.ctx.log(`undo: dropped an undo handle from server "${call.server}" (${call.name}): only built-in servers' handles are kept`);
      return undefined;
    }
    if (isError || call.dryRun) return undefined;
    const capture = this.ctx.stages().captureUndo;
    if (capture === undefined) return undefined;
    try {
      return await capture.call(this.ctx.stages(), call, handle);
    } catch (err) {
      this.ctx.log(`undo: the handle of ${call.server}/${call.name} could not be kept: ${errorMessage(err)}`);
      return { detail: { undoable: false, reason: `the undo handle could not be kept (${errorMessage(err)})` }, note: 'Not undoable: the undo handle could not be kept.' };
    }
  }

  /** Answers a call the stop reached before it completed: a JSON-RPC error naming the stop, audited as `stopped`. */
  private async stopped(call: GatewayCall, phase: StopPhase, record: boolean): Promise<never> {
    const message = this.ctx.drain.error(phase, call.server).message;
    if (record) await this.recordFailure(call, 'stopped', message);
    throw protocolError(ErrorCode.InternalError, message);
  }

  /** Metrics and the `call.failed` record, written before the answer leaves. */
  private async recordFailure(call: GatewayCall, outcome: CallOutcome, message: string, measured = false): Promise<void> {
    const durationMs = Date.now() - call.startedAt;
    // Tool latency only for calls that reached the server; refusals are counted without one.
    this.ctx.metrics.record(call.server, call.name, measured ? toolMs(call) : undefined, outcome);
    this.traces.get(call)?.end(outcome, message);
    try {
      await this.ctx.stages().audit({ type: 'call.failed', call, durationMs, outcome, error: message });
    } catch {
      // The audit stage reports its own failure (once, not per refused call) and refuses calls.
    }
  }

  private async refuse(call: GatewayCall, outcome: CallOutcome, message: string): Promise<Result> {
    await this.recordFailure(call, outcome, message);
    if (call.method === 'tools/call') return { content: [{ type: 'text', text: message }], isError: true };
    throw protocolError(ErrorCode.InvalidRequest, message);
  }

  /**
   * Sends a request to the server's current child. Crashes, restarts and timeouts end the call
   * with a clear message (a tool result for tools/call, a JSON-RPC error otherwise), never a hang.
   */
  private async forward(session: ClientSession, call: GatewayCall, request: Request, extra: Extra, ticket: DrainTicket, record = true, okOutcome?: CallOutcome): Promise<{ result: Result; failed: boolean; undo?: unknown }> {
    const managed = this.ctx.supervisor()?.get(session.server);
    let release = (): void => undefined;
    let forwarded = false;
    try {
      release = await this.router.acquireRoute(session, call, { signal: ticket.wait, progress: (message) => notifyWaiting(call, extra, message) });
      if (!managed) throw new ControlPlaneError('UNKNOWN_SERVER', `server "${session.server}" was removed`);
      const conn = await managed.waitUntilServing(this.ctx.options.waitForServerMs ?? 10_000, ticket.wait);
      // Only calls forwarded before a stop began run; a later one has not started and does not.
      if (ticket.wait.aborted) throw ticket.wait.reason;
      const params = { ...(request.params ?? {}) } as Record<string, unknown>;
      // The call's trace context (when traced) replaces a client's traceparent: the server's span is the forward span's child.
      const meta: Record<string, unknown> = { ...((params['_meta'] as Record<string, unknown> | undefined) ?? {}), ...this.traces.get(call)?.forwardMeta(), [CALL_ID_META]: call.id };
      delete meta['progressToken'];
      // The server runs the call only if its effect is still the one policy (and a human) saw.
      delete meta[EXPECTED_EFFECT_META];
      delete meta[UNDO_OF_META_KEY];
      // Prior state only from the control plane's own undo ticket, only to a built-in server.
      delete meta[UNDO_STATE_META_KEY];
      if (call.undoState !== undefined && call.builtin && request.method === 'tools/call') meta[UNDO_STATE_META_KEY] = call.undoState;
      if (call.effect !== undefined && request.method === 'tools/call') meta[EXPECTED_EFFECT_META] = call.effect;
      // Who the call acts for comes from the gateway alone: a client's own value is dropped, and
      // only built-in servers learn the principal (the Kubernetes server impersonates it).
      delete meta[PRINCIPAL_META];
      if (call.builtin) meta[PRINCIPAL_META] = principalMeta(call.principal ?? LOCAL_PRINCIPAL);
      params['_meta'] = meta;
      this.router.track(call.id, session, extra.requestId);
      // Progress goes out in order, and before the result it preceded.
      let progressSent: Promise<void> = Promise.resolve();
      try {
        forwarded = true;
        const raw = await conn.client.request({ method: request.method, params } as Request, AnyResultSchema, {
          signal: ticket.run,
          timeout: managed.spec.callTimeoutMs ?? this.ctx.options.config.callTimeoutMs,
          ...(call.progressToken !== undefined
            ? {
                resetTimeoutOnProgress: true,
                onprogress: (p) => {
                  const notification = { method: 'notifications/progress', params: { ...this.ctx.echo.outbound(session.server, p), progressToken: call.progressToken! } };
                  progressSent = progressSent.then(() => extra.sendNotification(notification)).catch(() => undefined);
                },
              }
            : {}),
        });
        await progressSent;
        // An undo handle (prior state, which can hold secrets) never reaches the client, whoever sent it.
        const { raw: answer, undo } = request.method === 'tools/call' ? withoutUndoHandle(raw) : { raw, undo: undefined };
        // Nothing the server was given as a secret goes back: results, lists, contents, completions.
        const tool = request.method === 'tools/call' ? managed.lastConnection?.tools.find((t) => t.name === call.name) : undefined;
        const result = request.method === 'tools/call' ? this.ctx.echo.toolResult(session.server, tool, answer as CallToolResult) : this.ctx.echo.outbound(session.server, answer);
        if (record) this.ctx.metrics.record(call.server, call.name, toolMs(call), (result as CallToolResult).isError ? 'tool-error' : (okOutcome ?? 'ok'));
        if (record) this.traces.get(call)?.end((result as CallToolResult).isError ? 'tool-error' : (okOutcome ?? 'ok'));
        return { result: result as Result, failed: false, ...(undo !== undefined ? { undo } : {}) };
      } finally {
        this.router.untrack(call.id, session);
      }
    } catch (err) {
      if (ticket.stoppedBy()) return await this.stopped(call, forwarded ? 'running' : 'waiting', record);
      const cancelled = extra.signal.aborted;
      const message = cancelled ? 'request cancelled by the client' : this.ctx.echo.text(session.server, this.describeForwardError(session.server, err));
      if (record) await this.recordFailure(call, cancelled ? 'cancelled' : 'failed', message, true);
      // An error the server itself returned passes through unchanged.
      if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed && err.code !== ErrorCode.RequestTimeout) {
        throw protocolError(err.code, this.ctx.echo.text(session.server, stripMcpPrefix(err.message)), this.ctx.echo.outbound(session.server, err.data));
      }
      if (request.method === 'tools/call' && !cancelled) return { result: { content: [{ type: 'text', text: message }], isError: true }, failed: true };
      throw protocolError(ErrorCode.InternalError, message);
    } finally {
      release();
    }
  }

  private describeForwardError(server: string, err: unknown): string {
    const managed = this.ctx.supervisor()?.get(server);
    if (err instanceof McpError && err.code === ErrorCode.ConnectionClosed) {
      const exit = managed?.status.lastExit;
      const how = managed?.spec.resolveRemote ? ' (the connection to the upstream was lost)' : exit ? (exit.signal ? ` (${exit.signal})` : ` (exit code ${exit.code})`) : '';
      return `Server "${server}" stopped while handling this call${how}. The control plane restarts it; call again once it is running. Nothing was retried automatically.`;
    }
    if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) {
      return `Server "${server}" did not answer within ${managed?.spec.callTimeoutMs ?? this.ctx.options.config.callTimeoutMs} ms; the call was cancelled.`;
    }
    if (err instanceof ControlPlaneError) return err.message;
    return `Server "${server}" could not handle the call: ${stripMcpPrefix(errorMessage(err))}`;
  }
}

/** Splits a tools/call result into the result without `_meta["mcpcp/undo"]` and that handle. */
function withoutUndoHandle(raw: Result): { raw: Result; undo: unknown } {
  const meta = (raw as { _meta?: Record<string, unknown> })._meta;
  if (meta === undefined || meta === null || typeof meta !== 'object' || !(UNDO_META_KEY in meta)) return { raw, undo: undefined };
  const { [UNDO_META_KEY]: undo, ...rest } = meta;
  const { _meta: _dropped, ...body } = raw as Record<string, unknown>;
  return { raw: (Object.keys(rest).length > 0 ? { ...body, _meta: rest } : body) as Result, undo: undo ?? null };
}

/** `_meta` key on a result whose completion record could not be written. */
export const AUDIT_META = 'mcpcp/audit';

/**
 * Tells a caller why its call waits (progress when it sent a token, a log message when the
 * session's server can log). Best effort: a client that can't take either still gets its answer.
 */
function notifyWaiting(call: GatewayCall, extra: Extra, message: string): void {
  if (call.progressToken !== undefined) {
    void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: call.progressToken, progress: 0, message } }).catch(() => undefined);
  }
  // On the call's own stream; rejected (and ignored) when the server has no logging capability.
  void extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'mcp-control-plane', data: message } }).catch(() => undefined);
}

/** The call's time in the gateway and the server, without a human's approval wait. */
function toolMs(call: GatewayCall): number {
  return Date.now() - call.startedAt - (call.approvalWaitMs ?? 0);
}

function callName(method: string, params: Record<string, unknown>): string {
  if (method === 'tools/call' || method === 'prompts/get') return String(params['name'] ?? '');
  if (method === 'resources/read') return String(params['uri'] ?? '');
  return method;
}

function clientIdentity(mcp: Server): ClientIdentity | undefined {
  const info = mcp.getClientVersion();
  return info ? { name: info.name, version: info.version } : undefined;
}

