import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { token } from '../../harness/cluster.ts';
import { debugRooms } from '../../harness/probes.ts';
import { startRegions } from '../../harness/regions.ts';
import type { Regions } from '../../harness/regions.ts';
import { RegistryReader } from '../../harness/registry.ts';
import { waitFor } from '../../harness/wait.ts';

/**
 * Two regions as docs/deploy.md deploys them: each its own NATS cluster, media-worker and signaling, the NATS
 * clusters joined by gateways. A room with participants in both is cascaded: each region hosts its own
 * participants' media, and each producer crosses to the other region once, however many watch it there.
 */
describe('a room across two regions', () => {
  let regions: Regions;
  let registry: RegistryReader;
  const bots: Bot[] = [];
  const room = `global-${Date.now()}`;

  beforeAll(async () => {
    regions = await startRegions(['seoul', 'frankfurt']);
    registry = await RegistryReader.open(regions.byName.seoul!.nats.url);
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    await registry?.close();
    await regions?.stop();
  });

  const join = async (region: string, name: string) => {
    const bot = await Bot.join({ url: regions.byName[region]!.signaling[0]!, room, name, token: await token(name) });
    bots.push(bot);
    return bot;
  };
  const decoded = async (bot: Bot) => (await bot.stats()).videoFramesDecoded;
  const decodes = (bot: Bot, of: Bot) =>
    waitFor(
      `${bot.name} to decode ${of.name}’s video`,
      async () => bot.remoteConsumers().some((c) => c.producerId === of.producerId('camera')) && (await decoded(bot)) > 0,
      10_000,
    );

  it('puts each participant’s media in its own region; both see each other; a producer crosses once', async () => {
    const ada = await join('seoul', 'Ada');
    await ada.publish();
    const bob = await join('frankfurt', 'Bob');
    await bob.publish();
    await Promise.all([decodes(bob, ada), decodes(ada, bob)]);
    console.log(`across regions (loopback, no delay): Bob's join → first frame of Ada's video ${bob.firstRemoteVideoMs} ms`);
    expect((await ada.stats()).audioPacketsReceived).toBeGreaterThan(0);
    expect((await bob.stats()).audioPacketsReceived).toBeGreaterThan(0);

    // Where each one's transports are: the room part holding them, on a media-worker of which region.
    const regionOf = new Map((await registry.loads()).map((l) => [l.instanceId, l.region]));
    const parts = (await debugRooms(regions.byName.frankfurt!.signaling[0]!)).filter((r) => r.roomId === room);
    const hostRegion = (bot: Bot) =>
      regionOf.get(parts.find((p) => p.peers.some((peer) => peer.id === bot.peerId))?.instanceId ?? '');
    expect([hostRegion(ada), hostRegion(bob)]).toEqual(['seoul', 'frankfurt']);

    // Two more watch from Frankfurt: Ada's microphone and camera still cross once each.
    const [cara, dan] = await Promise.all([join('frankfurt', 'Cara'), join('frankfurt', 'Dan')]);
    await Promise.all([decodes(cara, ada), decodes(dan, ada)]);
    const pipes = await waitFor(
      'both regions to report their pipes',
      async () => {
        const loads = await registry.loads();
        const frankfurt = loads.find((l) => l.region === 'frankfurt');
        return frankfurt && frankfurt.consumers >= 10 ? loads : undefined;
      },
      10_000,
    );
    const byRegion = Object.fromEntries(pipes.map((l) => [l.region, { in: l.pipesIn, out: l.pipesOut }]));
    console.log(`pipes with 1 publisher in Seoul and 3 viewers of it in Frankfurt: ${JSON.stringify(byRegion)}`);
    expect(byRegion).toEqual({ seoul: { in: 2, out: 2 }, frankfurt: { in: 2, out: 2 } });
  });
});
