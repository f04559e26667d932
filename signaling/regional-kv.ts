import type { Bus, KvStore } from '../bus/bus.ts';
import { regionalBucket } from '../protocol/kv.ts';
import type { RegionalBucket } from '../protocol/kv.ts';
import { DEFAULT_REGION } from '../protocol/regions.ts';

/**
 * One regional bucket (protocol/kv.ts) as a signaling instance sees it: its own region's, which it writes, and each
 * other region's as the region becomes known (PARLEY_REGION_URLS, the registry's media-workers), which it reads.
 * Each is kept in its region's NATS cluster whichever region creates it first.
 */
export class RegionalKv {
  private constructor(
    private bus: Bus,
    private bucket: RegionalBucket,
    private ttlMs: number,
    readonly region: string,
    readonly own: KvStore,
    private known: () => Iterable<string>,
  ) {}

  /** Opens the own region's bucket now (a signaling instance cannot start without it); `known` lists the others. */
  static async open(
    bus: Bus,
    bucket: RegionalBucket,
    ttlMs: number,
    region: string,
    known: () => Iterable<string>,
  ): Promise<RegionalKv> {
    const own = await bus.kv(regionalBucket(bucket, region), { ttlMs, ...placedIn(region) });
    return new RegionalKv(bus, bucket, ttlMs, region, own, known);
  }

  /** The other regions known now. */
  others(): string[] {
    return [...new Set(this.known())].filter((region) => region !== this.region);
  }

  /**
   * A region's bucket. The bus opens each once; an open that failed (the region cut off before its bucket was first
   * opened here) is tried again on the next call.
   */
  in(region: string): Promise<KvStore> {
    return this.bus.kv(regionalBucket(this.bucket, region), { ttlMs: this.ttlMs, ...placedIn(region) });
  }
}

/**
 * A named region's buckets are kept in its NATS cluster, which bears its name (docs/deploy.md); the default region's
 * wherever NATS puts them, so a deployment that never names regions need not name its NATS cluster after one.
 */
function placedIn(region: string): { cluster?: string } {
  return region === DEFAULT_REGION ? {} : { cluster: region };
}
