// The gateway's side of the effect contract (src/servers/kit/effect.ts): before policy, a built-in
// tool that declares its effect is asked what the call will change; the answer travels with the
// call (policy, approval digest, and `_meta` of the forwarded call, which the server checks again).
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { errorMessage } from '../errors';
import type { ManagedServer } from '../supervisor/managed-server';

/** `_meta` key on a tool definition: the tool declares its effect. */
export const EFFECT_META = 'mcpcp/effect';
/** The request that resolves an effect: params `{name, arguments}`, result `{effect}`. */
export const RESOLVE_EFFECT_METHOD = 'mcpcp/resolveEffect';
/** `_meta` key on a forwarded tools/call: the effect policy and the approver saw. */
export const EXPECTED_EFFECT_META = 'mcpcp/expectedEffect';
/** Experimental server capability: resource reads resolve an effect too. */
export const EFFECT_CAPABILITY = 'mcpcp/effect';

const resultSchema = z.object({ effect: z.record(z.string(), z.unknown()) }).passthrough();

/**
 * What resolution gave: the effect, or why there is none. `effectInvalid`: the server says the
 * arguments are at fault (unknown context or device): the call could not run, policy refuses it;
 * any other problem (timeout, unreachable cluster) sends the call to a human.
 */
export type EffectResolution = { readonly effect: Record<string, unknown> } | { readonly effectProblem: string; readonly effectInvalid: boolean };

/**
 * What to resolve for a request, or undefined: a `tools/call` of a built-in tool that declares
 * `_meta["mcpcp/effect"]`, a `resources/read` on a built-in server with the `mcpcp/effect`
 * capability. Third-party servers are not trusted to describe effects.
 */
export function effectQuery(managed: ManagedServer | undefined, method: string, name: string, args: Record<string, unknown>, toolMeta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (managed === undefined || !managed.spec.builtin) return undefined;
  if (method === 'tools/call') return toolMeta?.[EFFECT_META] === true ? { name, arguments: args } : undefined;
  if (method === 'resources/read') return managed.lastConnection?.capabilities.experimental?.[EFFECT_CAPABILITY] !== undefined ? { uri: name } : undefined;
  return undefined;
}

/** Asks the server for the effect (`effectQuery`). Never throws: a failure or a timeout is an `effectProblem`. */
export async function resolveEffect(managed: ManagedServer, query: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<EffectResolution> {
  try {
    const conn = await managed.waitUntilServing(timeoutMs, signal);
    const result = await conn.client.request({ method: RESOLVE_EFFECT_METHOD, params: query } as never, resultSchema, { signal, timeout: timeoutMs });
    return { effect: result.effect };
  } catch (err) {
    return { effectProblem: errorMessage(err).replace(/^MCP error -?\d+: /, ''), effectInvalid: err instanceof McpError && err.code === ErrorCode.InvalidParams };
  }
}
