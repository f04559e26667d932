import type { RoomEvent } from '../../protocol/media.ts';
import type { PeerInfo, ProducerInfo } from '../../protocol/room.ts';

/** Room parts on other instances are rewritten every second (the media worker's sweep) and on change. */
const SETTLED_MS = 3000;

/** Everyone else in a room and their producers, as a join, resume or snapshot reply shows them. */
export interface RoomSight {
  peers: PeerInfo[];
  producers: ProducerInfo[];
  /** Peers listed that cannot be reached now (a cut link); absent from older media workers. */
  unreachable?: string[];
}

/**
 * The room as one client was told about it: everyone else and their producers. Room events are plain
 * pub/sub and some are lost while NATS is away, so a fresh snapshot is compared with this to find them.
 */
export class SeenRoom {
  private peers = new Map<string, PeerInfo>();
  private producers = new Map<string, ProducerInfo>();
  /** When each peer or producer (by id) was learned of or last changed. */
  private learnedAt = new Map<string, number>();
  /** Peers behind a cut link: a snapshot cannot list them, and they have not left. */
  private unreachable = new Set<string>();
  private heard = false;

  constructor(
    private roomId: string,
    private selfId: string,
  ) {}

  /**
   * Everything the client has now, from a join or resume reply. True when a change was heard since the last
   * reset: one that came while the reply was being made may be missing from it, and was not sent to the client.
   */
  reset(view: RoomSight, now = Date.now()): boolean {
    const heard = this.heard;
    this.peers.clear();
    this.producers.clear();
    this.learnedAt.clear();
    this.unreachable = new Set(view.unreachable);
    for (const peer of view.peers) if (peer.id !== this.selfId) this.learn(this.peers, peer.id, peer, now);
    for (const p of view.producers) if (p.peerId !== this.selfId) this.learn(this.producers, p.id, p, now);
    this.heard = false;
    return heard;
  }

  /** Follows an event the client was sent. */
  apply(event: RoomEvent, now = Date.now()): void {
    switch (event.type) {
      case 'peerJoined':
        if (event.peer.id !== this.selfId) this.learn(this.peers, event.peer.id, event.peer, now);
        return;
      case 'newProducer':
        if (event.producer.peerId !== this.selfId) this.learn(this.producers, event.producer.id, event.producer, now);
        return;
      case 'peerLeft':
        for (const p of this.producers.values()) if (p.peerId === event.peerId) this.forget(p.id);
        this.forget(event.peerId);
        return;
      case 'producerClosed':
        this.forget(event.producerId);
        return;
      case 'peerReachability':
        for (const id of event.peerIds) {
          if (event.reachable) this.unreachable.delete(id);
          else this.unreachable.add(id);
        }
        return;
      case 'producerPaused':
      case 'producerResumed': {
        const known = this.producers.get(event.producerId);
        if (known) this.learn(this.producers, known.id, { ...known, paused: event.type === 'producerPaused' }, now);
      }
    }
  }

  /** The events that bring the client from what it was told to `view`: the ones it never got. */
  missed(view: RoomSight, now = Date.now()): RoomEvent[] {
    const roomId = this.roomId;
    // Flagged by the snapshot itself: its peerReachability event may still be on its way.
    for (const id of view.unreachable ?? []) this.unreachable.add(id);
    const peers = view.peers.filter((p) => p.id !== this.selfId);
    const producers = view.producers.filter((p) => p.peerId !== this.selfId);
    // Other instances' parts reach a snapshot through KV, a little after their events: where the snapshot
    // contradicts what was learned just now, the snapshot is the one behind.
    const settled = (id: string) => now - (this.learnedAt.get(id) ?? 0) >= SETTLED_MS;
    const events: RoomEvent[] = [];
    for (const p of this.producers.values()) {
      if (settled(p.id) && !this.unreachable.has(p.peerId) && !producers.some((q) => q.id === p.id))
        events.push({ type: 'producerClosed', roomId, producerId: p.id, peerId: p.peerId });
    }
    for (const id of this.peers.keys())
      if (settled(id) && !this.unreachable.has(id) && !peers.some((p) => p.id === id))
        events.push({ type: 'peerLeft', roomId, peerId: id });
    for (const peer of peers) if (!this.peers.has(peer.id)) events.push({ type: 'peerJoined', roomId, peer });
    for (const producer of producers) {
      const known = this.producers.get(producer.id);
      if (!known) events.push({ type: 'newProducer', roomId, producer });
      else if (known.paused !== producer.paused && settled(producer.id)) {
        events.push({
          type: producer.paused ? 'producerPaused' : 'producerResumed',
          roomId,
          producerId: producer.id,
          peerId: producer.peerId,
        });
      }
    }
    return events;
  }

  private learn<T>(map: Map<string, T>, id: string, value: T, now: number): void {
    this.heard = true;
    map.set(id, value);
    this.learnedAt.set(id, now);
  }

  private forget(id: string): void {
    this.heard = true;
    this.peers.delete(id);
    this.producers.delete(id);
    this.learnedAt.delete(id);
    this.unreachable.delete(id);
  }
}
