/** How a child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: number;
}

/**
 * The state of one supervised server. Each variant carries the data that is true in it; the tree,
 * the status bar, the dashboard and `mcpcp status` render this and nothing else.
 */
export type ServerState =
  | { kind: 'stopped'; reason?: string }
  | { kind: 'starting'; pid?: number; since: number }
  | { kind: 'running'; pid?: number; startedAt: number; toolCount: number }
  | { kind: 'unhealthy'; pid?: number; startedAt: number; toolCount: number; missedPings: number }
  | { kind: 'restarting'; attempt: number; delayMs: number; nextStartAt: number }
  | { kind: 'crash-looping'; crashes: number; since: number }
  | { kind: 'failed'; error: string; code: string };

export type ServerStateKind = ServerState['kind'];

/** A server's state plus what outlives a single state: restarts, the last exit and error. */
export interface ServerStatus {
  name: string;
  builtin: boolean;
  state: ServerState;
  restarts: number;
  lastExit?: ExitInfo;
  lastError?: string;
  /** Number of tools of the running child, or of the last one that ran. */
  toolCount: number;
}

/** One-line description: "running · up 3m 2s · 1 restart". */
export function describeStatus(status: ServerStatus, now: number = Date.now()): string {
  const s = status.state;
  const parts: string[] = [s.kind];
  if (s.kind === 'running' || s.kind === 'unhealthy') parts.push(`up ${formatDuration(now - s.startedAt)}`);
  if (s.kind === 'restarting') parts.push(`retry in ${formatDuration(Math.max(0, s.nextStartAt - now))}`);
  if (status.restarts > 0) parts.push(`${status.restarts} restart${status.restarts === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * A state as the end of a sentence about a server: "has failed", "is crash-looping", "is still
 * starting". Never "is failed".
 */
export function statePhrase(kind: ServerStateKind): string {
  switch (kind) {
    case 'failed':
      return 'has failed';
    case 'starting':
      return 'is still starting';
    case 'unhealthy':
      return 'is unhealthy (not answering pings)';
    case 'restarting':
      return 'is restarting';
    case 'crash-looping':
      return 'is crash-looping';
    case 'stopped':
      return 'is stopped';
    case 'running':
      return 'is running';
  }
}

/** True for the states in which the child answers requests. */
export function isServing(state: ServerState): state is Extract<ServerState, { kind: 'running' | 'unhealthy' }> {
  return state.kind === 'running' || state.kind === 'unhealthy';
}
