import type { EventLog } from '../../bus/event-log.ts';
import type { RoomEvent } from '../../protocol/media.ts';
import type { MediaKind, Source } from '../../protocol/room.ts';
import type { WebhookEvent } from '../../protocol/webhooks.ts';

type Participant = NonNullable<WebhookEvent['participant']>;

/**
 * Who joins and leaves a room and what they publish, recorded for webhooks by the media worker that hosts
 * them: it is the one that sees every way a participant goes (a leave, a lease that ran out, a worker that
 * died), whichever signaling instance held them. Event ids are the peer's or producer's, so recording one
 * again (a peer moved here from a dead instance) is the same event.
 */
export class RoomActivity {
  private participants = new Map<string, Participant>();
  private tracks = new Map<string, { peerId: string; source: Source; kind: MediaKind }>();

  constructor(
    private roomId: string,
    private log: EventLog,
    private identityOf: (peerId: string) => string | undefined,
  ) {}

  /** Called with every event this instance publishes for the room. */
  record(event: RoomEvent): void {
    const now = Date.now();
    const room = { roomId: this.roomId };
    switch (event.type) {
      case 'peerJoined': {
        const participant = {
          peerId: event.peer.id,
          identity: this.identityOf(event.peer.id),
          displayName: event.peer.displayName,
        };
        this.participants.set(participant.peerId, participant);
        this.log.record({
          id: `participant_joined.${participant.peerId}`,
          event: 'participant_joined',
          createdAt: now,
          room,
          participant,
        });
        return;
      }
      case 'peerLeft': {
        const participant = this.participants.get(event.peerId);
        this.participants.delete(event.peerId);
        if (!participant) return;
        this.log.record({ id: `participant_left.${event.peerId}`, event: 'participant_left', createdAt: now, room, participant });
        return;
      }
      case 'newProducer': {
        const { id, peerId, source, kind } = event.producer;
        const participant = this.participants.get(peerId);
        if (!participant) return;
        this.tracks.set(id, { peerId, source, kind });
        const track = { producerId: id, source, kind };
        this.log.record({ id: `track_published.${id}`, event: 'track_published', createdAt: now, room, participant, track });
        return;
      }
      case 'producerClosed': {
        const known = this.tracks.get(event.producerId);
        const participant = this.participants.get(event.peerId);
        this.tracks.delete(event.producerId);
        if (!known || !participant) return;
        const track = { producerId: event.producerId, source: known.source, kind: known.kind };
        this.log.record({
          id: `track_unpublished.${event.producerId}`,
          event: 'track_unpublished',
          createdAt: now,
          room,
          participant,
          track,
        });
      }
    }
  }
}
