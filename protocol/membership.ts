import { z } from 'zod';
import { Grants } from './auth.ts';
import { DisplayName, Id, RoomId, Source } from './room.ts';

/**
 * A room membership as any signaling instance can pick it up: stored in KV under the hash of its resume
 * token while the membership lives (refreshed by heartbeats, expiring with the resume grace period).
 */
export const MembershipRecord = z.object({
  roomId: RoomId,
  peerId: Id,
  mediaInstanceId: Id,
  identity: Id,
  displayName: DisplayName,
  grants: Grants,
  /** producerId → what it carries, so presence stays right after a resume. */
  producers: z.record(z.string(), z.object({ source: Source, paused: z.boolean() })),
});
export type MembershipRecord = z.infer<typeof MembershipRecord>;

/** Published by the instance that resumed a membership, so the one that held it lets go. */
export const Takeover = z.object({ peerId: Id, by: Id });
export type Takeover = z.infer<typeof Takeover>;
