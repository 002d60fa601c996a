// The push tool's effect (the kit's effect contract, issue 13): the remote, the URL git would
// connect to, the commit pushed and the destination ref, from the side-effect-free push plan.
import type { EffectContext, ToolEffect } from '../kit';
import type { GitServices } from './define';
import { describePushEffect, planPush } from './push-plan';

export async function pushEffect(
  ctx: EffectContext<GitServices>,
  input: { readonly repo?: string | undefined; readonly remote?: string | undefined; readonly branch?: string | undefined; readonly remoteBranch?: string | undefined; readonly force: boolean },
): Promise<ToolEffect> {
  const repo = await ctx.services.git.open(input.repo, ctx.signal);
  const e = describePushEffect(await planPush(repo, input));
  return { type: 'git.push', remote: e.remote, remoteUrl: e.url, sourceSha: e.sourceSha, destinationRef: e.destinationRef, force: input.force };
}
