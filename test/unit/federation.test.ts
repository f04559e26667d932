import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../bus/memory.ts';
import { Federation } from '../../media-worker/cluster/federation.ts';
import { buckets, roomPartKey } from '../../protocol/kv.ts';
import { REGISTRY_TTL_MS } from '../../protocol/media.ts';

describe('reading a room’s parts from the bucket itself', () => {
  const opened: Federation[] = [];
  afterEach(() => opened.splice(0).forEach((f) => f.close()));

  const setUp = async () => {
    const bus = new MemoryBus();
    const federation = await Federation.open(bus, 'mw-1', 'a', { ip: '127.0.0.1', announcedAddress: '127.0.0.1' });
    opened.push(federation);
    const parts = await bus.kv(buckets.roomParts, { ttlMs: REGISTRY_TTL_MS });
    // From here the copy's watch hears nothing, as after a cut link: only a read finds what is written.
    parts.watch = async () => ({ unsubscribe: () => {} });
    const reads: string[] = [];
    const entries = parts.entries.bind(parts);
    let failing = false;
    parts.entries = async (prefix) => {
      reads.push(prefix ?? '');
      if (failing) throw new Error('out of reach');
      return entries(prefix);
    };
    return { federation, parts, reads, fail: () => void (failing = true) };
  };
  const part = (instanceId: string, producerId: string) => ({
    instanceId,
    peers: [],
    producers: [{ id: producerId, peerId: 'p-2', kind: 'video', source: 'camera', paused: false }],
    activeSpeaker: null,
    updatedAt: Date.now(),
  });

  it('finds a part its copy lacks; readers of a room at the same moment share one read', async () => {
    const { federation, parts, reads } = await setUp();
    await parts.put(roomPartKey('talk', 'mw-2'), part('mw-2', 'prod-1'));
    const found = await Promise.all(Array.from({ length: 20 }, () => federation.readParts('talk')));
    expect(found.map((p) => p.map((x) => x.instanceId))).toEqual(Array(20).fill(['mw-2']));
    expect(reads).toEqual(['talk.']);
    await new Promise((r) => setTimeout(r, 250));
    await Promise.all([federation.readParts('talk'), federation.readParts('other')]);
    expect(reads).toEqual(['talk.', 'talk.', 'other.']);
  });

  it('keeps its copy when the read fails', async () => {
    const { federation, parts, fail } = await setUp();
    await parts.put(roomPartKey('talk', 'mw-2'), part('mw-2', 'prod-1'));
    expect((await federation.readParts('talk')).length).toBe(1);
    fail();
    await new Promise((r) => setTimeout(r, 250));
    expect((await federation.readParts('talk')).length).toBe(1);
  });
});
