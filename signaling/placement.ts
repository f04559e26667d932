import type { Bus } from '../bus/bus.ts';
import { KvCache } from '../bus/kv-cache.ts';
import { ParleyError } from '../protocol/errors.ts';
import { isCode } from './memberships/errors.ts';
import { consumerLoad, isCurrent, MediaWorkerLoad, REGISTRY_TTL_MS } from '../protocol/media.ts';
import { buckets, placementKey } from '../protocol/kv.ts';

/** How long a caller waits for expired-looking registry entries to be read again (KV may be out of reach). */
const REREAD_WAIT_MS = 1000;

/**
 * Which media-worker instance hosts a room's part in our region. The answer is shared state in KV, so every
 * signaling instance of a region sends a room's peers to the same place; a room whose host stopped heartbeating
 * is moved. A room with participants in several regions has a home in each, and media is piped between them.
 */
export class Placement {
  /**
   * Instances found not answering, by the heartbeat (`updatedAt`) they were last listed with. A crashed instance
   * stays in the registry until its TTL runs out, and with nothing to do it looks the least loaded: it is left out
   * until a newer heartbeat shows it alive.
   */
  private dead = new Map<string, number>();
  /**
   * Instances of our region whose entry expired from KV but which answered a ping, by when: after a cut link
   * between regions, a region's media-workers write their heartbeats to the buckets in the other region again only
   * seconds after the link returns, and meanwhile the region would look empty (its joins placed far away).
   */
  private answering = new Map<string, number>();
  private rereading?: Promise<void>;
  /** Homes chosen while the placement bucket was out of reach, by placement key, until one is recorded. */
  private unrecorded = new Map<string, string>();

  private constructor(
    private registry: KvCache<MediaWorkerLoad>,
    private placements: KvCache<string>,
    readonly region: string,
    private answers: (instanceId: string) => Promise<boolean>,
  ) {}

  /** `answers` pings an instance (MediaClient.answers). */
  static async open(bus: Bus, region: string, answers: (instanceId: string) => Promise<boolean>): Promise<Placement> {
    const kv = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    const registry = await KvCache.open(kv, (value) => MediaWorkerLoad.safeParse(value).data);
    const placements = await KvCache.open(await bus.kv(buckets.roomPlacement), (v) => (typeof v === 'string' ? v : undefined));
    return new Placement(registry, placements, region, answers);
  }

  /**
   * The media-worker instance for a new participant of `roomId`: the room's home in `preferred` (the region the
   * client measured fastest) or else our region while it has consumer capacity left, else the least-loaded other
   * one there (the room then spans both; media is piped).
   */
  hostFor(roomId: string, preferred?: string): Promise<string> {
    return this.place(roomId, preferred, false);
  }

  /** `retry`: a create just met another instance's placement, which is read. */
  private async place(roomId: string, preferred: string | undefined, retry: boolean): Promise<string> {
    const { key, candidates } = await this.candidatesFor(roomId, preferred);
    // Most joins go to a room whose home is known and live: the watched copy answers.
    const known = this.placements.get(key);
    const cached = candidates.find((w) => w.instanceId === known);
    if (cached) return this.withinCapacity(cached, candidates);
    // The bucket out of reach (a cut link to its region): the room is placed without a record, so the region goes
    // on starting rooms; the next join once the bucket answers records the same home if it is still live.
    if (!this.placements.reachable) return this.placeUnrecorded(key, candidates);
    try {
      return await this.record(key, candidates, known === undefined && !retry);
    } catch (err) {
      if (isCode(err, 'CONFLICT')) return this.place(roomId, preferred, true);
      // Out of reach before the copy's check noticed it.
      if (isCode(err, 'STORE_UNAVAILABLE')) return this.placeUnrecorded(key, candidates);
      throw err;
    }
  }

  /**
   * The region a participant's media goes to and its live instances: `preferred`, else ours, while it has an
   * instance taking rooms; a region with none (none left, or all draining) borrows another's rather than refuse
   * every join.
   */
  private async candidatesFor(roomId: string, preferred: string | undefined) {
    const live = await this.liveInstances();
    const serves = (region: string | undefined) => live.some((w) => w.region === region && takesRooms(w));
    const region = [preferred, this.region].find(serves) ?? live.find(takesRooms)?.region ?? this.region;
    return { key: placementKey(roomId, region), candidates: live.filter((w) => w.region === region) };
  }

