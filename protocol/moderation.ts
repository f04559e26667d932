import { z } from 'zod';
import { Grants } from './auth.ts';
import { Empty } from './operations.ts';
import type { OperationTable } from './operations.ts';
import { DisplayName, Id, Source } from './room.ts';

/** Why a moderator removed someone or ended the room: shown to them and to the room. */
export const ModerationReason = z.string().trim().min(1).max(200);

/** What a moderator did, as the room's chat shows it (the author of the message is the moderator). */
export const ModerationNotice = z.object({
  action: z.enum(['mute', 'unlock', 'remove', 'grants']),
  target: z.object({ peerId: Id.optional(), identity: Id.optional(), displayName: DisplayName }).optional(),
  source: Source.optional(),
  /** mute: the target cannot unmute until a moderator unlocks it. */
  locked: z.boolean().optional(),
  reason: z.string().optional(),
});
export type ModerationNotice = z.infer<typeof ModerationNotice>;

/** What a participant may do now: the token's grants as moderators changed them, and the sources locked muted. */
export const SelfState = z.object({ grants: Grants, locks: z.array(Source) });
export type SelfState = z.infer<typeof SelfState>;

/**
 * A user's moderation state in one room (KV `parley-moderation`, key per room and identity): locked sources,
 * grants changed live, and a removal that keeps them out.
 */
export const ModerationState = z.object({
  locks: z.array(Source).default([]),
  grants: Grants.optional(),
  removal: z
    .object({
      /** Epoch ms of the removal: tokens issued before it are refused until `until`. */
      at: z.number(),
      until: z.number(),
      reason: z.string(),
    })
    .optional(),
});
export type ModerationState = z.infer<typeof ModerationState>;

/** Moderator methods (the `moderator` grant); targets are peers of the moderator's own room. */
export const moderationOperations = {
  /** Pauses the target's producer of `source` on the server; `locked`: they cannot resume it themselves. */
  muteParticipant: {
    request: z.object({ peerId: Id, source: Source, locked: z.boolean().default(true) }),
    response: Empty,
    requires: 'moderate',
  },
  /** Lets the target unmute `source` again (it stays muted until they do). */
  unlockParticipant: {
    request: z.object({ peerId: Id, source: Source }),
    response: Empty,
    requires: 'moderate',
  },
  /** Ends the target's membership; they are told why and cannot rejoin with the same token for a while. */
  removeParticipant: {
    request: z.object({ peerId: Id, reason: ModerationReason }),
    response: Empty,
    requires: 'moderate',
  },
  /** Ends the membership of everyone in the room and clears its chat. */
  endRoom: {
    request: z.object({ reason: ModerationReason.optional() }),
    response: Empty,
    requires: 'moderate',
  },
} as const satisfies OperationTable;

/** Sent to a removed participant (or everyone, when the room ended) before their membership ends. */
export const Removed = z.object({ reason: z.string(), by: DisplayName.nullable(), roomEnded: z.boolean() });
export type Removed = z.infer<typeof Removed>;
