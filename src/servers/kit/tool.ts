import type { z } from 'zod';
import type {
  CreateMessageRequestParams,
  CreateMessageResult,
  ElicitRequestParams,
  ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { UndoHandle } from '../../core/undo/handle';
import type { EffectContext, ToolEffect } from './effect';
import type { Logger } from './log';
import type { OutputKind } from './output-kind';

/** `_meta` key on a tool definition: the tool takes `dryRun` and honours it (server contract). */
export const PREVIEW_META_KEY = 'mcpcp/preview';
/** `_meta` key the gateway puts on each forwarded tools/call; server-to-client requests echo it. */
export const CALL_ID_META_KEY = 'mcpcp/callId';

/**
 * MCP tool annotations, all four stated explicitly: the gateway's default policy reads them
 * (read-only → allow, destructive → approve), so "unknown" is never an option for our tools.
 */
export interface ToolHints {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

/** What a handler returns. The kit applies redaction and the byte budget before it leaves. */
export interface ToolReply {
  /** Compact text for the model (tables, one-line rows), already paged by the tool if long. */
  readonly text: string;
  /** Machine-readable form, when the tool declares `output` (then required) or finds it useful. */
  readonly structured?: Record<string, unknown>;
  /**
   * For a destructive call that changed something: how to put it back (see `UndoHandle`), or why
   * it can't be. The kit sends it in `_meta["mcpcp/undo"]`, unredacted (the gateway encrypts it and
   * strips it before the client sees the result). Never set on a dry run.
   */
  readonly undo?: UndoHandle;
  /**
   * On a dry run: what the call would do that no undo can bring back, one sentence each (see
   * `IRREVERSIBLE_META_KEY`). Shown in the approval card before the real call is approved.
   */
  readonly irreversible?: readonly string[];
}

/**
 * Everything a handler may use besides its input. Built per call by the kit.
 *
 * Server-to-client requests made while handling a call (`createMessage`, `elicit`,
 * `sendRequest`) carry the call's tag: the gateway puts `_meta["mcpcp/callId"]` on each tools/call
 * it forwards, and these helpers copy it into the outgoing request's `params._meta`, so the
 * gateway can route the request to the right client and audit it under the right call. They go
 * out on the call's own request stream (`extra.sendRequest`), never as unrelated requests.
 */
export interface ToolContext<S> {
  /** The server's own services (git client, workspace...), given once at registration. */
  readonly services: S;
  /** True when the caller asked for a preview: change nothing, say what would change. */
  readonly dryRun: boolean;
  /**
   * For a tool that declares `effect`: the effect resolved again just now, which the kit checked is
   * the one the gateway's policy and the approver saw. Execute exactly this (the commit, the ref).
   */
  readonly effect: ToolEffect | undefined;
  /** Aborted when the client cancels the call or the server shuts down. */
  readonly signal: AbortSignal;
  /** The gateway's tag for this call, when there is one. */
  readonly callId: string | undefined;
  /**
   * For an undo the control plane submitted: the prior state its handle kept (`UndoHandle.state`,
   * secrets included), which the gateway forwards in `_meta` and strips from any client's request.
   */
  readonly undoState: Readonly<Record<string, unknown>> | undefined;
  /** Byte budget for `ToolReply.text`; page or summarise to stay under it. */
  readonly budgetBytes: number;
  readonly log: Logger;
  /**
   * Sends notifications/progress when the caller gave a progressToken; otherwise does nothing.
   * Never throws (progress is best effort).
   */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** sampling/createMessage to the client, tagged with the call id. */
  createMessage(params: CreateMessageRequestParams): Promise<CreateMessageResult>;
  /** elicitation/create to the client, tagged with the call id. */
  elicit(params: ElicitRequestParams): Promise<ElicitResult>;
}

/**
 * One tool: the whole declaration in one place. `input` is a zod object whose every field has a
 * `.describe()`; when `preview` is true the kit adds the optional `dryRun` field, sets
 * `_meta["mcpcp/preview"]` on the definition and passes `ctx.dryRun` to the handler.
 *
 * `handler` is declared as a method so that a list of tools with different inputs is one type.
 */
export interface ToolDefinition<S, I extends z.ZodObject = z.ZodObject> {
  /** snake_case, unique within the server. */
  readonly name: string;
  /** "Noun: Verb", e.g. "Repo: Status". */
  readonly title: string;
  /** Written for a model: what it does, when to use it, what it returns, how to page. */
  readonly description: string;
  readonly input: I;
  /** Schema of `ToolReply.structured`; when set, every successful reply must carry it. */
  readonly output?: z.ZodObject;
  readonly annotations: ToolHints;
  /** The tool honours `dryRun` (required for destructive tools of built-in servers). */
  readonly preview?: boolean;
  /** Its output is a log or a command's output: the gateway masks credential patterns in it (see output-kind.ts). */
  readonly outputKind?: OutputKind;
  /**
   * What the call will change, resolved from the input and local or read-only state only (no
   * writes, no programs): see `ToolEffect`. Declaring it sets `_meta["mcpcp/effect"]`; the gateway
   * resolves it before policy, and the call is refused when it resolves differently at run time.
   */
  effect?(input: z.output<I>, ctx: EffectContext<S>): Promise<ToolEffect>;
  handler(input: z.output<I>, ctx: ToolContext<S>): Promise<ToolReply>;
}

/** Declares a tool; the identity function that gives the handler its typed input. */
export function defineTool<S, I extends z.ZodObject>(definition: ToolDefinition<S, I>): ToolDefinition<S, I> {
  return definition;
}

/**
 * `defineTool` with the services type fixed once per server, so each tool file only states its
 * input: `export const defineGitTool = toolDefiner<GitServices>();`.
 */
export function toolDefiner<S>(): <I extends z.ZodObject>(definition: ToolDefinition<S, I>) => ToolDefinition<S, I> {
  return (definition) => definition;
}
