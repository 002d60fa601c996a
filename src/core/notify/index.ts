export { NOTIFY_EVENT_TYPES, notificationsConfigSchema, notifyChannelSchema, type NotificationsConfig, type NotifyChannelConfig, type NotifyEventType } from './config';
export type { NotifyEvent } from './events';
export { slackPayload, teamsPayload, webhookSignature, WEBHOOK_HEADERS } from './formats';
export { describeEvent, type NotifyMessage } from './message';
export { Notifier, type ChannelStatus, type NotifierOptions } from './notifier';
export { ServerAlerts, watchNotifySources, type NotifySources } from './sources';
