import type { Bus, KvStore, Stream } from '../bus/bus.ts';
import type { EventLog } from '../bus/event-log.ts';
import { ChatHead, ChatMessage, MAX_CHAT_CHARS } from '../protocol/chat.ts';
import type { ChatAuthor } from '../protocol/chat.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { RoomFeedItem } from '../protocol/feed.ts';
import { buckets } from '../protocol/kv.ts';
import type { ModerationNotice } from '../protocol/moderation.ts';
import { streams, subjects } from '../protocol/subjects.ts';
import type { CommunityConfig } from './community-config.ts';

/** A head update that keeps losing the race (a busy room) is tried this often before the message goes anyway. */
const HEAD_ATTEMPTS = 5;

type Stored = Omit<ChatMessage, 'seq'>;
export type Sent = Pick<ChatMessage, 'kind' | 'from' | 'text' | 'moderation'>;

/**
 * Room chat across signaling instances: each message is stored in the chat stream (the newest N per room,
 * within an age limit, so joining or resuming shows what was said), then sent live on the room's feed to every
 * instance with members in the room. A room's head in KV counts its messages for unread counts in the lobby.
 */
export class Chat {
  private constructor(
    private bus: Bus,
    private stream: Stream,
    readonly heads: KvStore,
    private events: EventLog,
  ) {}

  static async open(bus: Bus, config: CommunityConfig['chat'], events: EventLog): Promise<Chat> {
    const stream = await bus.stream(streams.chat.name, {
      subjects: [...streams.chat.subjects],
      maxMsgsPerSubject: config.historyMessages,
      maxAgeMs: config.historyMaxAgeMs,
    });
    // A head outlives the history it counts by nothing: once the room's messages aged out, it starts again.
    const heads = await bus.kv(buckets.chatHeads, { ttlMs: config.historyMaxAgeMs || undefined });
    return new Chat(bus, stream, heads, events);
  }

  /** Checks, stores and fans out one message; resolves with it as everyone receives it. */
  async send(roomId: string, message: Sent): Promise<ChatMessage> {
    const text = message.text.trim();
    if (message.kind === 'text' && text.length === 0) throw new ParleyError('BAD_REQUEST', 'an empty chat message');
    if ([...text].length > MAX_CHAT_CHARS) {
      throw new ParleyError('PAYLOAD_TOO_LARGE', `chat messages are limited to ${MAX_CHAT_CHARS} characters`);
    }
    const stored: Stored = { ...message, text, id: crypto.randomUUID(), roomId, sentAt: Date.now() };
    const seq = await this.stream.publish(subjects.chat(roomId), stored, { msgId: stored.id });
    const sent: ChatMessage = { ...stored, seq };
    // Stored is sent: a head that cannot be counted only costs the lobby's unread count this message.
    await this.countIn(roomId).catch((err: unknown) => console.warn(`[signaling] chat head of ${roomId}:`, err));
    this.publishFeed(roomId, { type: 'chat', message: sent });
    this.events.record({
      id: `chat_message.${sent.id}`,
      event: 'chat_message',
      createdAt: sent.sentAt,
      room: { roomId },
      message: sent,
    });
    return sent;
  }

  /** A moderator's action, for the room to see and for its history. */
  notice(roomId: string, by: ChatAuthor | null, notice: ModerationNotice): Promise<ChatMessage> {
    return this.send(roomId, { kind: 'moderation', from: by, text: '', moderation: notice });
  }

  async history(roomId: string, afterSeq?: number): Promise<ChatMessage[]> {
    const stored = await this.stream.read(subjects.chat(roomId), { afterSeq });
    return stored.flatMap((m) => {
      const message = ChatMessage.safeParse({ ...(m.data as object), seq: m.seq });
      return message.success ? [message.data] : [];
    });
  }

  /** The room ended: its history and head go. */
  async clear(roomId: string): Promise<void> {
    await Promise.all([this.stream.purge(subjects.chat(roomId)), this.heads.delete(roomId)]);
  }

  publishFeed(roomId: string, item: RoomFeedItem): void {
    this.bus.publish(subjects.roomFeed(roomId), item);
  }

  /** One more message in the room's head (compare-and-set, since several instances count at once). */
  private async countIn(roomId: string): Promise<void> {
    for (let attempt = 0; attempt < HEAD_ATTEMPTS; attempt++) {
      const entry = await this.heads.get(roomId);
      const head = ChatHead.safeParse(entry?.value).data;
      const now = Date.now();
      const next: ChatHead = { count: (head?.count ?? 0) + 1, epoch: head?.epoch ?? now, lastAt: now };
      try {
        if (entry) await this.heads.update(roomId, next, entry.revision);
        else await this.heads.create(roomId, next);
        return;
      } catch (err) {
        if (!(err instanceof ParleyError && err.code === 'CONFLICT')) throw err;
      }
    }
    // The message is stored and goes out; only the lobby's unread count misses it.
    console.warn(`[signaling] chat head of ${roomId} busy; one message not counted`);
  }
}
