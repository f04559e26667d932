import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import { startDistributed, token } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { RegistryReader } from '../../harness/registry.ts';

const GRACE_MS = 3000;

/**
 * Session resume with real media: a participant's WebSocket drops, it comes back through the other signaling
 * instance (Node ↔ Deno) and keeps its producers; the other participant never sees it leave. Without a
 * resume, the grace period ends and the media worker's registry shows its transports gone.
 */
describe('session resume across signaling instances (Node and Deno) with real media', () => {
  let cluster: Cluster;
  let registry: RegistryReader;
  const bots: Bot[] = [];

  beforeAll(async () => {
    cluster = await startDistributed({ signaling: ['node', 'deno'], env: { SESSION_GRACE_MS: String(GRACE_MS) } });
    registry = await RegistryReader.open(cluster.nats!.url);
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    await registry?.close();
    await cluster?.stop();
  });

  /** Transports on the media worker, as its registry heartbeat (every 2 s) reports them. */
  async function workerTransports(): Promise<number> {
    return (await registry.loads()).reduce((n, l) => n + l.transports, 0);
  }

  it('keeps producers and consumers through a reconnect, and closes them when the grace period ends', async () => {
    const [node, deno] = cluster.signaling as [string, string];
    const adaToken = await token('Ada');
    const ada = await Bot.join({ url: node, room: 'resume', name: 'Ada', token: adaToken });
    const bob = await Bot.join({ url: deno, room: 'resume', name: 'Bob', token: await token('Bob') });
    bots.push(ada, bob);
    await ada.publish();
    const decoded = async () => (await bob.stats()).videoFramesDecoded;
    await waitFor('Bob to decode Ada’s video', async () => (await decoded()) > 0);
    await waitFor('the registry to count 4 transports', async () => (await workerTransports()) === 4, 10_000);
    const camera = ada.producerId('camera');

    ada.disconnect();
    await new Promise((r) => setTimeout(r, 1000));
    const before = await decoded();
    await ada.resume({ url: deno, token: adaToken });
    expect(ada.producerId('camera')).toBe(camera);
    await waitFor('Bob to keep decoding Ada’s video', async () => (await decoded()) > before + 15);
    expect(bob.peers.has(ada.peerId)).toBe(true);
    expect(bob.remoteConsumers().map((c) => c.producerId)).toContain(camera);

    ada.disconnect();
    const droppedAt = Date.now();
    await waitFor('Bob to see Ada leave after the grace period', () => !bob.peers.has(ada.peerId), GRACE_MS + 10_000);
    const leftAfter = Date.now() - droppedAt;
    expect(leftAfter).toBeGreaterThanOrEqual(GRACE_MS);
    expect(leftAfter).toBeLessThan(GRACE_MS + 2000);
    console.log(`membership closed ${leftAfter} ms after the connection dropped (grace ${GRACE_MS} ms)`);
    await waitFor('the registry to count only Bob’s 2 transports', async () => (await workerTransports()) === 2, 10_000);
  });
});
