import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { MEDIASOUP_INACTIVITY_MS, rtpTesters, TEST_LAYERS } from '../../harness/rtp-testers.ts';
import { waitFor } from '../../harness/wait.ts';

/**
 * A viewer's first picture does not wait on a silent upper layer (media-worker/sfu/viewer-layers.ts). A browser
 * that has just started publishing sends every simulcast layer for a moment and then stops the upper ones;
 * mediasoup still scores them 10 until 1.5 s after their last media packet, and a consumer aimed at the top
 * layer waits that long for a key frame that never comes. Injected deterministically with the plain-RTP tester:
 * the publisher's layers 1 and 2 switch to padding, and a viewer consumes at once.
 */
describe('first picture: a new consumer starts on the lowest layer and climbs', () => {
  let cluster: Cluster;
  let testers: ReturnType<typeof rtpTesters>;
  beforeAll(async () => {
    cluster = await startEmbedded();
    testers = rtpTesters(cluster.signaling[0]!, 'first-picture');
  });
  afterAll(async () => {
    testers?.close();
    await cluster?.stop();
  });

  it('shows the lowest layer at once while the upper ones are silent, and the top layer once they send again', async () => {
    const publisher = await testers.join('Publisher');
    const camera = await publisher.publish({ kind: 'video', layers: TEST_LAYERS });
    // Every layer sends media long enough for mediasoup to know and score it; then the upper two go silent.
    await new Promise((r) => setTimeout(r, 1000));
    publisher.paddingOnly(camera, true, [1, 2]);

    const viewer = await testers.join('Viewer');
    const consumedAt = performance.now();
    await viewer.consume(camera, 'video');
    const [received] = [...viewer.received.values()];
    const counter = received!.counter;
    while (counter.received === 0 && performance.now() - consumedAt < 3 * MEDIASOUP_INACTIVITY_MS) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const firstMs = performance.now() - consumedAt;
    console.log(`first packet ${Math.round(firstMs)} ms after the consume (upper layers silent)`);
    expect(counter.received).toBeGreaterThan(0);
    // Aimed at the silent top layer it would come only when mediasoup declares that layer inactive.
    expect(firstMs).toBeLessThan(MEDIASOUP_INACTIVITY_MS / 2);

    // The upper layers send again: the consumer climbs to the top one (its bit rate, not the lowest layer's).
    publisher.paddingOnly(camera, false, [1, 2]);
    const kbps = async () => {
      const before = counter.bytes;
      await new Promise((r) => setTimeout(r, 1000));
      return ((counter.bytes - before) * 8) / 1000;
    };
    const top = await waitFor('the top layer', async () => ((await kbps()) > 900 ? true : undefined), 15_000);
    expect(top).toBe(true);
  });
});
