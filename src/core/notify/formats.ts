import { createHmac } from 'node:crypto';
import type { NotifyEvent } from './events';
import type { NotifyMessage } from './message';

/** One HTTP request to a channel. */
export interface Delivery {
  body: string;
  headers: Record<string, string>;
}

const COLOR = { critical: 'Attention', warning: 'Warning', good: 'Good', info: 'Default' } as const;

/**
 * Microsoft Teams, Workflows "When a Teams webhook request is received": a message whose one
 * attachment is an Adaptive Card (1.4). The only action is Action.OpenUrl to the approval page.
 */
export function teamsPayload(message: NotifyMessage): unknown {
  const body: unknown[] = [
    { type: 'TextBlock', text: message.title, weight: 'Bolder', size: 'Medium', color: COLOR[message.severity], wrap: true },
    { type: 'TextBlock', text: message.text, wrap: true },
    { type: 'FactSet', facts: message.facts.map(([title, value]) => ({ title, value })) },
  ];
  if (message.detail) body.push({ type: 'TextBlock', text: message.detail, wrap: true, fontType: 'Monospace', size: 'Small' });
  const card: Record<string, unknown> = { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body };
  if (message.link) card['actions'] = [{ type: 'Action.OpenUrl', title: message.link.title, url: message.link.url }];
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

/** The Block Kit subset the Slack format uses (a test checks it against `@slack/types`). */
export interface SlackText {
  type: 'mrkdwn';
  text: string;
}
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji?: boolean } }
  | { type: 'section'; text: SlackText }
  | { type: 'section'; fields: SlackText[] };

/** Slack mrkdwn needs &, < and > escaped; everything else is literal. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Slack incoming webhook with Block Kit: header, text, fields, and the approval link as mrkdwn
 * (no buttons: anyone in the channel could press one).
 */
export function slackPayload(message: NotifyMessage): { text: string; blocks: SlackBlock[] } {
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: message.title.slice(0, 150), emoji: false } },
    { type: 'section', text: { type: 'mrkdwn', text: slackEscape(message.text).slice(0, 3000) } },
  ];
  if (message.facts.length > 0) blocks.push({ type: 'section', fields: message.facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${slackEscape(k)}*\n${slackEscape(v)}`.slice(0, 2000) })) });
  if (message.detail) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${slackEscape(message.detail)}\`\`\``.slice(0, 3000) } });
  if (message.link) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${message.link.url}|${slackEscape(message.link.title)}>` } });
  return { text: `${message.title}: ${message.text}`.slice(0, 3000), blocks };
}

/** Header names of the generic webhook (documented for receivers in docs/notifications.md). */
export const WEBHOOK_HEADERS = { timestamp: 'x-mcpcp-timestamp', signature: 'x-mcpcp-signature', event: 'x-mcpcp-event', delivery: 'x-mcpcp-delivery' } as const;

/** `v1=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the channel's signing secret. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The generic JSON body: the message and the event's fields (arguments only when opted in). */
export function webhookBody(deliveryId: string, event: NotifyEvent, message: NotifyMessage, includeArguments: boolean, redactDeep: (value: unknown) => unknown): string {
  const { args: _args, preview: _preview, ...rest } = event as NotifyEvent & { args?: unknown; preview?: unknown };
  const fields = includeArguments ? event : rest;
  return JSON.stringify({ id: deliveryId, type: event.type, at: new Date(event.at).toISOString(), title: message.title, text: message.text, severity: message.severity, facts: Object.fromEntries(message.facts), ...(message.link ? { link: message.link.url } : {}), ...(message.detail ? { detail: message.detail } : {}), event: redactDeep(fields) });
}

