// Compile-time check (run by `tsc --noEmit` over test/**): what the Slack format produces is
// Block Kit as @slack/types defines it. A block the Slack API would not know fails the typecheck.
import type { HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import { slackPayload, type SlackBlock } from '../../../src/core/notify/formats';

type Payload = ReturnType<typeof slackPayload>;
export const blockIsKnown = (block: SlackBlock): KnownBlock => block;
export const payloadIsWebhookMessage = (payload: Payload): { text: string; blocks: KnownBlock[] } => payload;
export const headerIsHeader = (block: Extract<SlackBlock, { type: 'header' }>): HeaderBlock => block;
export const sectionIsSection = (block: Extract<SlackBlock, { type: 'section' }>): SectionBlock => block;
