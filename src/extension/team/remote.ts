// VS Code as a client of a team control plane: the parts that need no `vscode` (unit-tested
// directly). Which URL counts (the user's own setting only), where its API key is kept, and the
// service's read-only status as remote rows of the Servers tree.

import { plural } from '../wording';

/** The setting that names the team control plane (application scope: user settings only). */
export const TEAM_URL_SETTING = 'mcpControlPlane.team.url';

/** Its entry in `contributes.configuration` (merged by src/extension/manifest.ts). */
export const TEAM_URL_CONTRIBUTION = {
  type: 'string',
  default: '',
  scope: 'application',
  pattern: '^(https://.+|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]+)?/?|)$',
  patternErrorMessage: 'An https:// URL (http:// only for 127.0.0.1 or localhost), origin only, or empty.',
  markdownDescription:
    'URL of a team MCP Control Plane (`mcpcp serve` in team mode), origin only, e.g. `https://mcp.example.com`. Its servers are offered to chat beside this window\'s own, authenticated with your sign-in at the team\'s identity provider (**MCP Control Plane: Team: Sign In…**) or the API key set by **MCP Control Plane: Team: Set API Key…** (both kept in SecretStorage, per URL). Only your user settings count: a value in a workspace or folder (`.vscode/settings.json`) is ignored, since the control plane it names would receive your credential. Empty: no team.',
} as const;

