import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvStore } from '../../bus/bus.ts';
import { KvCache } from '../../bus/kv-cache.ts';
import { NatsBus } from '../../bus/nats.ts';
import type { NatsServer } from '../../harness/nats.ts';
import { startRegionLink } from '../../harness/region-link.ts';
import type { RegionLink } from '../../harness/region-link.ts';
import { regionFaces, startSupercluster } from '../../harness/regions.ts';
import { waitFor } from '../../harness/wait.ts';
import { ParleyError } from '../../protocol/errors.ts';

/**
 * A copy of a KV bucket kept in the region that does not hold it, across a cut link between two regions (the
 * gateways through a userspace link, 40 ms each way): what was written during the cut and right after reaches the
 * copy within seconds of the link's return, although the watch itself resumes only after its consumer is made
 * again (12.6 s in the same set-up before the copy checked itself).
 */
describe('a KV copy across a cut link between regions', () => {
  let link: RegionLink;
  let servers: NatsServer[] = [];
  const buses: NatsBus[] = [];
  let writer: KvStore;
  let copy: KvCache<number>;

  beforeAll(async () => {
    const faces = await regionFaces(2);
    link = await startRegionLink(faces, 40);
    servers = await startSupercluster(['seoul', 'frankfurt'], faces);
    for (const server of servers) buses.push(new NatsBus(await connect({ servers: server.url })));
    writer = await buses[0]!.kv('parley-test-cut', { ttlMs: 60_000 });
    await writer.put('before', 1);
    const parse = (value: unknown) => (typeof value === 'number' ? value : undefined);
    copy = await KvCache.open(await buses[1]!.kv('parley-test-cut', { ttlMs: 60_000 }), parse);
  }, 60_000);
  afterAll(async () => {
    copy?.close();
    await Promise.all(buses.map((b) => b.close()));
    await Promise.all(servers.map((s) => s.stop()));
    await link?.stop();
  });

  it('catches up within seconds of the link’s return', async () => {
    expect(copy.get('before')).toBe(1);
    // A writer that never stops, like heartbeats: the watch sees the gap only once the link carries them again.
    let n = 0;
    const ticks = setInterval(() => void writer.put('tick', ++n).catch(() => undefined), 1000);
    try {
      await waitFor('the copy to follow the ticks', () => (copy.get('tick') ?? 0) >= 2, 10_000);
      link.cut();
      await writer.put('during', 2);
      const cutAt = Date.now();
      // From the region cut off from the bucket, reads and writes fail typed (not INTERNAL), within the bus timeout.
      const refused = await Promise.all(
        [copy.kv.get('before'), copy.kv.put('from-frankfurt', 4), copy.kv.create('new', 5)].map((op) =>
          op.then(
            () => 'done',
            (err: unknown) => (err instanceof ParleyError ? err.code : String(err)),
          ),
        ),
      );
      console.log(`KV get, put and create cut off from the bucket: ${refused} after ${Date.now() - cutAt} ms`);
      expect(refused).toEqual(['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
      await new Promise((r) => setTimeout(r, 15_000 - (Date.now() - cutAt)));
      expect(copy.get('during')).toBeUndefined();
      link.restore();
      const restoredAt = Date.now();
      await writer.put('after', 3);
      await waitFor(
        'the copy to hold what was written during the cut and after',
        () => copy.get('during') === 2 && copy.get('after') === 3,
        8_000,
      );
      console.log(`a KV copy across a 15 s cut caught up ${Date.now() - restoredAt} ms after the link returned`);
      const last = n;
      await waitFor('the copy to follow the ticks again', () => (copy.get('tick') ?? 0) >= last, 5_000);
    } finally {
      clearInterval(ticks);
    }
  });
});
