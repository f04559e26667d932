import type { Source } from '../protocol/room.ts';
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
