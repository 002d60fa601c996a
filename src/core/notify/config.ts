import { z } from 'zod';

/** Events a channel can receive; a channel's `events` filter names some of them. */
export const NOTIFY_EVENT_TYPES = [
  'server.down',
  'server.crash-looping',
  'server.recovered',
  'approval.pending',
  'approval.decided',
  'approval.expired',
  'audit.write-failed',
  'policy.invalid',
] as const;
export type NotifyEventType = (typeof NOTIFY_EVENT_TYPES)[number];

const secretReference = z
  .string()
  .regex(/^\$\{secret:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\}$/, 'must be a secret reference, `${secret:name}`: a webhook URL or signing key is a credential (anyone holding it can post to the channel), so it lives in the secret store, never in settings');

export const notifyChannelSchema = z
  .object({
    type: z
      .enum(['teams', 'slack', 'webhook'])
      .describe('`teams`: a Microsoft Teams Workflows webhook (Adaptive Card); `slack`: a Slack incoming webhook (Block Kit); `webhook`: generic JSON signed with HMAC-SHA256 (see docs/notifications.md).'),
    url: secretReference.describe('The webhook URL, as `${secret:name}`.'),
    signingSecret: secretReference.optional().describe('For `webhook`: the HMAC-SHA256 key, as `${secret:name}`.'),
    events: z
      .array(z.enum(NOTIFY_EVENT_TYPES))
      .min(1)
      .optional()
      .describe('Only these events go to the channel (default: all).'),
    includeArguments: z
      .boolean()
      .default(false)
      .describe('Send a pending approval\'s (redacted) arguments and preview to this channel. Off by default: anyone in the channel reads them.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.type === 'webhook' && c.signingSecret === undefined) ctx.addIssue({ code: 'custom', path: ['signingSecret'], message: 'a `webhook` channel needs `signingSecret` so receivers can tell its messages from forgeries' });
    if (c.type !== 'webhook' && c.signingSecret !== undefined) ctx.addIssue({ code: 'custom', path: ['signingSecret'], message: `a \`${c.type}\` channel is not signed; remove \`signingSecret\`` });
  });

export const notificationsConfigSchema = z
  .object({
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Where people reach this control plane\'s web UI (e.g. `https://mcp.example.com`); approval messages then link to `<publicUrl>/ui?view=approvals`.'),
    channels: z
      .record(z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'a channel name is lower-case letters, digits and dashes'), notifyChannelSchema)
      .default({})
      .describe('Notification channels by name. Operator configuration only (user settings or `--config`), never a workspace file.'),
    queueSize: z.number().int().min(1).max(100_000).default(1_000).describe('Events each channel holds while its receiver is unreachable; beyond it the oldest is dropped (and counted).'),
    maxAttempts: z.number().int().min(1).max(20).default(6).describe('Delivery attempts per event before it counts as failed.'),
    retryBaseMs: z.number().int().min(10).default(1_000).describe('First retry delay; doubles each attempt (with jitter), at most 5 minutes.'),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe('Longest one delivery attempt may take.'),
    downAfterMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('A server restarting after a crash alerts as down only if it is not running again within this time (crash-looping and failed alert at once).'),
  })
  .strict();

export type NotifyChannelConfig = z.infer<typeof notifyChannelSchema>;
export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;
