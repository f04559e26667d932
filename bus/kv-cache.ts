import type { KvStore, Subscription } from './bus.ts';

/**
 * A live local copy of a KV bucket, kept by a watch: reads cost nothing, so hot paths (placement on every
 * join, room parts on every consume) never scan the bucket. TTL expiry is silent, so readers check the
 * freshness of the values themselves.
 */
export class KvCache<T> {
  private map = new Map<string, T>();
  private watch?: Subscription;

  private constructor(
    readonly kv: KvStore,
    private parse: (value: unknown) => T | undefined,
  ) {}

  static async open<T>(kv: KvStore, parse: (value: unknown) => T | undefined): Promise<KvCache<T>> {
    const cache = new KvCache(kv, parse);
    cache.watch = await kv.watch((key, value) => cache.apply(key, value));
    // The watch replays current values asynchronously; one read now means the cache is complete on return.
    for (const key of await kv.keys()) if (!cache.map.has(key)) cache.apply(key, (await kv.get(key))?.value ?? null);
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

  close(): void {
    this.watch?.unsubscribe();
  }

  private apply(key: string, value: unknown): void {
    const parsed = value === null ? undefined : this.parse(value);
    if (parsed === undefined) this.map.delete(key);
    else this.map.set(key, parsed);
  }
}
