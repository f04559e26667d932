import type { KvStore, Subscription } from './bus.ts';

/** Deleted keys whose revision is remembered, so a late older write cannot bring them back; oldest go first. */
const MAX_DELETED = 10_000;
/** How often the copy is compared with the bucket's newest revision (one small request to the stream's leader). */
const CHECK_MS = 2_000;

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
  /** The newest revision this copy has: applied from the watch or a read, or caught up to (see `check`). */
  private newest = 0;
  /** The bucket's newest revision at the last check, while the copy was behind it. */
  private behindAt?: number;
  /** The last check could not reach the bucket: what the watch delivered meanwhile may have been lost. */
  private unreached = false;
  private checker: ReturnType<typeof setInterval>;
  private checking = false;

  private constructor(
    readonly kv: KvStore,
    private parse: (value: unknown) => T | undefined,
    private onChange: () => void,
  ) {
    this.checker = setInterval(() => void this.check(), CHECK_MS);
  }

  /** `onChange` is called after each change the copy takes (a write, a delete, a key caught up with). */
  static async open<T>(kv: KvStore, parse: (value: unknown) => T | undefined, onChange = () => {}): Promise<KvCache<T>> {
    const cache = new KvCache(kv, parse, onChange);
    cache.watch = await kv.watch((key, value, revision) => cache.apply(key, value, revision));
    // The watch replays current values asynchronously; one read now means the cache is complete on return.
    await cache.refreshAll();
    return cache;
  }

  /** False once a check found the bucket out of reach (a cut link to its region, NATS down), until one reaches it. */
  get reachable(): boolean {
    return !this.unreached;
  }

  get(key: string): T | undefined {
    return this.map.get(key);
  }

  /** Values whose key starts with `prefix`. */
  values(prefix = ''): T[] {
    if (!prefix) return [...this.map.values()];
    const found: T[] = [];
    for (const [key, value] of this.map) if (key.startsWith(prefix)) found.push(value);
    return found;
  }

  /** Keys and values; with `prefix`, only keys that start with it. */
  entries(prefix = ''): [string, T][] {
    return prefix ? [...this.map].filter(([key]) => key.startsWith(prefix)) : [...this.map];
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

  /**
   * `key` as the bucket holds it now, for a reader that must not act on a copy a moment behind (a removal just
   * made elsewhere). While the bucket is out of reach (a cut link to the region that holds it, found by the last
   * check or by this read failing or taking over `waitMs`), what the copy holds: known up to the cut.
   */
  async current(key: string, waitMs: number): Promise<T | undefined> {
    if (!this.reachable) return this.map.get(key);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outOfReach = new Promise<'copy'>((resolve) => (timer = setTimeout(() => resolve('copy'), waitMs)));
    const read = this.kv.get(key).then(
      (entry) => entry,
      () => 'copy' as const,
    );
    const entry = await Promise.race([read, outOfReach]).finally(() => clearTimeout(timer));
    if (entry === 'copy') return this.map.get(key);
    if (entry) this.apply(key, entry.value, entry.revision);
    return entry ? this.parse(entry.value) : undefined;
  }

  /** Reads the keys under `prefix` (every key by default) from the bucket itself, as `refresh` reads one. */
  async refreshAll(prefix = ''): Promise<void> {
    for (const [key, entry] of await this.kv.entries(prefix)) this.apply(key, entry.value, entry.revision);
  }

  /** Forgets `key`: its writer is known to be done with it. */
  drop(key: string): void {
    this.forget(key, this.revisions.get(key) ?? 0);
  }

  close(): void {
    clearInterval(this.checker);
    this.watch?.unsubscribe();
  }

  /**
   * The watch can fall behind without knowing it: the deliveries it lost on a cut link between regions are
   * noticed at its next delivery or heartbeat, and its consumer is made again only once the JetStream meta leader
   * is back and after nats.js's backoff (12.6 s after a 15 s cut, writes each second: test/integration/
   * kv-cache-cut.test.ts). So the copy is compared with the bucket's newest revision: when it is behind right
   * after the bucket was out of reach, or has not reached the revision the previous check found, it is read again
   * key by key, which needs no consumer.
   */
  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const last = await this.kv.lastRevision();
      const stuck = this.behindAt !== undefined && this.newest < this.behindAt;
      if (stuck || (this.unreached && last > this.newest)) await this.catchUp(last);
      this.unreached = false;
      this.behindAt = last > this.newest ? last : undefined;
    } catch {
      // Out of reach (a cut link, NATS down; logged where it matters): the next check tries again.
      this.unreached = true;
    } finally {
      this.checking = false;
    }
  }

  /**
   * Reads every key the bucket has again. A key it no longer has is left as it is, as `refresh` leaves it: it may
   * only have expired while its writer was cut off, and readers age entries out by their own clock; a delete
   * arrives with the watch once it resumes.
   */
  private async catchUp(upTo: number): Promise<void> {
    await this.refreshAll();
    this.newest = Math.max(this.newest, upTo);
    this.onChange();
  }

  private apply(key: string, value: unknown, revision: number): void {
    this.newest = Math.max(this.newest, revision);
    if (revision <= (this.revisions.get(key) ?? this.deleted.get(key) ?? 0)) return;
    const parsed = value === null ? undefined : this.parse(value);
    if (parsed === undefined) this.forget(key, revision);
    else {
      this.deleted.delete(key);
      this.map.set(key, parsed);
      this.revisions.set(key, revision);
    }
    this.onChange();
  }

  private forget(key: string, revision: number): void {
    this.map.delete(key);
    this.revisions.delete(key);
    this.deleted.delete(key);
    this.deleted.set(key, revision);
    if (this.deleted.size > MAX_DELETED) this.deleted.delete(this.deleted.keys().next().value!);
  }
}
