// Text formatting for the UI. Pure: no DOM, so unit tests run it in Node.

/** "0.4 ms", "12 ms", "1.3 s", "2m 5s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms);
}

/** "42s", "3m 2s", "5h 1m", "2d 3h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** 0..1 as "0%", "2.5%", "40%". */
export function formatPercent(rate: number): string {
  if (!Number.isFinite(rate) || rate <= 0) return '0%';
  const pct = rate * 100;
  return `${pct < 10 ? pct.toFixed(1).replace(/\.0$/, '') : Math.round(pct)}%`;
}

/** A statistics window: "15 min", "1 h", "24 h". */
export function formatWindow(ms: number): string {
  const min = Math.round(ms / 60_000);
  return min < 60 ? `${min} min` : `${Math.round(min / 60)} h`;
}

/** "4:07" until an expiry; "0:00" when past. */
export function formatCountdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", or a date for older. */
export function formatAgo(at: number, now: number): string {
  const s = Math.round((now - at) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  // Older: the local date (an ISO date would be UTC's, a day off near midnight).
  const d = new Date(at);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "14:03:07" in local time. */
export function formatClock(at: number | string): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** "policy.yaml #3 (no-force-push)", "default". */
export function formatRule(rule: { source: string; index?: number; id?: string } | undefined): string {
  if (rule === undefined) return 'default';
  return `${rule.source}${rule.index !== undefined ? ` #${rule.index + 1}` : ''}${rule.id !== undefined ? ` (${rule.id})` : ''}`;
}

/** "copilot 1.2.3", "unknown client". */
export function formatClient(client: { name: string; version?: string } | undefined): string {
  if (client === undefined) return 'unknown client';
  return client.version !== undefined ? `${client.name} ${client.version}` : client.name;
}

/** "1 approval", "3 approvals". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
