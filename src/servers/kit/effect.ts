// The effect contract: a built-in tool that changes something says, in normalised form and before
// it runs, what it will change. The gateway asks (`mcpcp/resolveEffect`), policy matches the answer,
// the approval shows and digests it, and the real call carries it back: the tool resolves again and
// refuses when the effect changed in between.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import { KitErrorCode } from './errors';
import type { Logger } from './log';
import type { ToolDefinition } from './tool';

/** `_meta` key on a tool definition: the tool declares its effect (it can be resolved before it runs). */
export const EFFECT_META_KEY = 'mcpcp/effect';
/** The request the gateway sends to resolve a call's effect: params `{name, arguments}`, result `{effect}`. */
export const RESOLVE_EFFECT_METHOD = 'mcpcp/resolveEffect';
/**
 * `_meta` key on a dry-run result: what the call would do that no undo can bring back (a push
 * others may fetch at once, a deleted volume's data), as plain sentences. The kit also appends
 * them to the dry run's text, so every approval card shows them before a human approves; the
 * gateway trusts them from built-in servers only (other previews are not shown as trusted).
 */
export const IRREVERSIBLE_META_KEY = 'mcpcp/irreversible';
/** `_meta` key on a forwarded tools/call: the effect policy and the approver saw. */
export const EXPECTED_EFFECT_META_KEY = 'mcpcp/expectedEffect';

/**
 * What a call will change, in normalised form: `type` names the shape (`git.push`, `kubernetes`,
 * `network.config`) and the other fields are plain values or lists of strings (several objects or
 * devices). Fields that are unknown are left out, never guessed.
 */
export type ToolEffect = { readonly type: string } & Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

/** What an effect resolver may use: the server's services, a signal, the log. No side effects. */
export interface EffectContext<S> {
  readonly services: S;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** Server capability (`experimental`) saying that resource reads resolve an effect too (`{uri}`). */
export const EFFECT_CAPABILITY = 'mcpcp/effect';

/** Resolves the effect of `resources/read uri`: which object a read reaches, however the URI is spelt. */
export type ResourceEffectResolver<S> = (uri: string, ctx: EffectContext<S>) => Promise<ToolEffect>;

const resolveEffectRequestSchema = z.object({
  method: z.literal(RESOLVE_EFFECT_METHOD),
  params: z.union([z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()).optional() }), z.object({ uri: z.string() })]),
});

/**
 * Answers `mcpcp/resolveEffect` for the tools that declare an effect. The arguments are validated
 * with the tool's own schema first; a tool without an effect, unknown arguments or a failing
 * resolution are JSON-RPC errors (the gateway then sends the call to a human).
 */
export function installEffectResolver<S>(
  server: McpServer,
  tools: readonly ToolDefinition<S>[],
  options: { services: S; log: Logger; shutdown?: AbortSignal; resourceEffect?: ResourceEffectResolver<S> | undefined },
): void {
  const byName = new Map(tools.filter((t) => t.effect !== undefined).map((t) => [t.name, t]));
  if (byName.size === 0 && options.resourceEffect === undefined) return;
  server.server.setRequestHandler(resolveEffectRequestSchema, async (request, extra) => {
    const ctx = {
      services: options.services,
      signal: options.shutdown === undefined ? extra.signal : AbortSignal.any([extra.signal, options.shutdown]),
      log: options.log,
    };
    const params = request.params;
    if ('uri' in params) {
      if (options.resourceEffect === undefined) throw invalidParams('this server resolves no resource effects');
      try {
        return { effect: await options.resourceEffect(params.uri, ctx) };
      } catch (err) {
        throw resolutionError(`the effect of reading ${params.uri} could not be resolved: ${errorMessage(err)}`, err);
      }
    }
    const tool = byName.get(params.name);
    if (tool === undefined) throw invalidParams(`tool "${params.name}" declares no effect`);
    return { effect: await resolveEffect(tool, params.arguments ?? {}, ctx) };
  });
}

/** Validates `args` with the tool's schema and resolves its effect; throws an InvalidParams error on failure. */
export async function resolveEffect<S>(tool: ToolDefinition<S>, args: Record<string, unknown>, ctx: EffectContext<S>): Promise<ToolEffect> {
  const { dryRun: _dryRun, ...rest } = args;
  const parsed = tool.input.safeParse(rest);
  if (!parsed.success) throw invalidParams(`invalid arguments for ${tool.name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  try {
    return await tool.effect!(parsed.data, ctx);
  } catch (err) {
    throw resolutionError(`the effect of ${tool.name} could not be resolved: ${errorMessage(err)}`, err);
  }
}

/**
 * InvalidParams when the arguments are at fault (a field named in the error, an unknown context,
 * device or resource: the call could not run either), InternalError otherwise (an unreachable
 * cluster): the gateway refuses the first and sends the second to a human.
 */
function resolutionError(message: string, err: unknown): Error {
  const argumentFault =
    err instanceof ControlPlaneError && (err.code === KitErrorCode.invalidArgument || typeof err.details['field'] === 'string' || /UNKNOWN|NOT_FOUND|NOT_EXPOSED/.test(err.code));
  return Object.assign(new Error(message), { code: argumentFault ? ErrorCode.InvalidParams : ErrorCode.InternalError });
}

/** A JSON-RPC InvalidParams error whose message is said once (an `McpError` would prefix it twice on the wire). */
function invalidParams(message: string): Error {
  return Object.assign(new Error(message), { code: ErrorCode.InvalidParams });
}

/** Canonical JSON of an effect (keys sorted), to compare what was approved with what would run now. */
export function effectKey(effect: unknown): string {
  return JSON.stringify(sortKeys(effect));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
