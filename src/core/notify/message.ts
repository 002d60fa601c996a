import type { NotifyEvent } from './events';
import { statePhrase, type ServerStateKind } from '../supervisor/state';
import { plural } from '../display/words';

/** A channel-neutral message: what every format renders. All text has passed the redactor. */
export interface NotifyMessage {
  title: string;
  text: string;
  severity: 'critical' | 'warning' | 'good' | 'info';
  facts: Array<[string, string]>;
  /** A link to the approval page (never a button that decides). */
  link?: { title: string; url: string };
  /** Redacted arguments and preview, present only for channels that opt in. */
  detail?: string;
}

export interface MessageOptions {
  publicUrl?: string | undefined;
  includeArguments: boolean;
  redact: (text: string) => string;
}

const MAX_DETAIL = 2_000;

const STATE_KINDS: readonly string[] = ['stopped', 'starting', 'running', 'unhealthy', 'restarting', 'crash-looping', 'failed'] satisfies readonly ServerStateKind[];
const isStateKind = (s: string): s is ServerStateKind => STATE_KINDS.includes(s);
/** "has failed", "is restarting": never "is failed". */
const downPhrase = (state: string): string => (isStateKind(state) ? statePhrase(state) : `is down (${state})`);

/** Renders an event as the message every channel format starts from. */
export function describeEvent(event: NotifyEvent, options: MessageOptions): NotifyMessage {
  const r = options.redact;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const link = (approvalId: string): NotifyMessage['link'] | undefined =>
    options.publicUrl ? { title: 'Open the approval page', url: `${options.publicUrl.replace(/\/+$/, '')}/ui?view=approvals#approval-${encodeURIComponent(approvalId)}` } : undefined;
  let message: NotifyMessage;
  switch (event.type) {
    case 'server.down':
      message = { title: `Server ${event.server} is down`, text: `MCP server "${event.server}" ${downPhrase(event.state)}${event.error ? `: ${event.error}` : ''}.`, severity: 'critical', facts: [['Server', event.server], ['State', event.state], ['Since', iso(event.at)]] };
      break;
    case 'server.crash-looping':
      message = { title: `Server ${event.server} is crash-looping`, text: `MCP server "${event.server}" crashed ${plural(event.crashes, 'time')} in a row and is left stopped until someone restarts it${event.error ? `. Last error: ${event.error}` : ''}.`, severity: 'critical', facts: [['Server', event.server], ['Crashes', String(event.crashes)], ['Since', iso(event.at)]] };
      break;
    case 'server.recovered':
      message = { title: `Server ${event.server} recovered`, text: `MCP server "${event.server}" is running again after ${Math.round((event.at - event.downSince) / 1000)} s down.`, severity: 'good', facts: [['Server', event.server], ['Down since', iso(event.downSince)], ['Running since', iso(event.at)]] };
      break;
    case 'approval.pending': {
      const l = link(event.approvalId);
      message = {
        title: `Approval pending: ${event.tool} on ${event.server}`,
        text: `${event.requester ?? 'A client'} asks to run "${event.tool}" on server "${event.server}" (${event.reason}). It expires at ${iso(event.expiresAt)} unless someone decides.${l ? '' : ' Decide in VS Code, the web UI or with `mcpcp approvals`.'}`,
        severity: 'warning',
        facts: [['Tool', event.tool], ['Server', event.server], ['Requester', event.requester ?? 'unknown'], ['Expires', iso(event.expiresAt)], ['Approval', event.approvalId]],
        ...(l ? { link: l } : {}),
      };
      if (options.includeArguments) {
        const parts = [event.args ? `Arguments: ${JSON.stringify(event.args)}` : '', event.preview ? `Preview:\n${event.preview}` : ''].filter(Boolean).join('\n');
        if (parts) message.detail = parts.length > MAX_DETAIL ? `${parts.slice(0, MAX_DETAIL)}… (${parts.length - MAX_DETAIL} more characters in the approval page)` : parts;
      }
      break;
    }
    case 'approval.decided':
      message = { title: `Approval ${event.decision}: ${event.tool} on ${event.server}`, text: `"${event.tool}" on server "${event.server}" was ${event.decision}${event.by ? ` by ${event.by}` : ''}${event.reason ? `: ${event.reason}` : ''}.`, severity: event.decision === 'approved' ? 'good' : 'info', facts: [['Tool', event.tool], ['Server', event.server], ['Decision', event.decision], ['Approval', event.approvalId]] };
      break;
    case 'approval.expired':
      message = { title: `Approval expired: ${event.tool} on ${event.server}`, text: `Nobody decided on "${event.tool}" on server "${event.server}" in time; the call was refused.`, severity: 'warning', facts: [['Tool', event.tool], ['Server', event.server], ['Approval', event.approvalId]] };
      break;
    case 'audit.write-failed':
      message = { title: 'Audit log write failed', text: `The audit log cannot be written (${event.error}). Every call is refused until it works again; see docs/runbooks.`, severity: 'critical', facts: [['Since', iso(event.at)]] };
      break;
    case 'policy.invalid':
      message = { title: 'Policy file invalid', text: `A policy source could not be loaded; the last valid policy stays in force. ${event.problems.join('; ')}`, severity: 'warning', facts: [['Problems', String(event.problems.length)]] };
      break;
  }
  return {
    ...message,
    title: r(message.title),
    text: r(message.text),
    facts: message.facts.map(([k, v]) => [k, r(v)] as [string, string]),
    ...(message.detail ? { detail: r(message.detail) } : {}),
  };
}
