import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KvEntry, KvStore } from '../../bus/bus.ts';
import { KvCache } from '../../bus/kv-cache.ts';

/** A bucket whose watch deliveries the test hands over itself, late and out of step with direct reads. */
function bucket() {
  const stored = new Map<string, KvEntry>();
  let deliver: (key: string, value: unknown, revision: number) => void = () => {};
  const kv: KvStore = {
    get: async (key) => stored.get(key) ?? null,
    put: async () => 0,
    refresh: () => {},
    create: async () => 0,
    update: async () => 0,
    delete: async () => {},
    keys: async () => [...stored.keys()],
    entries: async () => [...stored],
    lastRevision: async () => Math.max(0, ...[...stored.values()].map((e) => e.revision)),
    watch: async (onChange) => {
      deliver = onChange;
      return { unsubscribe: () => {} };
    },
  };
  return { kv, stored, deliver: (key: string, value: unknown, revision: number) => deliver(key, value, revision) };
}

describe('KvCache', () => {
  const parse = (value: unknown) => (typeof value === 'number' ? value : undefined);

  it('reads a key again on request, and a late watch delivery of an older write does not undo it', async () => {
    const b = bucket();
    const cache = await KvCache.open(b.kv, parse);
    b.deliver('part', 1, 1);
    // The watch lost revisions 2 and 3 (a cut link); the bucket has 3.
    b.stored.set('part', { value: 3, revision: 3 });
    expect(await cache.refresh('part')).toBe(true);
    expect(cache.get('part')).toBe(3);
    b.deliver('part', 2, 2);
    expect(cache.get('part')).toBe(3);
    b.deliver('part', 4, 4);
    expect(cache.get('part')).toBe(4);
  });

  it('keeps its copy when the bucket has none (the writer may only have been cut off); drop forgets it for good', async () => {
    const b = bucket();
    const cache = await KvCache.open(b.kv, parse);
    b.deliver('part', 1, 1);
    expect(await cache.refresh('part')).toBe(false);
    expect(cache.get('part')).toBe(1);
    cache.drop('part');
    expect(cache.get('part')).toBeUndefined();
    b.deliver('part', 1, 1);
    expect(cache.get('part')).toBeUndefined();
    b.deliver('part', null, 3);
    b.deliver('part', 2, 2);
    expect(cache.get('part')).toBeUndefined();
    b.deliver('part', 5, 5);
    expect(cache.get('part')).toBe(5);
  });

  it('opens with what the bucket holds', async () => {
    const b = bucket();
    b.stored.set('a', { value: 7, revision: 1 });
    const cache = await KvCache.open(b.kv, parse);
    expect(cache.entries()).toEqual([['a', 7]]);
  });

  describe('checking itself against the bucket', () => {
    afterEach(() => void vi.useRealTimers());

    it('answers `current` from the bucket while it is reached, and from its copy once it is not', async () => {
      vi.useFakeTimers();
      const b = bucket();
      const cache = await KvCache.open(b.kv, parse);
      b.deliver('ban', 1, 1);
      // Written a moment ago elsewhere, not delivered yet: the bucket's answer, and the copy takes it.
      b.stored.set('ban', { value: 2, revision: 2 });
      expect(await cache.current('ban', 1_000)).toBe(2);
      expect(cache.get('ban')).toBe(2);
      // The bucket stops answering (a cut link): after the wait, the copy.
      const get = b.kv.get;
      b.kv.get = () => new Promise(() => {});
      b.kv.lastRevision = () => Promise.reject(new Error('timeout'));
      const answer = cache.current('ban', 1_000);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await answer).toBe(2);
      // Once a check found it out of reach, at once; a failing read answers from the copy too.
      await vi.advanceTimersByTimeAsync(2_000);
      expect(cache.reachable).toBe(false);
      expect(await cache.current('ban', 1_000)).toBe(2);
      b.kv.get = () => Promise.reject(new Error('no responders'));
      b.kv.lastRevision = async () => 2;
      await vi.advanceTimersByTimeAsync(2_000);
      expect(cache.reachable).toBe(true);
      expect(await cache.current('ban', 1_000)).toBe(2);
      b.kv.get = get;
      b.stored.delete('ban');
      expect(await cache.current('ban', 1_000)).toBeUndefined();
      cache.close();
    });

    it('reads the bucket again when its watch has stopped delivering', async () => {
      vi.useFakeTimers();
      const b = bucket();
      b.stored.set('a', { value: 1, revision: 1 });
      b.stored.set('b', { value: 2, revision: 2 });
      const cache = await KvCache.open(b.kv, parse);
      b.deliver('a', 1, 1);
      b.deliver('b', 2, 2);
      // A write the watch delivers in time is no reason to read anything.
      b.stored.set('a', { value: 3, revision: 3 });
      await vi.advanceTimersByTimeAsync(2_000);
      b.deliver('a', 3, 3);
      b.stored.set('a', { value: 9, revision: 9 });
      await vi.advanceTimersByTimeAsync(2_000);
      expect(cache.get('a')).toBe(3);
      // From here the watch delivers nothing (a cut link): a written again, c new, b gone (expired, maybe: kept).
      b.stored.delete('b');
      b.stored.set('a', { value: 10, revision: 10 });
      b.stored.set('c', { value: 11, revision: 11 });
      await vi.advanceTimersByTimeAsync(2_000);
      expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([10, 2, 11]);
      cache.close();
    });
  });
});
