/** What the Kubernetes server exposes, from its environment (the supervisor passes these through). */
export interface K8sServerOptions {
  /** Context name patterns (`*` wildcard) the tools may use; undefined: every context. */
  readonly contexts: readonly string[] | undefined;
  /** Namespace patterns namespaced calls may use; undefined: every namespace. */
  readonly namespaces: readonly string[] | undefined;
  /** Only read-only tools are listed. */
  readonly readOnly: boolean;
  /** Act as the calling principal (Impersonate-User / Impersonate-Group) on every API request. */
  readonly impersonate?: boolean;
}

/** The field manager of every write (server-side apply and updates). */
export const FIELD_MANAGER = 'mcp-control-plane';

/**
 * MCPCP_K8S_CONTEXTS and MCPCP_K8S_NAMESPACES: comma-separated patterns (`prod-*`), default all;
 * MCPCP_K8S_READ_ONLY=1 lists only read-only tools; MCPCP_K8S_IMPERSONATE=1 acts as the calling
 * principal (docs/deploy.md).
 */
export function k8sOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): K8sServerOptions {
  return {
    contexts: patterns(env['MCPCP_K8S_CONTEXTS']),
    namespaces: patterns(env['MCPCP_K8S_NAMESPACES']),
    readOnly: env['MCPCP_K8S_READ_ONLY'] === '1' || env['MCPCP_K8S_READ_ONLY'] === 'true',
    impersonate: env['MCPCP_K8S_IMPERSONATE'] === '1' || env['MCPCP_K8S_IMPERSONATE'] === 'true',
  };
}

function patterns(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '' || value.trim() === '*') return undefined;
  return value.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Whether `name` matches one of `patterns` (undefined matches everything). */
export function allowedBy(patterns: readonly string[] | undefined, name: string): boolean {
  if (patterns === undefined) return true;
  return patterns.some((p) => new RegExp(`^${p.split('*').map(escape).join('.*')}$`).test(name));
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
