import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../core/errors';
import { UNDO_META_KEY, UNDO_STATE_META_KEY } from '../../core/undo/handle';
import { EFFECT_META_KEY, EXPECTED_EFFECT_META_KEY, IRREVERSIBLE_META_KEY, effectKey, installEffectResolver, resolveEffect, type ResourceEffectResolver, type ToolEffect } from './effect';
import { errorToToolResult } from './errors';
import type { Logger } from './log';
import { DEFAULT_BUDGET_BYTES, capText } from './output';
import { argumentStrings, redactDeep, redactSecrets } from './redact';
import { outputKindMeta } from './output-kind';
import { CALL_ID_META_KEY, PREVIEW_META_KEY, type ToolContext, type ToolDefinition } from './tool';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const TOOL_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** The field the kit adds to every tool that declares a preview. */
export const DRY_RUN_FIELD = z
  .boolean()
  .optional()
  .describe(
    'Preview only: when true, nothing is changed and the result says exactly what would change. Use it to check a destructive call before making it.',
  );

/** Room left for a tool's own truncation note above its budget before the hard cap cuts. */
const NOTE_SLACK_BYTES = 1_024;

export interface RegisterOptions<S> {
  /** Handed to every handler as `ctx.services`. */
  readonly services: S;
  readonly log: Logger;
  /** Byte budget per result (default 16 KB, ~4k tokens). */
  readonly budgetBytes?: number;
  /** Aborted when the server shuts down; handlers see it through `ctx.signal`. */
  readonly shutdown?: AbortSignal;
  /** Resolves the effect of resource reads (see `installEffectResolver`). */
  readonly resourceEffect?: ResourceEffectResolver<S>;
}

/**
 * The one adapter from tool declarations to the SDK: registers each tool on `server` with its
 * JSON schema (from zod), annotations, title, `_meta` preview flag and the `dryRun` field; wraps
 * the handler so that output is redacted and held to the budget, and every failure becomes an
 * `isError` result through `errorToToolResult`.
 *
 * Throws at registration (a programming error) when a declaration breaks the server contract:
 * name not snake_case or repeated, an input field without `.describe()`, a field named `dryRun`,
 * a read-only tool with a preview, or a destructive tool without one.
 */
export function registerTools<S>(server: McpServer, tools: readonly ToolDefinition<S>[], options: RegisterOptions<S>): void {
  const seen = new Set<string>();
  for (const tool of tools) {
    checkDefinition(tool, seen);
    seen.add(tool.name);
    const inputSchema = tool.preview === true ? tool.input.extend({ dryRun: DRY_RUN_FIELD }) : tool.input;
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema,
        ...(tool.output === undefined ? {} : { outputSchema: tool.output }),
        annotations: { title: tool.title, ...tool.annotations },
        ...(tool.preview === true || tool.effect !== undefined || tool.outputKind !== undefined
          ? { _meta: { ...(tool.preview === true ? { [PREVIEW_META_KEY]: true } : {}), ...(tool.effect !== undefined ? { [EFFECT_META_KEY]: true } : {}), ...outputKindMeta(tool.outputKind) } }
          : {}),
      },
      (args, extra) => invoke(tool, args, extra, options),
    );
  }
  installEffectResolver(server, tools, { services: options.services, log: options.log, resourceEffect: options.resourceEffect, ...(options.shutdown ? { shutdown: options.shutdown } : {}) });
}

function checkDefinition<S>(tool: ToolDefinition<S>, seen: ReadonlySet<string>): void {
  const fail = (problem: string): never => {
    throw new Error(`tool "${tool.name}": ${problem}`);
  };
  if (!TOOL_NAME.test(tool.name)) fail('name must be snake_case');
  if (seen.has(tool.name)) fail('declared twice');
  if ('dryRun' in tool.input.shape) fail('"dryRun" is reserved: set preview: true instead');
  for (const [field, schema] of Object.entries(tool.input.shape)) {
    if (descriptionOf(schema) === undefined) fail(`input field "${field}" has no .describe()`);
  }
  if (tool.preview === true && tool.annotations.readOnlyHint) fail('a read-only tool cannot declare a preview');
  if (tool.annotations.destructiveHint && tool.preview !== true) fail('a destructive tool must declare a preview');
}

/** A field's description, looking through optional/default/nullable wrappers (their JSON schema shows the inner one). */
function descriptionOf(schema: z.core.$ZodType): string | undefined {
  if (schema instanceof z.ZodType && schema.description !== undefined && schema.description.length > 0) return schema.description;
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) return descriptionOf(schema.unwrap());
  return undefined;
}

