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
  /** Finished spans of every process, for the trace stores of signaling instances (distributed mode). */
  telemetrySpans: `${root}.telemetry.spans`,
  /** Every media-worker's unhealthy verdicts, once a second, for the incident correlator. */
  doctorVerdicts: `${root}.doctor.verdicts`,
} as const;

/** Tokens used in subjects must not contain subject syntax. */
export function isSubjectToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(token);
}
