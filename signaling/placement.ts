import type { Bus, KvStore } from '../bus/bus.ts';
import { KvCache } from '../bus/kv-cache.ts';
import { ParleyError } from '../protocol/errors.ts';
import { MediaWorkerLoad, REGISTRY_TTL_MS } from '../protocol/media.ts';
import { buckets } from '../protocol/kv.ts';

/**
 * Which media-worker instance hosts a room. The answer is shared state in KV, so every signaling
 * instance sends a room's peers to the same place; a room whose host stopped heartbeating is moved.
 */
export class Placement {
  private constructor(
    private registry: KvCache<MediaWorkerLoad>,
    private placements: KvStore,
  ) {}

  static async open(bus: Bus): Promise<Placement> {
    const kv = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    const registry = await KvCache.open(kv, (value) => MediaWorkerLoad.safeParse(value).data);
    const placements = await bus.kv(buckets.roomPlacement);
    return new Placement(registry, placements);
  }

  /**
   * The media-worker instance for a new participant of `roomId`: the room's home while it has consumer
   * capacity left, else the least-loaded other one (the room then spans both; media is piped between them).
   */
  async hostFor(roomId: string, dead?: string): Promise<string> {
    // The registry still lists a crashed instance until its TTL runs out; the caller may know better.
    const live = (await this.liveInstances()).filter((w) => w.instanceId !== dead);
    const current = await this.placements.get(roomId);
    const home = live.find((w) => w.instanceId === current?.value);
    if (home) {
      if (home.consumers < home.capacity) return home.instanceId;
      const spill = live.filter((w) => w !== home && !w.draining && w.consumers < w.capacity);
      return spill.length > 0 ? leastLoaded(spill) : home.instanceId;
    }
    const chosen = leastLoaded(live.filter((w) => !w.draining));
    try {
      if (current) await this.placements.update(roomId, chosen, current.revision);
      else await this.placements.create(roomId, chosen);
      return chosen;
    } catch (err) {
      // Another signaling instance placed the room first: use its choice.
      if (err instanceof ParleyError && err.code === 'CONFLICT') return this.hostFor(roomId, dead);
      throw err;
    }
  }

  /** Instances whose last heartbeat is recent (the registry's TTL expiry itself is silent). */
  async liveInstances(): Promise<MediaWorkerLoad[]> {
    return this.registry.values().filter((load) => Date.now() - load.updatedAt < REGISTRY_TTL_MS);
  }

  close(): void {
    this.registry.close();
  }
}

function leastLoaded(loads: MediaWorkerLoad[]): string {
  const score = (l: MediaWorkerLoad) => l.consumers / Math.max(1, l.capacity) + l.routers / 1e6;
  const [best] = [...loads].sort((a, b) => score(a) - score(b));
  if (!best) throw new ParleyError('UNAVAILABLE', 'no media worker is available');
  return best.instanceId;
}