async function invoke<S>(
  tool: ToolDefinition<S>,
  args: Record<string, unknown>,
  extra: Extra,
  options: RegisterOptions<S>,
): Promise<CallToolResult> {
  const budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET_BYTES;
  const rawCallId = extra._meta?.[CALL_ID_META_KEY];
  const callId = typeof rawCallId === 'string' ? rawCallId : undefined;
  const progressToken = extra._meta?.progressToken;
  const signal = options.shutdown === undefined ? extra.signal : AbortSignal.any([extra.signal, options.shutdown]);
  let effect: ToolEffect | undefined;
  if (tool.effect !== undefined) {
    // The effect the gateway's policy and the approver saw must still be the one this call has.
    const expected = extra._meta?.[EXPECTED_EFFECT_META_KEY];
    if (expected !== undefined) {
      try {
        effect = await resolveEffect(tool, args, { services: options.services, signal, log: options.log });
      } catch (err) {
        return { content: [{ type: 'text', text: `Refused: the effect of ${tool.name} could not be resolved again before running (${errorMessage(err)}). Nothing was changed.` }], isError: true };
      }
      if (effectKey(effect) !== effectKey(expected)) {
        return {
          content: [{ type: 'text', text: `Refused: what ${tool.name} would change is no longer what was checked and approved (then ${redactSecrets(effectKey(expected))}, now ${redactSecrets(effectKey(effect))}). Nothing was changed; call again to have the new effect checked.` }],
          isError: true,
        };
      }
    }
  }
  const ctx: ToolContext<S> = {
    services: options.services,
    dryRun: tool.preview === true && args['dryRun'] === true,
    effect,
    signal,
    callId,
    undoState: undoStateOf(extra._meta?.[UNDO_STATE_META_KEY]),
    budgetBytes,
    log: options.log,
    progress: async (progress, total, message) => {
      if (progressToken === undefined) return;
      try {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress, total, message },
        });
      } catch (err) {
        options.log.debug(`${tool.name}: progress notification failed: ${String(err)}`);
      }
    },
    createMessage: (params) =>
      extra.sendRequest({ method: 'sampling/createMessage', params: tagged(params, callId) }, CreateMessageResultSchema),
    elicit: (params) => extra.sendRequest({ method: 'elicitation/create', params: tagged(params, callId) }, ElicitResultSchema),
  };
  try {
    const reply = await tool.handler(args, ctx);
    const sent = argumentStrings(args);
    const irreversible = ctx.dryRun && reply.irreversible !== undefined && reply.irreversible.length > 0 ? reply.irreversible.map((l) => redactSecrets(l, sent)) : undefined;
    const text = capText(
      redactSecrets(reply.text, sent),
      budgetBytes + NOTE_SLACK_BYTES,
      `Narrow the request (a path, a range or a lower limit) to see the rest.`,
    );
    const structured = reply.structured === undefined ? undefined : redactDeep(reply.structured, sent);
    // VS Code hands the model the structured JSON instead of the text when both are present, so
    // the budget holds for it too: beyond it (and without a declared output schema) it is left out.
    const oversized = structured !== undefined && tool.output === undefined && Buffer.byteLength(JSON.stringify(structured)) > budgetBytes;
    return {
      content: [
        { type: 'text', text: oversized ? `${text}\n[structured output left out: larger than the ${budgetBytes}-byte budget; the text above is complete within it]` : text },
        ...(irreversible !== undefined ? [{ type: 'text' as const, text: `Cannot be undone: ${irreversible.join('; ')}` }] : []),
      ],
      ...(structured === undefined || oversized ? {} : { structuredContent: structured }),
      ...(reply.undo !== undefined && !ctx.dryRun ? { _meta: { [UNDO_META_KEY]: reply.undo } } : {}),
      ...(irreversible !== undefined ? { _meta: { [IRREVERSIBLE_META_KEY]: irreversible } } : {}),
    };
  } catch (err) {
    return errorToToolResult(err, tool.name, options.log);
  }
}

function undoStateOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** `params` with the call tag added to its `_meta` (unchanged when the call has no tag). */
function tagged<P extends { _meta?: Record<string, unknown> | undefined }>(params: P, callId: string | undefined): P {
  if (callId === undefined) return params;
  return { ...params, _meta: { ...params._meta, [CALL_ID_META_KEY]: callId } };
}
