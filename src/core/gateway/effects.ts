// The gateway's side of the effect contract (src/servers/kit/effect.ts): before policy, a built-in
// tool that declares its effect is asked what the call will change; the answer travels with the
// call (policy, approval digest, and `_meta` of the forwarded call, which the server checks again).
import { z } from 'zod';
import { errorMessage } from '../errors';
import type { ManagedServer } from '../supervisor/managed-server';

/** `_meta` key on a tool definition: the tool declares its effect. */
export const EFFECT_META = 'mcpcp/effect';
/** The request that resolves an effect: params `{name, arguments}`, result `{effect}`. */
export const RESOLVE_EFFECT_METHOD = 'mcpcp/resolveEffect';
/** `_meta` key on a forwarded tools/call: the effect policy and the approver saw. */
export const EXPECTED_EFFECT_META = 'mcpcp/expectedEffect';

const resultSchema = z.object({ effect: z.record(z.string(), z.unknown()) }).passthrough();

/** What resolution gave: the effect, or why there is none (the call then needs a human). */
export type EffectResolution = { readonly effect: Record<string, unknown> } | { readonly effectProblem: string };

/**
 * Asks the server what `tools/call name(args)` would change. Only for built-in servers whose tool
 * declares `_meta["mcpcp/effect"]` (third-party servers are not trusted to describe effects).
 * Never throws: a failure or a timeout is an `effectProblem`.
 */
export async function resolveEffect(managed: ManagedServer, name: string, args: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<EffectResolution> {
  try {
    const conn = await managed.waitUntilServing(timeoutMs, signal);
    const result = await conn.client.request({ method: RESOLVE_EFFECT_METHOD, params: { name, arguments: args } } as never, resultSchema, { signal, timeout: timeoutMs });
    return { effect: result.effect };
  } catch (err) {
    return { effectProblem: errorMessage(err).replace(/^MCP error -?\d+: /, '') };
  }
}
