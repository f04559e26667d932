import type { Bus, KvStore } from '../../bus/bus.ts';
import { KvCache } from '../../bus/kv-cache.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { mediaCommands, MediaWorkerLoad, REGISTRY_TTL_MS, RoomPart } from '../../protocol/media.ts';
import type { MediaRequest, MediaResponse } from '../../protocol/media.ts';
import { subjects } from '../../protocol/subjects.ts';
import { buckets, placementKey, roomPartKey, roomPartsPrefix } from '../../protocol/kv.ts';
import { Reachability } from './reachability.ts';

/** A room part silent for this long is no longer looked after (a dead instance's, or a link cut for good). */
const PART_FORGOTTEN_MS = 5 * 60_000;

/**
 * What lets one room span media-worker instances: each instance publishes its part of the room (peers and
 * producers) to KV, reads the others' parts, and asks an owner instance to pipe a producer over to it.
 */
export class Federation {
  private constructor(
    private bus: Bus,
    readonly instanceId: string,
    readonly region: string,
    private parts: KvStore,
    private known: KvCache<RoomPart>,
    private placements: KvStore,
    private registry: KvCache<MediaWorkerLoad>,
    /** Where our PipeTransports listen and what address others should send to. */
    readonly listen: { ip: string; announcedAddress: string },
    readonly reachability = new Reachability(bus),
  ) {}

  static async open(
    bus: Bus,
    instanceId: string,
    region: string,
    listen: { ip: string; announcedAddress: string },
  ): Promise<Federation> {
    const parts = await bus.kv(buckets.roomParts, { ttlMs: REGISTRY_TTL_MS });
    const known = await KvCache.open(parts, (value) => RoomPart.safeParse(value).data);
    const placements = await bus.kv(buckets.roomPlacement);
    const workers = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    const registry = await KvCache.open(workers, (value) => MediaWorkerLoad.safeParse(value).data);
    return new Federation(bus, instanceId, region, parts, known, placements, registry, listen);
  }

  /**
   * A pipeProducer request names where to send the producer's media. Anyone on NATS who may send it could
   * name any address (a reflector aimed at a third party), so only live registered instances' pipe addresses
   * are served.
   */
  assertPipeTarget(ip: string): void {
    const live = this.registry.values().filter((w) => Date.now() - w.updatedAt < REGISTRY_TTL_MS);
    if (!live.some((w) => w.pipeAddress === ip)) {
      throw new ParleyError('FORBIDDEN', `${ip} is not the pipe address of a registered media worker`);
    }
  }

  /**
   * Our part of the room closed (its last peer here left). If we were its home in our region, that placement
   * goes too, so the placement bucket holds live rooms only; the next join there places the room afresh.
   */
  async roomClosed(roomId: string): Promise<void> {
    await this.parts.delete(roomPartKey(roomId, this.instanceId));
    const key = placementKey(roomId, this.region);
    if ((await this.placements.get(key))?.value === this.instanceId) await this.placements.delete(key);
  }

  async savePart(roomId: string, share: Pick<RoomPart, 'peers' | 'producers' | 'activeSpeaker'>): Promise<void> {
    const key = roomPartKey(roomId, this.instanceId);
    if (share.peers.length === 0) return this.parts.delete(key);
    const part: RoomPart = { instanceId: this.instanceId, ...share, updatedAt: Date.now() };
    await this.parts.put(key, part);
  }

  /**
   * The other instances' parts of a room, also those not refreshed lately: an instance behind a cut link cannot
   * refresh its part, and its peers are still in the room. Only long-silent parts are left out.
   */
  otherParts(roomId: string): RoomPart[] {
    return this.known
      .values(roomPartsPrefix(roomId))
      .filter((part) => part.instanceId !== this.instanceId && Date.now() - part.updatedAt < PART_FORGOTTEN_MS);
  }

  /** The other instances' parts of a room; a part not refreshed within the TTL is a dead instance's. */
  async remoteParts(roomId: string): Promise<RoomPart[]> {
    return this.known
      .values(roomPartsPrefix(roomId))
      .filter((part) => part.instanceId !== this.instanceId && Date.now() - part.updatedAt < REGISTRY_TTL_MS);
  }

  close(): void {
    this.known.close();
    this.registry.close();
  }

  async requestPipe(ownerInstanceId: string, request: MediaRequest<'pipeProducer'>): Promise<MediaResponse<'pipeProducer'>> {
    const reply = await this.bus.request(subjects.mediaCommand(ownerInstanceId, 'pipeProducer'), request);
    return mediaCommands.pipeProducer.response.parse(reply);
  }
}