  /**
   * The room's home read from KV, or chosen and written there (compare-and-set: CONFLICT if another instance
   * wrote first). `fresh`: the copy has never seen the room, which is placed in one round trip (the bucket may be
   * in another region); a conflict means another instance placed it a moment ago.
   */
  private async record(key: string, candidates: MediaWorkerLoad[], fresh: boolean): Promise<string> {
    const current = fresh ? null : await this.placements.kv.get(key);
    // A home not (or no longer) live in the copy may have just been written by another instance.
    const home = candidates.find((w) => w.instanceId === current?.value);
    if (home) return this.withinCapacity(home, candidates);
    const chosen = this.choose(key, candidates);
    if (current) await this.placements.kv.update(key, chosen, current.revision);
    else await this.placements.kv.create(key, chosen);
    this.unrecorded.delete(key);
    return chosen;
  }

  private placeUnrecorded(key: string, candidates: MediaWorkerLoad[]): string {
    const chosen = this.choose(key, candidates);
    this.unrecorded.set(key, chosen);
    return chosen;
  }

  /** A home chosen while the bucket was out of reach, if still live, else the least-loaded instance taking rooms. */
  private choose(key: string, candidates: MediaWorkerLoad[]): string {
    const unrecorded = candidates.find((w) => w.instanceId === this.unrecorded.get(key));
    return unrecorded?.instanceId ?? leastLoaded(candidates.filter(takesRooms));
  }

  /** The room's home while it has consumer capacity left, else the least-loaded instance of its region that has. */
  private withinCapacity(home: MediaWorkerLoad, candidates: MediaWorkerLoad[]): string {
    if (consumerLoad(home) < home.capacity) return home.instanceId;
    const spill = candidates.filter((w) => w !== home && takesRooms(w) && consumerLoad(w) < w.capacity);
    return spill.length > 0 ? leastLoaded(spill) : home.instanceId;
  }

  /**
   * Instances whose last heartbeat is recent (the registry's TTL expiry itself is silent), or of our region and
   * answering though their entry expired, and not found dead since.
   */
  async liveInstances(): Promise<MediaWorkerLoad[]> {
    if (this.registry.values().some((load) => !isCurrent(load))) {
      this.rereading ??= this.rereadStale().finally(() => (this.rereading = undefined));
      await Promise.race([this.rereading, new Promise((resolve) => setTimeout(resolve, REREAD_WAIT_MS))]);
    }
    const answered = (id: string) => Date.now() - (this.answering.get(id) ?? 0) < REGISTRY_TTL_MS;
    return this.registry
      .values()
      .filter((load) => (isCurrent(load) || answered(load.instanceId)) && this.dead.get(load.instanceId) !== load.updatedAt);
  }

  /**
   * The watch keeping the registry can fall behind: after a cut link between regions it notices the deliveries
   * it lost only at its next heartbeat, tens of seconds later, and meanwhile every instance would look expired
   * (joins refused). So entries that look expired are read from KV again, and dropped once KV has none, unless
   * the instance is of our region and answers a ping (see `answering`). While the bucket is out of reach (the
   * link to its region cut) the entries stay listed without a read, which would only time out, and ours are pinged.
   */
  private async rereadStale(): Promise<void> {
    const stale = this.registry.entries().filter(([, load]) => !isCurrent(load));
    await Promise.all(
      stale.map(async ([key, { instanceId, region }]) => {
        const found = this.registry.reachable ? await this.registry.refresh(key).catch(() => undefined) : undefined;
        if (found) return;
        if (region === this.region && (await this.answers(instanceId))) return void this.answering.set(instanceId, Date.now());
        this.answering.delete(instanceId);
        if (found === false) this.registry.drop(key);
      }),
    );
  }

  /** Whether `region` was heard from after `since` (epoch ms): ours always, another by a media-worker's heartbeat. */
  heardFrom(region: string, since: number): boolean {
    return region === this.region || this.registry.values().some((load) => load.region === region && load.updatedAt > since);
  }

  /** The regions with a media-worker in the registry (also one found dead, until its entry expires). */
  regions(): string[] {
    return this.registry.values().map((load) => load.region);
  }

  /** The region of a listed instance (also of one found dead, until its entry expires). */
  regionOf(instanceId: string): string | undefined {
    return this.registry.get(instanceId)?.region;
  }

  /** The instance did not answer (no responders): no new peers go there until it heartbeats again. */
  markDead(instanceId: string): void {
    const load = this.registry.get(instanceId);
    if (load) this.dead.set(instanceId, load.updatedAt);
    for (const [id, seen] of this.dead) if (this.registry.get(id)?.updatedAt !== seen) this.dead.delete(id);
  }

  close(): void {
    this.registry.close();
    this.placements.close();
  }
}

const takesRooms = (w: MediaWorkerLoad) => !w.draining;

function leastLoaded(loads: MediaWorkerLoad[]): string {
  const score = (l: MediaWorkerLoad) => consumerLoad(l) / Math.max(1, l.capacity) + l.routers / 1e6;
  const [best] = [...loads].sort((a, b) => score(a) - score(b));
  if (!best) throw new ParleyError('UNAVAILABLE', 'no media worker is available');
  return best.instanceId;
}
