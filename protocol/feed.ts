import { z } from 'zod';
import { ChatMessage } from './chat.ts';
import { Grants } from './auth.ts';
import { Removed } from './moderation.ts';
import { Id, Source } from './room.ts';

/**
 * What signaling instances tell each other about a room on its feed subject (plain pub/sub): chat as it is
 * sent, a user's changed grants or locks, removals. Chat is also stored (the chat stream), so a connection
 * that missed some reads them back with `chatHistory`; moderation state lives in KV and is read at (re)join.
 */
export const RoomFeedItem = z.discriminatedUnion('type', [
  z.object({ type: z.literal('chat'), message: ChatMessage }),
  /** A user's locked sources, and grants when a moderator replaced them. */
  z.object({ type: z.literal('self'), identity: Id, locks: z.array(Source), grants: Grants.optional() }),
  /** `peerId` null: everyone in the room (the room ended). */
  z.object({ type: z.literal('remove'), peerId: Id.nullable(), removed: Removed }),
]);
export type RoomFeedItem = z.infer<typeof RoomFeedItem>;
