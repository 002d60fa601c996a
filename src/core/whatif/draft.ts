import { parseDocument } from 'yaml';
import { ControlPlaneError } from '../errors';
import { formatPolicyIssue, parsePolicyText, policyFileSchema, workspacePolicyFileSchema, type PolicyFile, type PolicyTestResult } from '../policy';
import type { PolicyLayerName } from './replay';

/**
 * A draft policy (YAML text) validated for `layer`, and the outcome of its own `tests:`. A failing
 * test does not stop a replay (both are reported); any other problem throws `POLICY_INVALID` with
 * the file, line and field.
 */
export function parseDraft(text: string, name: string, layer: PolicyLayerName): { policy: PolicyFile; tests: readonly PolicyTestResult[] } {
  const result = parsePolicyText(text, name, { layer });
  if (result.ok) return { policy: result.policy, tests: result.tests ?? [] };
  if (result.error.code !== 'tests') throw new ControlPlaneError('POLICY_INVALID', `the draft is not a valid ${layer} policy: ${formatPolicyIssue(result.error)}`);
  // Well-formed with failing tests: the schema passed already, so this parse cannot fail.
  const schema = layer === 'workspace' ? workspacePolicyFileSchema : policyFileSchema;
  return { policy: schema.parse(parseDocument(text).toJS({ maxAliasCount: 100 }) ?? {}), tests: result.tests ?? [] };
}
