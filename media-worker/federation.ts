import type { Bus, KvStore } from '../bus/bus.ts';
import { mediaCommands, REGISTRY_TTL_MS, RoomPart } from '../protocol/media.ts';
import type { MediaRequest, MediaResponse } from '../protocol/media.ts';
import type { PeerInfo, ProducerInfo } from '../protocol/sdp.ts';
import { buckets, subjects } from '../protocol/subjects.ts';

/**
 * What lets one room span media-worker instances: each instance publishes its part of the room (peers and
 * producers) to KV, reads the others' parts, and asks an owner instance to pipe a producer over to it.
 */
export class Federation {
  private constructor(
    private bus: Bus,
    readonly instanceId: string,
    private parts: KvStore,
    /** Where our PipeTransports listen and what address others should send to. */
    readonly listen: { ip: string; announcedAddress: string },
  ) {}

  static async open(bus: Bus, instanceId: string, listen: { ip: string; announcedAddress: string }): Promise<Federation> {
    return new Federation(bus, instanceId, await bus.kv(buckets.roomParts, { ttlMs: REGISTRY_TTL_MS }), listen);
  }

  async savePart(roomId: string, peers: PeerInfo[], producers: ProducerInfo[]): Promise<void> {
    const key = `${roomId}.${this.instanceId}`;
    if (peers.length === 0) return this.parts.delete(key);
    const part: RoomPart = { instanceId: this.instanceId, peers, producers, updatedAt: Date.now() };
    await this.parts.put(key, part);
  }

  /** The other instances' parts of a room; a part not refreshed within the TTL is a dead instance's. */
  async remoteParts(roomId: string): Promise<RoomPart[]> {
    const keys = await this.parts.keys(`${roomId}.`);
    const parts = await Promise.all(keys.map(async (k) => RoomPart.safeParse((await this.parts.get(k))?.value)));
    return parts.flatMap((p) =>
      p.success && p.data.instanceId !== this.instanceId && Date.now() - p.data.updatedAt < REGISTRY_TTL_MS ? [p.data] : [],
    );
  }

  async requestPipe(ownerInstanceId: string, request: MediaRequest<'pipeProducer'>): Promise<MediaResponse<'pipeProducer'>> {
    const reply = await this.bus.request(subjects.mediaCommand(ownerInstanceId, 'pipeProducer'), request);
    return mediaCommands.pipeProducer.response.parse(reply);
  }
}
