import type { KvStore, Subscription } from './bus.ts';

/** Deleted keys whose revision is remembered, so a late older write cannot bring them back; oldest go first. */
const MAX_DELETED = 10_000;

/**
 * A live local copy of a KV bucket, kept by a watch: reads cost nothing, so hot paths (placement on every
 * join, room parts on every consume) never scan the bucket. TTL expiry is silent, so readers check the
 * freshness of the values themselves.
 */
export class KvCache<T> {
  private map = new Map<string, T>();
  /** The newest revision applied per key: a read or a replayed watch delivery older than it is ignored. */
  private revisions = new Map<string, number>();
  private deleted = new Map<string, number>();
  private watch?: Subscription;

  private constructor(
    readonly kv: KvStore,
    private parse: (value: unknown) => T | undefined,
  ) {}

  static async open<T>(kv: KvStore, parse: (value: unknown) => T | undefined): Promise<KvCache<T>> {
    const cache = new KvCache(kv, parse);
    cache.watch = await kv.watch((key, value, revision) => cache.apply(key, value, revision));
    // The watch replays current values asynchronously; one read now means the cache is complete on return.
    for (const key of await kv.keys()) if (!cache.map.has(key)) await cache.refresh(key);
    return cache;
  }

  get(key: string): T | undefined {
    return this.map.get(key);
  }

  /** Values whose key starts with `prefix`. */
  values(prefix = ''): T[] {
    return [...this.map].flatMap(([key, value]) => (key.startsWith(prefix) ? [value] : []));
  }

  /** Keys and values; with `prefix`, only keys that start with it. */
  entries(prefix = ''): [string, T][] {
    return [...this.map].filter(([key]) => key.startsWith(prefix));
  }

  /**
   * Reads `key` from the bucket itself. The watch only notices lost deliveries (a cut link between regions)
   * at its next delivery or missed heartbeat, up to a minute later; a reader that knows its copy is behind
   * asks directly. False when the bucket has no value for it (deleted or expired): the copy is left as it is.
   */
  async refresh(key: string): Promise<boolean> {
    const entry = await this.kv.get(key);
    if (entry) this.apply(key, entry.value, entry.revision);
    return entry !== null;
  }

  /** Forgets `key`: its writer is known to be done with it. */
  drop(key: string): void {
    this.forget(key, this.revisions.get(key) ?? 0);
  }

  close(): void {
    this.watch?.unsubscribe();
  }

  private apply(key: string, value: unknown, revision: number): void {
    if (revision <= (this.revisions.get(key) ?? this.deleted.get(key) ?? 0)) return;
    const parsed = value === null ? undefined : this.parse(value);
    if (parsed === undefined) return this.forget(key, revision);
    this.deleted.delete(key);
    this.map.set(key, parsed);
    this.revisions.set(key, revision);
  }

  private forget(key: string, revision: number): void {
    this.map.delete(key);
    this.revisions.delete(key);
    this.deleted.delete(key);
    this.deleted.set(key, revision);
    if (this.deleted.size > MAX_DELETED) this.deleted.delete(this.deleted.keys().next().value!);
  }
}
