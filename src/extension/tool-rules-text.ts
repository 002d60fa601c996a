// What the per-tool commands say: the modal of "Always Allow" (naming the exact rule it writes) and
// the notes after a change. No 'vscode' import: unit tests read these texts.
import type { PlacedRule, PolicyResultSummary, ToolRef } from '../core/policy';

/** The settings key the user's policy rules live in (user settings only). */
export const USER_RULES_SETTING = 'mcpControlPlane.policy.rules';

/** A rule as it appears in settings.json (two-space JSON, as VS Code writes it). */
export function renderRule(rule: unknown): string {
  return JSON.stringify(rule, null, 2);
}

function decisionWords(d: PolicyResultSummary): string {
  const by = d.rule.source === 'default' ? 'by default' : d.rule.source === 'read-only-mode' ? 'by read-only mode' : `by ${d.rule.source} rule #${(d.rule.index ?? 0) + 1}`;
  return `${d.decision === 'allow' ? 'allowed' : d.decision === 'approve' ? 'waits for approval' : 'denied'} ${by}`;
}

/** The modal dialog of "Always Allow": the question, and in its detail the exact rule and where it goes. */
export function allowDialog(ref: Pick<ToolRef, 'server' | 'tool'>, placed: PlacedRule): { message: string; detail: string; button: string } {
  const total = placed.rules.length;
  const before = placed.rules.slice(0, placed.index);
  const denies = before.filter((r) => r.decision === 'deny').length;
  const approvals = before.filter((r) => r.decision === 'approve').length;
  const after = [denies > 0 ? `your ${denies === 1 ? 'deny rule' : `${denies} deny rules`}` : '', approvals > 0 ? `${approvals === 1 ? 'the approval rule' : `the ${approvals} approval rules`} that may cover this tool` : '']
    .filter(Boolean)
    .join(' and ');
  const lines = [
    `Writes this rule into your user settings (${USER_RULES_SETTING}) as rule #${placed.index + 1} of ${total}${after ? `, after ${after} (they still win)` : ''}:`,
    '',
    renderRule(placed.rule),
    '',
    `Calls of "${ref.tool}" on ${ref.server} then run without asking you. Now: ${decisionWords(placed.before)}.`,
  ];
  if (placed.replaced.length > 0) lines.push(`It replaces the earlier "${placed.replaced.map((r) => r.id ?? r.decision).join('", "')}" rule for this tool.`);
  for (const p of placed.precededBy) lines.push(`Rule #${p.index + 1} (${p.rule.decision}${p.rule.id ? `, "${p.rule.id}"` : ''}) comes first and still decides the calls it matches.`);
  lines.push('A workspace policy or read-only mode can still stop these calls. Undo: "Always Require Approval for Tool" or delete the rule in settings.');
  return { message: `Always allow "${ref.tool}" on ${ref.server}?`, detail: lines.join('\n'), button: 'Always Allow' };
}

/** Why "Always Allow" writes nothing: a rule of the user before it decides every call of the tool. */
export function notEffectiveText(ref: Pick<ToolRef, 'server' | 'tool'>, placed: PlacedRule): string {
  const first = placed.precededBy.find((p) => p.rule.args === undefined && p.rule.effect === undefined) ?? placed.precededBy[0];
  const which = first ? `rule #${first.index + 1} (${first.rule.decision}${first.rule.id ? `, "${first.rule.id}"` : ''})` : 'an earlier rule';
  return `Nothing written: ${which} of your ${USER_RULES_SETTING} covers every call of "${ref.tool}" on ${ref.server} and comes first, so an allow rule after it would change nothing. Edit that rule in your user settings if this tool should run without asking.`;
}

/** Why "Always Allow" is not offered: the tool is destructive. */
export function destructiveRefusal(ref: Pick<ToolRef, 'server' | 'tool'>): string {
  return `"Always Allow" is not offered for "${ref.tool}" on ${ref.server}: it may change or delete things (destructive), so each call waits for your approval. Nothing was written. A narrower rule with conditions (args or effect) can be written by hand in ${USER_RULES_SETTING}.`;
}

/** What "Always Require Approval" wrote. */
export function tightenedText(ref: Pick<ToolRef, 'server' | 'tool'>, placed: PlacedRule): string {
  const where = `rule #${placed.index + 1} of ${placed.rules.length} in your user settings (${USER_RULES_SETTING})`;
  const before = `before: ${decisionWords(placed.before)}`;
  const also = placed.precededBy.length > 0 ? ` Rule${placed.precededBy.length > 1 ? 's' : ''} ${placed.precededBy.map((p) => `#${p.index + 1}`).join(', ')} come${placed.precededBy.length > 1 ? '' : 's'} first and still decide the calls they match.` : '';
  return `Calls of "${ref.tool}" on ${ref.server} now wait for your approval: wrote ${renderRule(placed.rule).replace(/\s*\n\s*/g, ' ')} as ${where} (${before}).${also}`;
}
