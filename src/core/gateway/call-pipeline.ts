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
import type { ClientIdentity, GatewayCall, PolicyVerdict } from './pipeline';
import { AnyResultSchema, CALL_ID_META, type ServerRequestRouter } from './server-requests';
import type { ClientSession } from './sessions';
import type { Subscriptions } from './subscriptions';

/** The `_meta` key by which a tool declares a preview (`dryRun`). */
export const PREVIEW_META = 'mcpcp/preview';

/**
 * Client → server: the pipeline each request of a session runs, policy → approval → forward,
 * with audit and metrics. Lists, completions and subscriptions pass through; tool calls,
 * resource reads and prompts are guarded.
 */
export class CallPipeline {
  /** The trace of each guarded call in flight (OpenTelemetry on). */
  private readonly traces = new WeakMap<GatewayCall, CallTrace>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly router: ServerRequestRouter,
    private readonly subscriptions: Subscriptions,
  ) {}

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

  /** The pipeline for one client request: policy → approval → forward, with audit and metrics. */
  async handle(session: ClientSession, request: Request, extra: Extra): Promise<Result> {
    const managed = this.ctx.supervisor()?.get(session.server);
    const params = (request.params ?? {}) as Record<string, unknown> & { _meta?: Record<string, unknown> };
    const name = callName(request.method, params);
    const tool = request.method === 'tools/call' ? managed?.lastConnection?.tools.find((t) => t.name === name) : undefined;
    const args = request.method === 'tools/call' || request.method === 'prompts/get' ? ((params['arguments'] ?? {}) as Record<string, unknown>) : request.method === 'resources/read' ? { uri: params['uri'] } : {};
    const call: GatewayCall = {
      id: randomUUID(),
      server: session.server,
      builtin: managed?.spec.builtin ?? false,
      method: request.method,
      name,
      args,
      annotations: tool?.annotations,
      hasPreview: tool?._meta?.[PREVIEW_META] === true,
      client: clientIdentity(session.mcp),
      sessionId: session.id,
      signal: extra.signal,
      progressToken: params._meta?.progressToken as GatewayCall['progressToken'],
      startedAt: Date.now(),
    };
    const guarded = request.method === 'tools/call' || request.method === 'resources/read' || request.method === 'prompts/get';
    if (request.method === 'tools/list') {
      // The server's tool filter applies to what clients see, page by page.
      const { result } = await this.forward(session, call, request, extra, false);
      const filter = managed?.spec.toolFilter;
      if (!filter) return result;
      const tools = (result as { tools?: Array<{ name: string }> }).tools ?? [];
      return { ...result, tools: tools.filter((t) => toolOffered(filter, t.name)) };
    }
    // Lists, completions and subscriptions pass through; only calls count in the metrics.
    if (!guarded) return this.forward(session, call, request, extra, false).then((r) => r.result);
    const trace = this.ctx.options.telemetry?.()?.startCall({ id: call.id, server: call.server, name, method: request.method, sessionId: session.id, startedAt: call.startedAt, meta: params._meta });
    if (trace) this.traces.set(call, trace);
    if (request.method === 'tools/call' && !toolOffered(managed?.spec.toolFilter, name)) {
      return this.refuse(call, 'denied', `Tool "${name}" is turned off on server "${session.server}" by the control plane's tool filter; use another tool.`);
    }

    const requested = this.ctx.stages().audit({ type: 'call.requested', call });
    let verdict: PolicyVerdict;
    try {
      verdict = await this.ctx.stages().policy(call);
    } catch (err) {
      // A broken policy never means "allow".
      verdict = { decision: 'deny', reason: `policy could not be evaluated: ${errorMessage(err)}` };
    }
    trace?.decided(verdict.decision);
    const decided = this.ctx.stages().audit({ type: 'policy.decided', call, verdict });
    try {
      await Promise.all([requested, decided]);
    } catch (err) {
      return this.refuse(call, 'denied', `Refused: the audit log cannot be written (${errorMessage(err)}); no call runs unrecorded`);
    }
    if (verdict.decision === 'deny') return this.refuse(call, 'denied', `Denied by policy: ${verdict.reason}`);
    if (verdict.decision === 'approve') {
      const runPreview = async (): Promise<CallToolResult | undefined> => {
        if (!call.builtin || !call.hasPreview) return undefined;
        const previewRequest = { method: 'tools/call', params: { ...params, arguments: { ...args, dryRun: true } } } as Request;
        const { result } = await this.forward(session, { ...call, id: randomUUID() }, previewRequest, extra, false);
        return result as CallToolResult;
      };
      const progress = (message: string): void => {
        if (call.progressToken === undefined) return;
        void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: call.progressToken, progress: 0, message } }).catch(() => undefined);
      };
      let outcome;
      const waited = trace?.approvalWait();
      try {
        outcome = await this.ctx.stages().approve(call, verdict, runPreview, progress);
      } catch (err) {
        outcome = { approved: false, reason: errorMessage(err) };
      }
      waited?.(outcome.approved ? 'approved' : 'rejected');
      if (!outcome.approved) return this.refuse(call, 'rejected', `Not approved: ${outcome.reason}`);
    }
    const { result, failed } = await this.forward(session, call, request, extra);
    if (!failed) {
      const durationMs = Date.now() - call.startedAt;
      const isError = (result as CallToolResult).isError === true;
      this.ctx.auditLater({ type: 'call.completed', call, durationMs, resultBytes: JSON.stringify(result).length, isError });
    }
    return result;
  }

  private refuse(call: GatewayCall, outcome: CallOutcome, message: string): Result {
    const durationMs = Date.now() - call.startedAt;
    this.ctx.metrics.record(call.server, call.name, durationMs, outcome);
    this.traces.get(call)?.end(outcome, message);
    this.ctx.auditLater({ type: 'call.failed', call, durationMs, outcome, error: message });
    if (call.method === 'tools/call') return { content: [{ type: 'text', text: message }], isError: true };
    throw new McpError(ErrorCode.InvalidRequest, message);
  }

  /**
   * Sends a request to the server's current child. Crashes, restarts and timeouts end the call
   * with a clear message (a tool result for tools/call, a JSON-RPC error otherwise), never a hang.
   */
  private async forward(session: ClientSession, call: GatewayCall, request: Request, extra: Extra, record = true): Promise<{ result: Result; failed: boolean }> {
    const managed = this.ctx.supervisor()?.get(session.server);
    const release = await this.router.acquireRoute(session, call);
    try {
      if (!managed) throw new ControlPlaneError('UNKNOWN_SERVER', `server "${session.server}" was removed`);
      const conn = await managed.waitUntilServing(this.ctx.options.waitForServerMs ?? 10_000, extra.signal);
      const params = { ...(request.params ?? {}) } as Record<string, unknown>;
      // The call's trace context (when traced) replaces a client's traceparent: the server's span is the forward span's child.
      const meta: Record<string, unknown> = { ...((params['_meta'] as Record<string, unknown> | undefined) ?? {}), ...this.traces.get(call)?.forwardMeta(), [CALL_ID_META]: call.id };
      delete meta['progressToken'];
      params['_meta'] = meta;
      this.router.track(call.id, session, extra.requestId);
      // Progress goes out in order, and before the result it preceded.
      let progressSent: Promise<void> = Promise.resolve();
      try {
        const result = await conn.client.request({ method: request.method, params } as Request, AnyResultSchema, {
          signal: extra.signal,
          timeout: managed.spec.callTimeoutMs ?? this.ctx.options.config.callTimeoutMs,
          ...(call.progressToken !== undefined
            ? {
                resetTimeoutOnProgress: true,
                onprogress: (p) => {
                  const notification = { method: 'notifications/progress', params: { ...p, progressToken: call.progressToken! } };
                  progressSent = progressSent.then(() => extra.sendNotification(notification)).catch(() => undefined);
                },
              }
            : {}),
        });
        await progressSent;
        if (record) this.ctx.metrics.record(call.server, call.name, Date.now() - call.startedAt, (result as CallToolResult).isError ? 'tool-error' : 'ok');
        if (record) this.traces.get(call)?.end((result as CallToolResult).isError ? 'tool-error' : 'ok');
        return { result: result as Result, failed: false };
      } finally {
        this.router.untrack(call.id, session);
      }
    } catch (err) {
      const durationMs = Date.now() - call.startedAt;
      const cancelled = extra.signal.aborted;
      const message = cancelled ? 'request cancelled by the client' : this.describeForwardError(session.server, err);
      if (record) {
        this.ctx.metrics.record(call.server, call.name, durationMs, cancelled ? 'cancelled' : 'failed');
        this.traces.get(call)?.end(cancelled ? 'cancelled' : 'failed', message);
        this.ctx.auditLater({ type: 'call.failed', call, durationMs, outcome: cancelled ? 'cancelled' : 'failed', error: message });
      }
      // An error the server itself returned passes through unchanged.
      if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed && err.code !== ErrorCode.RequestTimeout) {
        throw new McpError(err.code, stripMcpPrefix(err.message), err.data);
      }
      if (request.method === 'tools/call' && !cancelled) return { result: { content: [{ type: 'text', text: message }], isError: true }, failed: true };
      throw new McpError(ErrorCode.InternalError, message);
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

function callName(method: string, params: Record<string, unknown>): string {
  if (method === 'tools/call' || method === 'prompts/get') return String(params['name'] ?? '');
  if (method === 'resources/read') return String(params['uri'] ?? '');
  return method;
}

function clientIdentity(mcp: Server): ClientIdentity | undefined {
  const info = mcp.getClientVersion();
  return info ? { name: info.name, version: info.version } : undefined;
}

function stripMcpPrefix(message: string): string {
  return message.replace(/^MCP error -?\d+: /, '');
}
