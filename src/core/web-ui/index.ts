export { escapeHtml, newNonce, renderLoginPage, renderUiPage, webCsp, webviewCsp, type LoginPageOptions, type UiPageOptions } from './page';
export { DEFAULT_AUDIT_PAGE, decisionErrorStatus, handleUiRequest, type UiRequestContext } from './requests';
export {
  APPROVER_CREDENTIAL_HEADER,
  APPROVER_NAME_HEADER,
  CSRF_HEADER,
  UI_CLIENT_HEADER,
  createWebUiRoute,
  type WebUiOptions,
  type WebUiRoute,
} from './route';
export { CredentialThrottle, UiSessions, secretEquals, type CredentialThrottleOptions, type ThrottleVerdict, type UiSession, type UiSessionsOptions } from './sessions';
export { StateFeed, type StateFeedOptions, type StateSubscription } from './state-feed';
