import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../harness/wait.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { RegistryReader } from '../../harness/registry.ts';
import { sleep } from '../../harness/probes.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { buckets, placementKey } from '../../protocol/kv.ts';
import { DEFAULT_REGION } from '../../protocol/regions.ts';

/**
 * What a room leaves behind and how fast an unknown id is answered (issue #14): placement entries were never
 * deleted, and a consume of a producer nobody has waited 1.5 s before NOT_FOUND.
 */
describe('room cleanup and unknown producers', () => {
  let cluster: Cluster;
  let registry: RegistryReader;
  const placement = async (room: string) =>
    (await (await registry.bus.kv(buckets.roomPlacement)).get(placementKey(room, DEFAULT_REGION)))?.value;

  beforeAll(async () => {
    cluster = await startDistributed();
    registry = await RegistryReader.open(cluster.nats!.url);
  });
  afterAll(async () => {
    await registry?.close();
    await cluster?.stop();
  });

  it('deletes the room’s placement entry when its last participant leaves', async () => {
    const ada = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Ada')));
    const bob = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Bob')));
    await ada.request('join', { room: 'tidy' });
    await bob.request('join', { room: 'tidy' });
    expect(await placement('tidy')).toEqual(expect.any(String));
    await ada.request('leave');
    await sleep(500);
    expect(await placement('tidy')).toEqual(expect.any(String));
    await bob.request('leave');
    const left = Date.now();
    await waitFor('the placement entry to go', async () => (await placement('tidy')) === undefined, 5000);
    console.log(`placement entry deleted ${Date.now() - left} ms after the last leave`);
    // The room can be used again at once.
    expect((await ada.request('join', { room: 'tidy' })).ok).toBe(true);
    expect(await placement('tidy')).toEqual(expect.any(String));
    ada.close();
    bob.close();
  });

  it('answers a consume of a producer no instance has at once', async () => {
    const eve = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Eve')));
    const join = await eve.request('join', { room: 'unknown-producer' });
    const { routerRtpCapabilities } = (join.ok ? join.data : {}) as { routerRtpCapabilities: unknown };
    const recv = await eve.request('createTransport', { direction: 'recv' });
    const transportId = (recv.ok ? recv.data : {}) as { id: string };
    await sleep(1600);
    const started = performance.now();
    const reply = await eve.request('consume', {
      transportId: transportId.id,
      producerId: crypto.randomUUID(),
      rtpCapabilities: routerRtpCapabilities,
    });
    const ms = Math.round(performance.now() - started);
    console.log(`consume of an unknown producer: ${reply.ok ? 'OK' : reply.error.code} after ${ms} ms`);
    expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(ms).toBeLessThan(500);
    eve.close();
  });
});
