import type { ChatMessage } from '../protocol/chat.ts';
import type { SelfState } from '../protocol/moderation.ts';
import type { Source } from '../protocol/room.ts';
import type { StateStore } from './host.ts';
import type { Publisher } from './publisher.ts';
import type { Requester } from './socket.ts';

/**
 * What a moderator (the token's `moderator` grant) does to others in the room. Each resolves once the server
 * did it; FORBIDDEN without the grant, NOT_FOUND for a peer not in this room.
 */
export class Moderator {
  constructor(private signaling: Requester) {}

  /** Pauses their microphone (or another source) on the server; `locked` (default): they cannot unmute it. */
  async mute(peerId: string, source: Source, locked = true): Promise<void> {
    await this.signaling.request('muteParticipant', { peerId, source, locked });
  }

  /** Lets them unmute `source` again. */
  async unlock(peerId: string, source: Source): Promise<void> {
    await this.signaling.request('unlockParticipant', { peerId, source });
  }

  /** Removes them from the room with a reason they are shown; they cannot rejoin with the same token. */
  async remove(peerId: string, reason: string): Promise<void> {
    await this.signaling.request('removeParticipant', { peerId, reason });
  }

  /** Ends the room for everyone (the reason is shown to them). */
  async endRoom(reason?: string): Promise<void> {
    await this.signaling.request('endRoom', reason ? { reason } : {});
  }
}

/** What moderators decided for us: locked sources are muted here too; feeds no longer allowed stop. */
export function applySelf(store: StateStore, publisher: Publisher, self: SelfState | undefined): void {
  if (!self) return;
  store.set('self', self);
  for (const source of self.locks) if (publisher.outbound(source)) void publisher.setPaused(source, true);
  const { canPublish, sources } = self.grants;
  for (const feed of ['microphone', 'camera', 'screen'] as const) {
    if (publisher.wants(feed) && (!canPublish || !sources.includes(feed))) void publisher.set(feed, false);
  }
}

/** A moderator muted us without a lock: our side pauses as the server's did; unmuting is ours again. */
export function followNotice(publisher: Publisher, selfPeerId: string, message: ChatMessage): void {
  const notice = message.moderation;
  if (notice?.action !== 'mute' || notice.target?.peerId !== selfPeerId || !notice.source) return;
  if (publisher.outbound(notice.source)) void publisher.setPaused(notice.source, true);
}
