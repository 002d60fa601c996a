import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors';
import type { NotificationsConfig, NotifyChannelConfig } from './config';
import type { NotifyEvent } from './events';
import { slackPayload, teamsPayload, WEBHOOK_HEADERS, webhookBody, webhookSignature, type Delivery } from './formats';
import { describeEvent } from './message';
import { plural } from '../display/words';

/** What the notifier shows of one channel (never its URL). */
export interface ChannelStatus {
  name: string;
  type: NotifyChannelConfig['type'];
  queued: number;
  delivered: number;
  /** Events given up on after `maxAttempts` or a permanent refusal (4xx). */
  failed: number;
  /** Events dropped because the queue was full (the oldest go first). */
  dropped: number;
  retries: number;
  lastError?: string;
  lastErrorAt?: number;
  lastDeliveredAt?: number;
}

export interface NotifierOptions {
  config: NotificationsConfig;
  /** Expands a `${secret:name}` reference; must tell the redactor the value. */
  resolveSecret: (reference: string) => Promise<string>;
  /** Text redaction (string) and deep redaction (JSON values), from the control plane's redactor. */
  redact: (text: string) => string;
  redactDeep: (value: unknown) => unknown;
  log?: (message: string) => void;
  /** Counts each delivery outcome (for metrics). */
  onDelivery?: (channel: string, outcome: 'delivered' | 'retried' | 'failed' | 'dropped') => void;
}

interface Queued {
  id: string;
  event: NotifyEvent;
  attempts: number;
}

class PermanentFailure extends Error {}

/** One channel's queue and worker: one request in flight, retries with backoff, bounded. */
class Channel {
  readonly queue: Queued[] = [];
  readonly status: ChannelStatus;
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly name: string, readonly config: NotifyChannelConfig, private readonly owner: NotifierOptions) {
    this.status = { name, type: config.type, queued: 0, delivered: 0, failed: 0, dropped: 0, retries: 0 };
  }

  accepts(event: NotifyEvent): boolean {
    return this.config.events === undefined || this.config.events.includes(event.type);
  }

  push(event: NotifyEvent): void {
    if (this.closed) return;
    this.queue.push({ id: randomUUID(), event, attempts: 0 });
    while (this.queue.length > this.owner.config.queueSize) {
      // The oldest waiting event goes; one being sent stays at the head while busy.
      const index = this.busy && this.queue.length > 1 ? 1 : 0;
      this.queue.splice(index, 1);
      this.status.dropped++;
      this.owner.onDelivery?.(this.name, 'dropped');
    }
    this.status.queued = this.queue.length;
    this.kick();
  }

  private kick(): void {
    if (this.busy || this.timer || this.closed || this.queue.length === 0) return;
    this.busy = true;
    void this.sendHead().finally(() => {
      this.busy = false;
      this.status.queued = this.queue.length;
      this.kick();
    });
  }

  private async sendHead(): Promise<void> {
    const item = this.queue[0]!;
    item.attempts++;
    try {
      await this.deliver(item);
      this.queue.shift();
      this.status.delivered++;
      this.status.lastDeliveredAt = Date.now();
      this.owner.onDelivery?.(this.name, 'delivered');
    } catch (err) {
      const message = this.owner.redact(errorMessage(err));
      this.status.lastError = message;
      this.status.lastErrorAt = Date.now();
      const permanent = err instanceof PermanentFailure;
      if (permanent || item.attempts >= this.owner.config.maxAttempts) {
        this.queue.shift();
        this.status.failed++;
        this.owner.onDelivery?.(this.name, 'failed');
        this.owner.log?.(`notifications: channel "${this.name}" gave up on ${item.event.type} after ${plural(item.attempts, 'attempt')}: ${message}`);
        return;
      }
      this.status.retries++;
      this.owner.onDelivery?.(this.name, 'retried');
      const base = Math.min(this.owner.config.retryBaseMs * 2 ** (item.attempts - 1), 300_000);
      const delay = Math.round(base / 2 + Math.random() * (base / 2));
      this.owner.log?.(`notifications: channel "${this.name}" could not deliver ${item.event.type} (attempt ${item.attempts}): ${message}; retrying in ${delay} ms`);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, delay);
      this.timer.unref();
    }
  }

  private async deliver(item: Queued): Promise<void> {
    const { config, owner } = this;
    const message = describeEvent(item.event, { publicUrl: owner.config.publicUrl, includeArguments: config.includeArguments, redact: owner.redact });
    let delivery: Delivery;
    if (config.type === 'teams') delivery = { body: JSON.stringify(teamsPayload(message)), headers: {} };
    else if (config.type === 'slack') delivery = { body: JSON.stringify(slackPayload(message)), headers: {} };
    else {
      const body = webhookBody(item.id, item.event, message, config.includeArguments, owner.redactDeep);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const key = await owner.resolveSecret(config.signingSecret!);
      delivery = {
        body,
        headers: { [WEBHOOK_HEADERS.timestamp]: timestamp, [WEBHOOK_HEADERS.signature]: webhookSignature(key, timestamp, body), [WEBHOOK_HEADERS.event]: item.event.type, [WEBHOOK_HEADERS.delivery]: item.id },
      };
    }
    const url = await owner.resolveSecret(config.url);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'mcp-control-plane', ...delivery.headers },
        body: delivery.body,
        signal: AbortSignal.timeout(owner.config.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      throw new Error(`request failed: ${errorMessage(err)}${cause ? ` (${errorMessage(cause)})` : ''}`);
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return;
    const summary = `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new PermanentFailure(summary);
    throw new Error(summary);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Sends operator notifications to the configured channels. `publish` never blocks and never
 * throws: each channel has its own bounded queue (the oldest event is dropped and counted when
 * full), one request in flight, and retries with exponential backoff and jitter. Failures show
 * in `status()`, the log and `onDelivery`.
 */
export class Notifier {
  private readonly channels: Channel[];

  constructor(private readonly options: NotifierOptions) {
    this.channels = Object.entries(options.config.channels).map(([name, c]) => new Channel(name, c, options));
  }

  get enabled(): boolean {
    return this.channels.length > 0;
  }

  publish(event: NotifyEvent): void {
    for (const channel of this.channels) {
      try {
        if (channel.accepts(event)) channel.push(event);
      } catch (err) {
        this.options.log?.(`notifications: ${errorMessage(err)}`);
      }
    }
  }

  status(): ChannelStatus[] {
    return this.channels.map((c) => ({ ...c.status, queued: c.queue.length }));
  }

  /** Stops retry timers; queued events are dropped (they are in the audit log anyway). */
  close(): void {
    for (const c of this.channels) c.close();
  }
}
