export { API_KEY_PREFIX, API_KEYS_FILE, FileApiKeyStore, PostgresApiKeyStore, hashKey, looksLikeApiKey, type ApiKeyCheck, type ApiKeyInfo, type ApiKeyRecord, type ApiKeyStore, type NewApiKey } from './api-keys';
export { TeamAuthenticator, principalFromClaims, type McpAuthResult } from './authenticator';
export { isLoopbackHost, teamConfigSchema, type TeamConfig, type TeamOidcConfig } from './config';
export { decidingPrincipal, type DeciderCredential, type DeciderResult } from './decider';
export { ForwardedTrust, type RequestOrigin } from './forwarded';
export { openApiKeyStore, teamGatewayOptions } from './mode';
export { OidcTokenVerifier, discover } from './oidc-tokens';
export { LOCAL_PRINCIPAL, ROLES, hasRole, isRole, principalForAudit, type Principal, type PrincipalVia, type Role } from './principal';
export { claimAt, claimList, resolveRoles } from './roles';
