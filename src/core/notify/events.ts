import type { JsonValue } from '../canonical-json';
import type { NotifyEventType } from './config';

/** What happened, as the notifier receives it from the supervisor, approvals, audit and policy. */
export type NotifyEvent =
  | { type: 'server.down'; server: string; state: string; error?: string; at: number }
  | { type: 'server.crash-looping'; server: string; crashes: number; error?: string; at: number }
  | { type: 'server.recovered'; server: string; downSince: number; at: number }
  | {
      type: 'approval.pending';
      approvalId: string;
      server: string;
      tool: string;
      requester?: string;
      reason: string;
      expiresAt: number;
      /** Redacted display arguments; sent only to channels with `includeArguments`. */
      args?: Readonly<Record<string, JsonValue>>;
      /** Redacted preview text; sent only to channels with `includeArguments`. */
      preview?: string;
      at: number;
    }
  | { type: 'approval.decided'; approvalId: string; server: string; tool: string; decision: 'approved' | 'rejected'; by?: string; reason?: string; at: number }
  | { type: 'approval.expired'; approvalId: string; server: string; tool: string; at: number }
  | { type: 'audit.write-failed'; error: string; at: number }
  | { type: 'policy.invalid'; problems: string[]; at: number };

// A compile-time check that every event type has a config name and back.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _sameTypes: Same<NotifyEvent['type'], NotifyEventType> = true;
void _sameTypes;
