import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../../bus/memory.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { buckets, placementKey } from '../../protocol/kv.ts';
import { MEDIA_PROTOCOL_VERSION, MediaWorkerLoad, REGISTRY_TTL_MS } from '../../protocol/media.ts';
import { Placement } from '../../signaling/placement.ts';
import { waitFor } from '../../harness/wait.ts';

const load = (instanceId: string, region: string, consumers = 0): MediaWorkerLoad =>
  MediaWorkerLoad.parse({
    instanceId,
    version: MEDIA_PROTOCOL_VERSION,
    region,
    workers: 1,
    routers: 0,
    transports: 0,
    producers: 0,
    consumers,
    capacity: 10,
    draining: false,
    perWorker: [],
    updatedAt: Date.now(),
  });

describe('placement by region', () => {
  const opened: Placement[] = [];
  afterEach(() => {
    opened.splice(0).forEach((p) => p.close());
    vi.useRealTimers();
  });

  const fleet = async (loads: MediaWorkerLoad[]) => {
    const bus = new MemoryBus();
    const registry = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    for (const l of loads) await registry.put(l.instanceId, l);
    const open = async (region: string, answers = async (_instanceId: string) => false) => {
      const placement = await Placement.open(bus, region, answers);
      opened.push(placement);
      return placement;
    };
    return { bus, open };
  };
  /** A fleet whose entries look expired, and a switch after which placements' watches hear nothing (a cut link). */
  const staleFleet = async (loads: MediaWorkerLoad[]) => {
    const old = Date.now() - REGISTRY_TTL_MS - 1000;
    const { bus, open } = await fleet(loads.map((l) => ({ ...l, updatedAt: old })));
    const registry = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    let behind = false;
    const watch = registry.watch.bind(registry);
    registry.watch = (onChange) => watch((key, value, revision) => behind || onChange(key, value, revision));
    return { registry, open, fallBehind: () => void (behind = true) };
  };

  it('puts a room’s participants on a media-worker of their signaling instance’s region: one home per region', async () => {
    const { bus, open } = await fleet([load('mw-a1', 'a'), load('mw-a2', 'a', 5), load('mw-b1', 'b')]);
    const [inA, inB] = [await open('a'), await open('b')];
    expect(await inA.hostFor('talk')).toBe('mw-a1');
    expect(await inB.hostFor('talk')).toBe('mw-b1');
    expect(await inA.hostFor('talk')).toBe('mw-a1');
    const placements = await bus.kv(buckets.roomPlacement);
    expect((await placements.get(placementKey('talk', 'a')))?.value).toBe('mw-a1');
    expect((await placements.get(placementKey('talk', 'b')))?.value).toBe('mw-b1');
  });

  it('borrows another region’s media-worker when its own has none taking rooms (rather than refusing the join)', async () => {
    const { open } = await fleet([load('mw-b1', 'b')]);
    expect(await (await open('a')).hostFor('talk')).toBe('mw-b1');
    const draining = await fleet([{ ...load('mw-a1', 'a'), draining: true }, load('mw-b1', 'b')]);
    expect(await (await draining.open('a')).hostFor('talk')).toBe('mw-b1');
  });

  it('leaves out an instance found dead (it looks the least loaded) until it heartbeats again', async () => {
    const { bus, open } = await fleet([load('mw-1', 'a'), load('mw-2', 'a', 5)]);
    const placement = await open('a');
    expect(await placement.hostFor('talk')).toBe('mw-1');
    placement.markDead('mw-1');
    expect(await placement.hostFor('talk')).toBe('mw-2');
    expect(await placement.hostFor('other')).toBe('mw-2');
    expect((await placement.liveInstances()).map((w) => w.instanceId)).toEqual(['mw-2']);
    // A newer heartbeat: it answers again (a NATS hiccup, not a crash), and takes new rooms.
    const registry = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    await registry.put('mw-1', { ...load('mw-1', 'a'), updatedAt: Date.now() + 1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(await placement.hostFor('third')).toBe('mw-1');
  });

  it('reads entries that look expired from KV again before it counts them gone: the watch may be behind', async () => {
    const { registry, open, fallBehind } = await staleFleet([load('mw-1', 'a'), load('mw-2', 'a')]);
    const placement = await open('a');
    fallBehind();
    await registry.put('mw-1', load('mw-1', 'a'));
    await registry.delete('mw-2');
    expect((await placement.liveInstances()).map((w) => w.instanceId)).toEqual(['mw-1']);
    expect(placement.regionOf('mw-2')).toBeUndefined();
    expect(await placement.hostFor('talk')).toBe('mw-1');
  });

  it('keeps an instance of its region whose entry expired from KV while it answers: its heartbeats may not reach KV yet', async () => {
    const { registry, open, fallBehind } = await staleFleet([load('mw-a1', 'a'), load('mw-a2', 'a'), load('mw-b1', 'b')]);
    const pinged: string[] = [];
    const placement = await open('a', async (id) => {
      pinged.push(id);
      return id === 'mw-a1';
    });
    // Expired from KV while the watch heard nothing, as when their heartbeats could not reach it across a cut link.
    fallBehind();
    for (const id of ['mw-a1', 'mw-a2', 'mw-b1']) await registry.delete(id);
    expect((await placement.liveInstances()).map((w) => w.instanceId)).toEqual(['mw-a1']);
    // Another region's instance is not pinged: it was dropped, as one that does not answer is.
    expect(pinged.sort()).toEqual(['mw-a1', 'mw-a2']);
    expect([placement.regionOf('mw-a2'), placement.regionOf('mw-b1')]).toEqual([undefined, undefined]);
    expect(await placement.hostFor('talk')).toBe('mw-a1');
  });

  it('places a room new to it with one write, and takes another instance’s placement its copy has not heard of yet', async () => {
    const { bus, open } = await fleet([load('mw-a1', 'a'), load('mw-a2', 'a', 5)]);
    const placements = await bus.kv(buckets.roomPlacement);
    const reads: string[] = [];
    const get = placements.get.bind(placements);
    placements.get = (key) => {
      reads.push(key);
      return get(key);
    };
    const placement = await open('a');
    expect(await placement.hostFor('talk')).toBe('mw-a1');
    expect(reads).toEqual([]);
    // Placed by another signaling instance a moment ago (the watch delivers it later): a conflict, then a read.
    await placements.create(placementKey('other', 'a'), 'mw-a2');
    expect(await placement.hostFor('other')).toBe('mw-a2');
    expect(reads).toEqual([placementKey('other', 'a')]);
  });

  it('while the registry is out of reach, lists its region’s instances that answer without waiting on reads that time out', async () => {
    vi.useFakeTimers();
    const { registry, open, fallBehind } = await staleFleet([load('mw-a1', 'a'), load('mw-a2', 'a')]);
    const placement = await open('a', async (id) => id === 'mw-a1');
    fallBehind();
    // A cut link to the region holding the registry: reads hang until JetStream's timeout, checks fail.
    registry.get = () => new Promise(() => {});
    registry.lastRevision = () => Promise.reject(new Error('timeout'));
    await vi.advanceTimersByTimeAsync(2_000);
    // Answered without advancing the clock: no wait on a read.
    expect((await placement.liveInstances()).map((w) => w.instanceId)).toEqual(['mw-a1']);
    expect(await placement.hostFor('talk')).toBe('mw-a1');
  });

  it('places a new room without a record while the placement bucket is out of reach, and records that home once it answers', async () => {
    vi.useFakeTimers();
    const { bus, open } = await fleet([load('mw-a1', 'a'), load('mw-a2', 'a', 1)]);
    const placements = await bus.kv(buckets.roomPlacement);
    const placement = await open('a');
    const { create, lastRevision } = placements;
    placements.create = () => new Promise(() => {});
    placements.lastRevision = () => Promise.reject(new Error('timeout'));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await placement.hostFor('talk')).toBe('mw-a1');
    // mw-a1 is busier now, yet the room stays together.
    const registry = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    await registry.put('mw-a1', load('mw-a1', 'a', 5));
    await vi.advanceTimersByTimeAsync(10);
    expect(await placement.hostFor('talk')).toBe('mw-a1');
    Object.assign(placements, { create, lastRevision });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await placement.hostFor('talk')).toBe('mw-a1');
    expect((await placements.get(placementKey('talk', 'a')))?.value).toBe('mw-a1');
  });

  it('places a room without a record when the placement write finds the bucket out of reach before the copy noticed', async () => {
    const { bus, open } = await fleet([load('mw-a1', 'a'), load('mw-a2', 'a', 1)]);
    const placements = await bus.kv(buckets.roomPlacement);
    const placement = await open('a');
    const { create } = placements;
    placements.create = () => Promise.reject(new ParleyError('STORE_UNAVAILABLE', 'KV create: timeout'));
    expect(await placement.hostFor('talk')).toBe('mw-a1');
    // mw-a1 is busier now: the home chosen without a record is still the one recorded once the bucket answers.
    const registry = await bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    await registry.put('mw-a1', load('mw-a1', 'a', 5));
    await waitFor(
      'the copy to hear of it',
      async () => (await placement.liveInstances()).find((w) => w.instanceId === 'mw-a1')?.consumers === 5,
    );
    placements.create = create;
    expect(await placement.hostFor('talk')).toBe('mw-a1');
    expect((await placements.get(placementKey('talk', 'a')))?.value).toBe('mw-a1');
  });

  it('counts instances older than regions as the default region', async () => {
    const { region: _, ...old } = load('mw-old', 'x');
    expect(MediaWorkerLoad.parse(old).region).toBe('default');
  });
});
