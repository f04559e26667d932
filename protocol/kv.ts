import { createHash } from 'node:crypto';
import { DEFAULT_REGION } from './regions.ts';

/**
 * The JetStream KV buckets the tiers share, and how each one's keys are built and read. Nothing else builds
 * or parses a key. Room, peer and instance ids are subject tokens (no dots), so `.` separates key parts.
 */
export const buckets = {
  /** instanceId → MediaWorkerLoad, refreshed by heartbeats, expiring with the bucket TTL. */
  mediaWorkers: 'parley-media-workers',
  /** placementKey → instanceId hosting the room's part in a region (a room has one home per region it spans). */
  roomPlacement: 'parley-room-placement',
  /** roomPartKey → RoomPart: who and what each media-worker instance hosts of a room. */
  roomParts: 'parley-room-parts',
  /** presenceKey → PresenceEntry: the lobby. Regional: one bucket per region (regionalBucket), all read. */
  presence: 'parley-presence',
  /** membershipKey (the hash of a resume token) → MembershipRecord. Regional: the session's region's bucket. */
  memberships: 'parley-memberships',
  /** incident id → Incident (open and recently ended). */
  incidents: 'parley-incidents',
  /** `leader` → the signaling instance that correlates incidents now (a lease: its bucket's TTL ends it). */
  correlator: 'parley-correlator',
  /** roomId → RoomRecord: rooms that started (by a join or the admin API) and have not finished. */
  rooms: 'parley-rooms',
  /** moderationKey → ModerationState: a user's locks, changed grants and removal in one room. */
  moderation: 'parley-moderation',
  /** roomId → ChatHead: how many messages a room has had, for unread counts. */
  chatHeads: 'parley-chat-heads',
} as const;

/**
 * The buckets every region keeps for itself, in its own NATS cluster (named for the region: docs/deploy.md): what
 * a join and every heartbeat write per participant, so neither crosses to another region, and a region cut off from
 * the others still has them. Presence is read from every region's (the lobby is global); a membership record is
 * looked for in another region's only when a session resumes in a region other than its own.
 */
export const regionalBuckets = [buckets.presence, buckets.memberships] as const;
export type RegionalBucket = (typeof regionalBuckets)[number];

/** The default region's keeps the plain name: a deployment that never names regions keeps its buckets and permissions. */
export function regionalBucket(bucket: RegionalBucket, region: string): string {
  return region === DEFAULT_REGION ? bucket : `${bucket}-${region}`;
}

/** Identities are free text: the key carries them base64url-encoded (KV keys allow only a few characters). */
export function moderationKey(roomId: string, identity: string): string {
  const bytes = new TextEncoder().encode(identity);
  const b64 = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  return `${roomId}.${b64}`;
}

export function placementKey(roomId: string, region: string): string {
  return `${roomId}.${region}`;
}

export function roomPartKey(roomId: string, instanceId: string): string {
  return `${roomId}.${instanceId}`;
}

/** What every key of one room's parts starts with. */
export function roomPartsPrefix(roomId: string): string {
  return `${roomId}.`;
}

export function parseRoomPartKey(key: string): { roomId: string; instanceId: string } | undefined {
  const [roomId, instanceId, extra] = key.split('.');
  return roomId && instanceId && extra === undefined ? { roomId, instanceId } : undefined;
}

export function presenceKey(roomId: string, peerId: string): string {
  return `${roomId}.${peerId}`;
}

export function parsePresenceKey(key: string): { roomId: string; peerId: string } | undefined {
  const [roomId, peerId, extra] = key.split('.');
  return roomId && peerId && extra === undefined ? { roomId, peerId } : undefined;
}

/**
 * A membership record is found by the SHA-256 of its resume token (hex), never by the token itself. node:crypto
 * (Node and Deno both have it) hashes at once: WebCrypto's digest is a thread-pool job, ≈ 4 % of signaling's CPU
 * in a burst of joins.
 */
export function membershipKey(resumeToken: string): string {
  return createHash('sha256').update(resumeToken).digest('hex');
}
