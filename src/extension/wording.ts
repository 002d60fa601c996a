// What the extension says and offers, as pure functions (no vscode import): unit tests run them in
// Node, and the webviews import the same wording.

import { plural } from '../core/display/words';

/** "1 file", "2 files", "0 servers": the one plural of the product (src/core/display/words.ts). */
export { plural };

/**
 * Who decided an approval, as a person reads it: `vscode-ui (notification)` → "in VS Code (from a
 * notification)", `approver-credential` → "with the approver credential". Unknown values pass through.
 */
export function describeDecider(decidedBy: string | undefined): string {
  if (decidedBy === undefined || decidedBy === '') return 'by nobody';
  const m = /^([a-z-]+)(?: \((.*)\))?$/.exec(decidedBy);
  // Team mode: a person signed in at /ui, named.
  if (m?.[1] === 'ui-session') return m[2] ? `by ${m[2]} (signed in at /ui)` : 'by a person signed in at /ui';
  const where = m?.[1] === 'vscode-ui' ? 'in VS Code' : m?.[1] === 'approver-credential' ? 'with the approver credential' : m?.[1] === 'system' ? 'by the control plane' : undefined;
  if (where === undefined) return `by ${decidedBy}`;
  const name = m?.[2];
  if (name === undefined || name === '') return where;
  return `${where} (${name === 'notification' ? 'from a notification' : name})`;
}

/** "today 14:03:07", "yesterday 09:12:00", "2026-12-04 17:30"; local time, never raw ISO. */
export function humanTime(at: number | string, now: number = Date.now()): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const day = (x: Date): string => `${x.getFullYear()}-${pad(x.getMonth() + 1)}-${pad(x.getDate())}`;
  const today = new Date(now);
  if (day(d) === day(today)) return `today ${clock}`;
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (day(d) === day(yesterday)) return `yesterday ${clock}`;
  return `${day(d)} ${clock.slice(0, 5)}`;
}

/**
 * The buttons of an approval notification, safest first (VS Code makes the first the primary
 * one). A destructive call gets Review only: it is decided on its card, with the preview in sight.
 * Approve is offered only when the whole call fits in the notification (`complete`) and it is not
 * destructive, and never first.
 */
export function notificationButtons(destructive: boolean, complete: boolean): Array<'Review' | 'Reject' | 'Approve'> {
  if (destructive) return ['Review'];
  return complete ? ['Review', 'Reject', 'Approve'] : ['Review', 'Reject'];
}

/** Whether a tool is destructive as the tree shows it: not read-only, and not declared non-destructive. */
export function isDestructiveTool(annotations: { readOnlyHint?: boolean; destructiveHint?: boolean } | undefined): boolean {
  return annotations?.readOnlyHint !== true && annotations?.destructiveHint !== false;
}

/** What a notification button pressed after the approval was decided elsewhere says (it did nothing). */
export function alreadyDecidedText(
  a: { tool: string; server: string; status: string; decidedBy?: string; decidedAt?: number },
  pressed: 'Approve' | 'Reject',
  now: number = Date.now(),
): string {
  const what = a.status === 'expired' ? 'expired' : `was already ${a.status} ${describeDecider(a.decidedBy)}`;
  const when = a.decidedAt !== undefined ? ` at ${humanTime(a.decidedAt, now)}` : '';
  return `${a.tool} on ${a.server} ${what}${when}. Your ${pressed} did nothing.`;
}

/** The states a server row can show; `restricted` and `not connected` are the extension's own. */
export interface ServerRowInput {
  state: string;
  /** The stopped state's reason (blocked servers carry why). */
  reason?: string;
  description: string;
  /** Client sessions the gateway holds for this server. */
  sessions: number;
  /** False in Restricted Mode (an untrusted workspace). */
  trusted: boolean;
  /** The server refuses every call in an untrusted workspace (git reads the workspace's repositories). */
  refusesWhenUntrusted?: boolean;
}

export interface ServerRow {
  description: string;
  /** A codicon id and an optional theme colour id. */
  icon: [string, string | undefined];
  /** Appended to the contextValue (`server.<state>`): `.restricted`, `.unconnected`. */
  flags: string[];
  /** A child row explaining the state, with what to do. */
  hint?: { text: string; action: 'trust' | 'connect' };
}

const ICONS: Record<string, [string, string | undefined]> = {
  running: ['pass-filled', 'testing.iconPassed'],
  starting: ['loading~spin', undefined],
  restarting: ['loading~spin', 'list.warningForeground'],
  unhealthy: ['warning', 'list.warningForeground'],
  'crash-looping': ['error', 'list.errorForeground'],
  failed: ['error', 'list.errorForeground'],
  stopped: ['circle-outline', 'disabledForeground'],
};

/** True when a server is stopped because the workspace is not trusted (Restricted Mode). */
export function isRestricted(state: string, reason: string | undefined): boolean {
  return state === 'stopped' && reason !== undefined && reason.startsWith('the workspace is not trusted');
}

/**
 * One server's row in the tree: Restricted Mode shown as such (not a grey "stopped"), and a running
 * server no client has a session with yet marked "VS Code not connected yet" (VS Code's own list
 * shows it Stopped until then).
 */
export function serverRow(input: ServerRowInput): ServerRow {
  const blocked = isRestricted(input.state, input.reason);
  const refusing = !input.trusted && input.refusesWhenUntrusted === true && input.state !== 'stopped';
  if (blocked || refusing) {
    return {
      description: blocked ? 'restricted · does not start in Restricted Mode' : 'restricted · refuses every call in Restricted Mode',
      icon: ['shield', 'list.warningForeground'],
      flags: ['restricted'],
      hint: { text: 'Restricted Mode: trust this workspace to use it…', action: 'trust' },
    };
  }
  const icon = ICONS[input.state] ?? ['circle-outline', undefined];
  if ((input.state === 'running' || input.state === 'unhealthy') && input.sessions === 0) {
    return {
      description: `${input.description} · VS Code not connected yet`,
      icon,
      flags: ['unconnected'],
      hint: { text: 'VS Code not connected yet (it connects on first use): Connect', action: 'connect' },
    };
  }
  return { description: input.description, icon, flags: [] };
}

/** The secret a server's error says is missing (`secret "name" is not set`), if that is the cause. */
export function missingSecret(lastError: string | undefined): string | undefined {
  return lastError === undefined ? undefined : /secret "([A-Za-z0-9][A-Za-z0-9._-]{0,127})" is not set/.exec(lastError)?.[1];
}

/** The line under a server without tools: why, from its state and last error, not "no tools yet". */
export function noToolsText(state: string, lastError: string | undefined): string {
  const cause = lastError?.split('\n').find((l) => l.trim() !== '')?.trim();
  const short = cause !== undefined && cause.length > 160 ? `${cause.slice(0, 159)}…` : cause;
  if (state === 'failed' || state === 'crash-looping') return `${state === 'failed' ? 'failed to start' : 'crash-looping'}${short ? `: ${short}` : ''}`;
  if (state === 'starting' || state === 'restarting') return 'starting…';
  if (state === 'stopped') return 'stopped: no tools';
  return 'no tools yet';
}
