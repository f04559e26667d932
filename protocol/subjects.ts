import { MEDIA_PROTOCOL_VERSION } from './media.ts';
import type { MediaCommand } from './media.ts';

/** Every NATS subject and KV bucket name the tiers share; nothing else builds subject strings. */
const root = `parley.v${MEDIA_PROTOCOL_VERSION}`;

export const subjects = {
  /** Commands for one media-worker instance. */
  mediaCommand: (instanceId: string, command: MediaCommand) => `${root}.media.${instanceId}.${command}`,
  /** What an instance subscribes to for all its commands. */
  mediaCommands: (instanceId: string) => `${root}.media.${instanceId}.*`,
  /** Room events published by the media worker that hosts the room. */
  roomEvents: (roomId: string) => `${root}.room.${roomId}.events`,
  /** A membership was resumed on another signaling instance. */
  membershipTakeover: (peerId: string) => `${root}.session.${peerId}.takeover`,
  membershipTakeovers: `${root}.session.*.takeover`,
  /** A room's feed between signaling instances: chat as sent, moderation (protocol/feed.ts). */
  roomFeed: (roomId: string) => `${root}.room.${roomId}.feed`,
  /** Where a room's chat messages are stored (the chat stream). */
  chat: (roomId: string) => `${root}.chat.${roomId}`,
  /** Where webhook events are recorded (the events stream), by room and type. */
  event: (roomId: string, type: string) => `${root}.events.${roomId}.${type}`,
  /** Finished spans of every process, for the trace stores of signaling instances (distributed mode). */
  telemetrySpans: `${root}.telemetry.spans`,
  /** Every media-worker's unhealthy verdicts, once a second, for the incident correlator. */
  doctorVerdicts: `${root}.doctor.verdicts`,
} as const;

/** The JetStream streams the tiers share, with the subjects each stores. */
export const streams = {
  /** Every room's chat: the newest messages per room within an age limit. */
  chat: { name: 'parley-chat', subjects: [`${root}.chat.*`] },
  /** Webhook events until every endpoint has them (or gave up on them). */
  events: { name: 'parley-events', subjects: [`${root}.events.*.*`] },
  /** Webhook events an endpoint refused for good or that ran out of attempts, per endpoint. */
  deadLetters: { name: 'parley-dead-letters', subjects: [`${root}.dead.*`], prefix: `${root}.dead` },
} as const;

/** Tokens used in subjects must not contain subject syntax. */
export function isSubjectToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(token);
}
