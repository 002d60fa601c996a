export { Redactor, type RedactorOptions } from './redactor';
export {
  DEFAULT_NON_SENSITIVE_KEYS,
  DEFAULT_SECRET_PATTERNS,
  DEFAULT_SENSITIVE_KEY_SUFFIXES,
  DEFAULT_SENSITIVE_KEYS_EXACT,
  type SecretPattern,
} from './patterns';
