export {
  PolicyEngine,
  defaultDecision,
  effectiveAnnotations,
  isSecretResourceUri,
  normaliseResourceUri,
  isSet,
  stricterDecision,
  usesRegex,
  type EffectiveAnnotations,
  type PolicyLayers,
  type PolicyRequest,
  type PolicyResult,
  type PolicyRuleRef,
  type ToolAnnotations,
} from './engine';
export { BUILTIN_EFFECT_TOOLS, BUILTIN_TOOL_ANNOTATIONS } from './builtin-catalogue';
export { effectWarnings } from './effect-warnings';
export { compileGlob, globProblem } from './glob';
export { formatPolicyTestResult, runPolicyTests, type PolicyTestResult } from './policy-tests';
export {
  LastValidPolicy,
  failSafePolicy,
  formatPolicyIssue,
  loadPolicyFile,
  parsePolicyRules,
  parsePolicyText,
  type PolicyInForce,
  type PolicyIssue,
  type PolicyLoadError,
  type PolicyLoadOptions,
  type PolicyLoadResult,
} from './load';
export {
  annotationMatchSchema,
  argPredicateSchema,
  policyDecisionSchema,
  policyFileSchema,
  policyRuleSchema,
  policyRulesSchema,
  policyTestSchema,
  requestKindSchema,
  workspacePolicyFileSchema,
  type AnnotationMatch,
  type ArgPredicate,
  type PolicyDecisionKind,
  type PolicyFile,
  type PolicyRequestKind,
  type PolicyRule,
  type PolicyTest,
} from './schema';
