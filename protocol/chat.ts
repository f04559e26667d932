import { z } from 'zod';
import { MAX_CLIENT_MESSAGE_BYTES } from './limits.ts';
import type { OperationTable } from './operations.ts';
import { DisplayName, Id, RoomId } from './room.ts';
import { ModerationNotice } from './moderation.ts';

/** Characters (code points) in one chat message; longer ones are refused with PAYLOAD_TOO_LARGE. */
export const MAX_CHAT_CHARS = 2000;

/** Who wrote a message; a system message (from the admin API) has none. */
export const ChatAuthor = z.object({ peerId: Id.optional(), identity: Id.optional(), displayName: DisplayName });
export type ChatAuthor = z.infer<typeof ChatAuthor>;

/**
 * One message of a room's chat, as it is stored and delivered. `text` is plain text: clients render it as
 * text, never as markup. `moderation` messages record a moderator's action for everyone to see.
 */
export const ChatMessage = z.object({
  /** The chat stream's sequence: increasing across rooms; `chatHistory {afterSeq}` continues from one. */
  seq: z.number().int().positive(),
  id: z.string().max(64),
  roomId: RoomId,
  kind: z.enum(['text', 'system', 'moderation']),
  from: ChatAuthor.nullable(),
  text: z.string(),
  moderation: ModerationNotice.optional(),
  /** Epoch ms. */
  sentAt: z.number(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** A room's chat head (KV `parley-chat-heads`): how many messages it has had, for unread counts in the lobby. */
export const ChatHead = z.object({
  count: z.number().int().nonnegative(),
  /** When this count started (a head that expired starts again from 0 with a new epoch). */
  epoch: z.number(),
  lastAt: z.number(),
});
export type ChatHead = z.infer<typeof ChatHead>;

/** Chat methods of a joined peer. */
export const chatOperations = {
  /** Sends a message to everyone in the room (rate-limited per connection). */
  sendChat: {
    // The frame limit bounds it here; the chat limit (MAX_CHAT_CHARS) is checked with its own error.
    request: z.object({ text: z.string().max(MAX_CLIENT_MESSAGE_BYTES) }),
    response: z.object({ message: ChatMessage }),
    requires: 'chat',
  },
  /** The room's kept messages (the newest, within the age limit), or those after `afterSeq` (after a resume). */
  chatHistory: {
    request: z.object({ afterSeq: z.number().int().nonnegative().optional() }),
    response: z.object({ messages: z.array(ChatMessage) }),
    requires: 'member',
  },
} as const satisfies OperationTable;
