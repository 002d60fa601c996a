export { approvalSummary, type ApprovalSummaryInput } from './summary';
export { secretPaths } from './secret-paths';
export { plural, utcStamp } from './words';
export {
  argLeaves,
  displayArgs,
  fold,
  formatDisplayArgs,
  formatEffect,
  hasHidden,
  visible,
  type ArgLeaf,
  type DisplayArg,
  type DisplayArgsOptions,
  type VisibleOptions,
} from './visible';
