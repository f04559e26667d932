import type { Context } from '@opentelemetry/api';
import type { ChatHead, ChatMessage } from '../protocol/chat.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { LobbyRoom } from '../protocol/presence.ts';
import type { CallDeps } from './deps.ts';
import { ConnectionClosed } from './socket.ts';

/** Messages kept in the state; the server keeps a room's newest few hundred anyway. */
const KEPT = 1000;
/**
 * When a history read that found the store out of reach (a region cut off from it, or its JetStream still electing a
 * leader as the link returns) is tried again: after 1 s, 2 s, then every 4 s for a minute.
 */
const RETRY_MS = [1_000, 2_000, ...Array<number>(15).fill(4_000)];
/** The store or the server behind it is out of reach for now, not refusing us. */
const TRANSIENT = new Set(['STORE_UNAVAILABLE', 'TIMEOUT', 'UNAVAILABLE']);

/**
 * A room's chat on the client: the history the server kept, then every message as it comes, in the order the
 * server stored them (a message that arrives twice, live and in a history read, is kept once). After a
 * reconnect the history is read again, so nothing sent while we were away is missing.
 */
export class RoomChat {
  private retry?: ReturnType<typeof setTimeout>;

  constructor(private deps: CallDeps) {}

  /** Reads the room's history and merges it with what we have. */
  async load(trace?: Context): Promise<void> {
    const { messages } = await this.deps.signaling.request('chatHistory', {}, trace);
    this.merge(messages);
  }

  /**
   * Reads the history, again after a while as long as the store is out of reach: after a join or resume, and when
   * a link to another region returns (what was said across it while cut never came live). A newer catch-up or
   * `stop` ends the retries.
   */
  catchUp(trace?: Context, attempt = 0): void {
    clearTimeout(this.retry);
    this.load(trace).catch((err: unknown) => {
      // The resume on the next connection reads it again.
      if (err instanceof ConnectionClosed) return;
      const transient = err instanceof ParleyError && TRANSIENT.has(err.code);
      if (!transient || attempt === RETRY_MS.length) return console.warn('[parley] chat history failed', err);
      this.retry = setTimeout(() => this.catchUp(trace, attempt + 1), RETRY_MS[attempt]);
    });
  }

  stop(): void {
    clearTimeout(this.retry);
  }

  /** Sends a message; rejects with RATE_LIMITED, PAYLOAD_TOO_LARGE or FORBIDDEN (no chat grant) as the server says. */
  async send(text: string): Promise<ChatMessage> {
    const { message } = await this.deps.signaling.request('sendChat', { text });
    this.merge([message]);
    return message;
  }

  receive(message: ChatMessage): void {
    this.merge([message]);
  }

  clear(): void {
    this.deps.store.set('chat', []);
  }

  private merge(incoming: ChatMessage[]): void {
    if (incoming.length === 0) return;
    const bySeq = new Map(this.deps.store.get('chat').map((m) => [m.seq, m]));
    for (const m of incoming) bySeq.set(m.seq, m);
    const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    this.deps.store.set('chat', merged.slice(-KEPT));
  }
}

/** Messages in a lobby room since we were last in it (`read`: its head then). */
export function unreadCount(room: LobbyRoom, read: ChatHead | undefined): number {
  const head = room.chat;
  if (!head) return 0;
  if (!read || read.epoch !== head.epoch) return head.count;
  return Math.max(0, head.count - read.count);
}
