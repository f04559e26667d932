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
  sessionTakeover: (peerId: string) => `${root}.session.${peerId}.takeover`,
  sessionTakeovers: `${root}.session.*.takeover`,
  /** Finished spans of every process, for the trace stores of signaling instances (distributed mode). */
  telemetrySpans: `${root}.telemetry.spans`,
} as const;

export const buckets = {
  /** instanceId → MediaWorkerLoad, refreshed by heartbeats, expiring with the bucket TTL. */
  mediaWorkers: 'parley-media-workers',
  /** roomId → instanceId hosting the room's router. */
  roomPlacement: 'parley-room-placement',
  /** `<roomId>.<instanceId>` → RoomPart: who and what each media-worker instance hosts of a room. */
  roomParts: 'parley-room-parts',
  /** `<roomId>.<peerId>` → PresenceEntry: the lobby. */
  presence: 'parley-presence',
  /** hash of a resume token → SessionRecord. */
  sessions: 'parley-sessions',
} as const;

/** Tokens used in subjects must not contain subject syntax. */
export function isSubjectToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(token);
}
