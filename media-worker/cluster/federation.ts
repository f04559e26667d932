import type { Bus, KvStore } from '../../bus/bus.ts';
import { KvCache } from '../../bus/kv-cache.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { isCurrent, mediaCommands, MediaWorkerLoad, REGISTRY_TTL_MS, RoomPart } from '../../protocol/media.ts';
import type { MediaRequest, MediaResponse } from '../../protocol/media.ts';
import { subjects } from '../../protocol/subjects.ts';
import { buckets, placementKey, roomPartKey, roomPartsPrefix } from '../../protocol/kv.ts';
import { log, reason } from '../../tracing/log.ts';
import { Reachability } from './reachability.ts';

/**
 * An instance silent for this long is forgotten: its room parts are no longer looked after, its pipe address no
 * longer served (a dead instance's, or one behind a link cut for good).
 */
const FORGOTTEN_MS = 5 * 60_000;
/** Readers of a room's parts from the bucket within this long of a read share it. */
const PARTS_READ_MS = 200;

/**
 * What lets one room span media-worker instances: each instance publishes its part of the room (peers and
 * producers) to KV, reads the others' parts, and asks an owner instance to pipe a producer over to it.
 */
export class Federation {
  /** When each room part of an answering instance was first found missing from KV (catchUp). */
  private missingSince = new Map<string, number>();
  /** The latest read of each room's parts from the bucket itself (readParts). */
  private partsReads = new Map<string, { at: number; read: Promise<void> }>();

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
   * name any address (a reflector aimed at a third party), so only registered instances' pipe addresses are
   * served. Not only live ones: an instance coming back from behind a cut link asks for pipes before its
   * registry entry is fresh again here.
   */
  assertPipeTarget(ip: string): void {
    const known = this.registry.values().filter((w) => Date.now() - w.updatedAt < FORGOTTEN_MS);
    if (!known.some((w) => w.pipeAddress === ip)) {
      throw new ParleyError('FORBIDDEN', `${ip} is not the pipe address of a registered media worker`);
    }
  }

  /**
   * Our part of the room closed (its last peer here left). If we were its home in our region, that placement
   * goes too, so the placement bucket holds live rooms only; the next join there places the room afresh.
   */
  async roomClosed(roomId: string): Promise<void> {
    this.partsReads.delete(roomId);
    for (const key of this.missingSince.keys()) if (key.startsWith(roomPartsPrefix(roomId))) this.missingSince.delete(key);
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
      .filter((part) => part.instanceId !== this.instanceId && Date.now() - part.updatedAt < FORGOTTEN_MS);
  }

  /** The other instances' parts of a room; a part not refreshed within the TTL is a dead instance's. */
  async remoteParts(roomId: string): Promise<RoomPart[]> {
    return this.otherParts(roomId).filter((part) => isCurrent(part));
  }

  /**
   * `remoteParts` as the bucket holds them now, for a reader whose copy may be behind (its watch after a cut link).
   * Readers of a room within PARTS_READ_MS share one read, so consumes of made-up producer ids cost the bucket at
   * most a few reads per second. A failed read leaves the copy as it is.
   */
  async readParts(roomId: string): Promise<RoomPart[]> {
    const last = this.partsReads.get(roomId);
    if (last && Date.now() - last.at < PARTS_READ_MS) await last.read;
    else {
      const read = this.known
        .refreshAll(roomPartsPrefix(roomId))
        .catch((err: unknown) => log.warn('reading a room’s parts failed', { room: roomId, error: reason(err) }));
      this.partsReads.set(roomId, { at: Date.now(), read });
      await read;
    }
    return this.remoteParts(roomId);
  }

  /** Whether `part`'s peers can be reached: its instance answers, and what we know of its part is current. */
  reaches(part: RoomPart): boolean {
    return this.reachability.reachable(part.instanceId) && isCurrent(part);
  }

  /**
   * Reads again the parts of a room whose instance answers but whose copy here went stale: the watch lost
   * their updates while a link was cut, and would notice only at its next delivery. Until it is read, the part's
   * peers stay unreachable rather than gone; a failed read is tried again at the next sweep.
   */
  async catchUp(roomId: string): Promise<void> {
    const parts = this.known.entries(roomPartsPrefix(roomId)).filter(([, part]) => part.instanceId !== this.instanceId);
    const behind = parts.filter(([, part]) => !isCurrent(part) && this.reachability.reachable(part.instanceId));
    for (const [key, part] of parts) if (isCurrent(part)) this.missingSince.delete(key);
    await Promise.all(
      behind.map(([key]) =>
        this.readAgain(key).catch((err: unknown) => log.warn('reading a room part again failed', { key, error: reason(err) })),
      ),
    );
  }

  /**
   * A part missing from KV may only have expired while its instance could not write it; an answering instance
   * rewrites its parts every second, so one still missing after a TTL was closed while we could not hear.
   */
  private async readAgain(key: string): Promise<void> {
    if (await this.known.refresh(key)) return void this.missingSince.delete(key);
    const since = this.missingSince.get(key) ?? Date.now();
    this.missingSince.set(key, since);
    if (Date.now() - since < REGISTRY_TTL_MS) return;
    this.known.drop(key);
    this.missingSince.delete(key);
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
