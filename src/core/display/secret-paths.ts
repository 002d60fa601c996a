import type { Redactor } from '../redact';
import { argLeaves } from './visible';

/**
 * The paths (`argLeaves` form) of argument values that look like secrets: a string the redactor
 * would mask, or any value under a sensitive key (`password`, `token`…). The UIs show these values
 * to the approver with a mark; logs, the audit and the agent get them masked.
 */
export function secretPaths(args: unknown, redactor: Pick<Redactor, 'redactString' | 'isSensitiveKey'>): string[] {
  return argLeaves(args)
    .filter(({ path, value }) => {
      if (typeof value === 'string' && value !== '' && redactor.redactString(value) !== value) return true;
      return value !== null && typeof value !== 'boolean' && path.split(/[.[\]]/).some((key) => key !== '' && !/^\d+$/.test(key) && redactor.isSensitiveKey(key));
    })
    .map((leaf) => leaf.path);
}
