import { BUILTIN_EFFECT_TOOLS } from './builtin-catalogue';
import { compileGlob } from './glob';
import type { PolicyRule } from './schema';

/**
 * Rules with `args` predicates that can match a built-in tool declaring its effect: arguments have
 * other spellings than the effect they lead to (`push {}` pushes the current branch, `remoteBranch`
 * renames the destination), so such a rule should match `effect` fields. Returned as warnings: the
 * rule stays in force.
 */
export function effectWarnings(rules: readonly PolicyRule[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  rules.forEach((rule, index) => {
    if (rule.args === undefined || Object.keys(rule.args).length === 0) return;
    if (rule.kind !== undefined && !(Array.isArray(rule.kind) ? rule.kind : [rule.kind]).includes('tool')) return;
    if (rule.resource !== undefined || rule.prompt !== undefined || rule.builtin === false) return;
    const servers = globs(rule.server);
    const tools = globs(rule.tool);
    const hit: string[] = [];
    for (const [server, names] of Object.entries(BUILTIN_EFFECT_TOOLS)) {
      if (servers !== undefined && !servers(server)) continue;
      for (const name of names) if (tools === undefined || tools(name)) hit.push(`${server}/${name}`);
    }
    if (hit.length === 0) return;
    out.push({
      index,
      message: `use effect fields: ${hit.slice(0, 4).join(', ')}${hit.length > 4 ? ` and ${hit.length - 4} more` : ''} declare their effect, and an "args" rule can be dodged by another spelling of the arguments (push {} pushes the current branch). Match "effect" instead, e.g. effect: { destinationRef: refs/heads/main } or effect: { namespace: kube-system } (see docs/policy.md#effects).`,
    });
  });
  return out;
}

function globs(value: string | readonly string[] | undefined): ((name: string) => boolean) | undefined {
  if (value === undefined) return undefined;
  const matchers = (typeof value === 'string' ? [value] : value).map(compileGlob);
  return (name) => matchers.some((m) => m(name));
}
