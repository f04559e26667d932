import type { RoomEvent, RoomPart } from '../../protocol/media.ts';

/** News heard of something no part lists (a producer closed before its part was written) is kept this long. */
const HEARD_KEEP_MS = 60_000;

/**
 * Whether news of other instances' peers and producers (peerJoined, newProducer) was lost on its way here.
 * Room events are plain pub/sub: those published while a link between regions comes back (the NATS gateway
 * reconnects a moment after media can cross) are gone, and in a room that started meanwhile no peer was
 * unreachable, so nothing else would make signaling compare its members' views with the room. The other parts'
 * copies here catch up through KV: what they list that no event announced by the next sweep was lost.
 */
export class LostNews {
  /** Ids every member was told of: listed when the room started here (joins' snapshots list them), or heard. */
  private told = new Set<string>();
  private heard = new Map<string, number>();
  /** Listed at the last sweep without being heard of: their event may still be on its way. */
  private suspects = new Set<string>();

  constructor(parts: RoomPart[]) {
    for (const id of idsOf(parts)) this.told.add(id);
  }

  hear(event: RoomEvent, now = Date.now()): void {
    if (event.type === 'peerJoined') this.heard.set(event.peer.id, now);
    if (event.type === 'newProducer') this.heard.set(event.producer.id, now);
  }

  /** True once for what the other instances' parts (as copied here) list that was never announced. */
  sweep(parts: RoomPart[], now = Date.now()): boolean {
    const listed = new Set(idsOf(parts));
    const suspects = new Set<string>();
    let lost = false;
    for (const id of listed) {
      if (this.told.has(id)) continue;
      if (this.heard.has(id) || this.suspects.has(id)) {
        lost ||= !this.heard.has(id);
        this.told.add(id);
        this.heard.delete(id);
      } else suspects.add(id);
    }
    this.suspects = suspects;
    // What is no longer listed was closed, and ids are never reused.
    for (const id of this.told) if (!listed.has(id)) this.told.delete(id);
    for (const [id, at] of this.heard) if (now - at > HEARD_KEEP_MS) this.heard.delete(id);
    return lost;
  }
}

function idsOf(parts: RoomPart[]): string[] {
  return parts.flatMap((part) => [...part.peers.map((p) => p.id), ...part.producers.map((p) => p.id)]);
}