/** How VS Code reports a setting (`WorkspaceConfiguration.inspect`), the parts read here. */
export interface InspectedSetting<T> {
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export type TeamTarget =
  | { kind: 'none'; ignored: string[] }
  | { kind: 'invalid'; value: string; message: string; ignored: string[] }
  | { kind: 'team'; origin: string; host: string; ignored: string[] };

/**
 * The team control plane the user named, from the user's own value only. A workspace or folder
 * value never counts (it is listed in `ignored`, for a one-time notice): a repository must not be
 * able to send the user's credential to a service of its choosing.
 */
export function teamTarget(inspected: InspectedSetting<unknown> | undefined): TeamTarget {
  const ignored = [
    ...(typeof inspected?.workspaceValue === 'string' && inspected.workspaceValue !== '' ? ['workspace'] : []),
    ...(typeof inspected?.workspaceFolderValue === 'string' && inspected.workspaceFolderValue !== '' ? ['folder'] : []),
  ];
  const value = inspected?.globalValue;
  if (typeof value !== 'string' || value.trim() === '') return { kind: 'none', ignored };
  const parsed = parseTeamUrl(value.trim());
  if ('message' in parsed) return { kind: 'invalid', value, message: parsed.message, ignored };
  return { kind: 'team', origin: parsed.origin, host: parsed.host, ignored };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https origin (http only on loopback), no credentials, path, query or fragment. */
export function parseTeamUrl(value: string): { origin: string; host: string } | { message: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { message: `"${value}" is not a URL; write it like https://mcp.example.com` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    return { message: `${url.protocol}// is refused for ${url.host}: the API key would travel in clear text; use https:// (http:// only for 127.0.0.1 or localhost)` };
  }
  if (url.username || url.password) return { message: 'remove the user name and password from the URL; the API key is set with "Team: Set API Key…"' };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return { message: `give the origin only (${url.origin}), without a path, query or fragment` };
  return { origin: url.origin, host: url.host };
}

/**
 * SecretStorage key of the API key for one team origin. Keyed by origin, so that a key set for one
 * control plane is never sent to another after the setting changes.
 */
export function apiKeySecretName(origin: string): string {
  return `mcpControlPlane.team.apiKey:${origin}`;
}

/** An MCP API key as `mcpcp team api-key create` prints it. */
export function checkApiKey(value: string): string | undefined {
  return /^mcpcp_key_[A-Za-z0-9_-]{8,}_[A-Za-z0-9_-]{20,}$/.test(value.trim()) ? undefined : 'an MCP API key looks like mcpcp_key_<id>_<secret> (from `mcpcp team api-key create`)';
}

/** One server as the team service's `GET /status` reports it (the fields used here). */
export interface RemoteServer {
  name: string;
  state: string;
  toolCount: number;
  lastError?: string;
}

export type TeamStatus =
  | { kind: 'ok'; servers: RemoteServer[]; checkedAt: number }
  | { kind: 'no-key' }
  | { kind: 'refused'; status: number; message: string; checkedAt: number }
  | { kind: 'unreachable'; message: string; checkedAt: number };

/**
 * Reads the team service's read-only `GET /status` with the API key (any role; a viewer's key is
 * enough). Never follows a redirect (the key must not go elsewhere); times out after `timeoutMs`.
 */
export async function fetchTeamStatus(origin: string, apiKey: string | undefined, timeoutMs = 10_000): Promise<TeamStatus> {
  if (!apiKey) return { kind: 'no-key' };
  const checkedAt = Date.now();
  let res: Response;
  try {
    res = await fetch(`${origin}/status`, { headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { kind: 'unreachable', message: `${err instanceof Error ? err.message : String(err)}${cause}`, checkedAt };
  }
  const text = await res.text();
  if (res.status !== 200) {
    let message = text.slice(0, 300);
    try {
      const body = JSON.parse(text) as { error?: { message?: string } | string };
      message = typeof body.error === 'string' ? body.error : (body.error?.message ?? message);
    } catch {
      // not JSON: the text as it came
    }
    return { kind: 'refused', status: res.status, message: res.status >= 300 && res.status < 400 ? `redirected to ${res.headers.get('location') ?? '?'} (not followed)` : message.trim(), checkedAt };
  }
  try {
    const body = JSON.parse(text) as { servers?: Array<{ name?: unknown; state?: { kind?: unknown }; toolCount?: unknown; lastError?: unknown }> };
    const servers = (body.servers ?? [])
      .filter((s) => typeof s.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s.name))
      .map((s) => ({
        name: s.name as string,
        state: typeof s.state?.kind === 'string' ? s.state.kind : 'unknown',
        toolCount: typeof s.toolCount === 'number' ? s.toolCount : 0,
        ...(typeof s.lastError === 'string' ? { lastError: s.lastError.slice(0, 500) } : {}),
      }));
    return { kind: 'ok', servers, checkedAt };
  } catch {
    return { kind: 'refused', status: 200, message: 'the answer of /status is not JSON: is this a team MCP Control Plane?', checkedAt };
  }
}

/** The MCP endpoint of a remote server. */
export function remoteMcpUrl(origin: string, server: string): string {
  return `${origin}/mcp/${encodeURIComponent(server)}`;
}

/** The label of a remote server's MCP definition in VS Code (distinct from this window's own servers). */
export function remoteDefinitionLabel(server: string): string {
  return `${server} (team)`;
}

/** A remote server's row in the Servers tree: always marked "remote · <host>". */
export function remoteRow(server: RemoteServer, host: string): { description: string; icon: string; color?: string; tooltip: string } {
  const healthy = server.state === 'running';
  const bad = server.state === 'failed' || server.state === 'crash-looping' || server.state === 'unhealthy';
  return {
    description: `remote · ${host} · ${server.state}${healthy ? `, ${plural(server.toolCount, 'tool')}` : ''}`,
    icon: 'cloud',
    ...(bad ? { color: 'list.errorForeground' } : healthy ? { color: 'testing.iconPassed' } : {}),
    tooltip: `${server.name} on the team control plane ${host}: ${server.state}, ${plural(server.toolCount, 'tool')}${server.lastError ? `\nlast error: ${server.lastError}` : ''}\nState from the service's /status; run and stopped there, not in this window.`,
  };
}

/** The team row of the Servers tree when there are no servers to show: what is wrong and what to do. */
export function teamNotice(status: TeamStatus, host: string): string | undefined {
  switch (status.kind) {
    case 'ok':
      return status.servers.length === 0 ? `Team ${host}: no servers` : undefined;
    case 'no-key':
      return `Team ${host}: set an API key…`;
    case 'refused':
      return status.status === 401 || status.status === 403 ? `Team ${host}: the API key was refused (${status.status}): set another…` : `Team ${host}: ${status.status} ${status.message}`;
    case 'unreachable':
      return `Team ${host}: unreachable (${status.message})`;
  }
}
