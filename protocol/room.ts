import { z } from 'zod';
import { ParleyError } from './errors.ts';

/** Who and what is in a room: the ids, names and media descriptions every tier passes around. */

export const MediaKind = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof MediaKind>;

/** What a producer carries; grants and the UI are expressed in sources, not kinds. */
export const Source = z.enum(['microphone', 'camera', 'screen', 'screen-audio']);
export type Source = z.infer<typeof Source>;

/**
 * The one kind each source carries. A `produce` whose kind is not its source's is FORBIDDEN: grants are per
 * source, so a microphone-only token must not publish video labelled "microphone".
 */
export const SOURCE_KIND: Record<Source, MediaKind> = {
  microphone: 'audio',
  'screen-audio': 'audio',
  camera: 'video',
  screen: 'video',
};

/** Checked by signaling and again by the media worker (which any holder of a signaling credential can reach). */
export function assertSourceKind(source: Source, kind: MediaKind): void {
  if (SOURCE_KIND[source] !== kind) throw new ParleyError('FORBIDDEN', `${source} is ${SOURCE_KIND[source]}, not ${kind}`);
}

/** Room names appear in NATS subjects and KV keys, so they are restricted to a safe alphabet. */
export const RoomId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'room must be 1-64 letters, digits, - or _');
export const DisplayName = z.string().trim().min(1).max(64);
export const Id = z.string().min(1).max(64);

export const PeerInfo = z.object({ id: Id, displayName: DisplayName });
export type PeerInfo = z.infer<typeof PeerInfo>;

export const ProducerInfo = z.object({ id: Id, peerId: Id, kind: MediaKind, source: Source, paused: z.boolean() });
export type ProducerInfo = z.infer<typeof ProducerInfo>;
