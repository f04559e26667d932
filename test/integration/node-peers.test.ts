import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import { startDistributed, startEmbedded, token } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';

/**
 * Two Node bots (mediasoup-client on wrtc, synthetic audio and video) in one room: real WebRTC through the
 * SFU without a browser. Distributed with each bot on its own signaling instance, and the embedded default.
 */
const modes: [string, () => Promise<Cluster>][] = [
  ['distributed (NATS, two signaling instances)', () => startDistributed({ signaling: ['node', 'node'] })],
  ['embedded default (npm start)', startEmbedded],
];

const MEDIA_TIMEOUT_MS = 15_000;

describe.each(modes)('two Node bots in one room: %s', (mode, start) => {
  let cluster: Cluster | undefined;
  const bots: Bot[] = [];

  const join = async (name: string, room: string, instance: number) => {
    const base = cluster!.signaling[instance % cluster!.signaling.length]!;
    const bot = await Bot.join({ url: base, room, name, token: await token(name) });
    bots.push(bot);
    return bot;
  };

  beforeAll(async () => {
    cluster = await start();
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    await cluster?.stop();
  });

  it('each receives the other’s audio and video; closing a producer and leaving reach the other', async () => {
    const room = `bots-${Date.now()}`;
    const a = await join('Ada', room, 0);
    await a.publish({ audio: true, video: true });
    const b = await join('Bob', room, 1);
    await b.publish({ audio: true, video: true });

    const receives = (bot: Bot) =>
      waitFor(
        `${bot.name} to decode remote video and receive remote audio`,
        async () => {
          const s = await bot.stats();
          // The first-frame time comes from a video sink, a moment after the decoder's count.
          const ok = s.videoFramesDecoded > 0 && s.audioPacketsReceived > 0 && bot.firstRemoteVideoMs !== undefined;
          return ok ? s : undefined;
        },
        MEDIA_TIMEOUT_MS,
      );
    const [atA, atB] = await Promise.all([receives(a), receives(b)]);
    expect(atA.consumers).toBe(2);
    expect(atB.consumers).toBe(2);
    console.log(
      `${mode}: join → first remote video frame: Bob (joined second) ${b.firstRemoteVideoMs} ms ` +
        `(join ${b.joinMs} ms), Ada ${a.firstRemoteVideoMs} ms (join ${a.joinMs} ms)`,
    );
    expect(b.firstRemoteVideoMs).toBeGreaterThan(0);

    const camera = a.producerId('camera')!;
    expect(b.remoteConsumers().map((c) => c.producerId)).toContain(camera);
    // Ada's join heard after her producers (an event lost and replayed by a resync, as between regions): the
    // tracks already on her tile stay.
    const tracks = b.remoteConsumers();
    b.hear({ notification: 'peerJoined', data: { peer: { id: a.peerId, displayName: 'Ada' } } });
    expect(b.remoteConsumers()).toEqual(tracks);
    await a.unpublish('camera');
    await waitFor(
      'Bob’s consumer of Ada’s camera to close',
      () => !b.remoteConsumers().some((c) => c.producerId === camera),
      10_000,
    );
    expect(b.remoteConsumers()).toEqual([expect.objectContaining({ peerId: a.peerId, kind: 'audio', source: 'microphone' })]);

    expect(b.peers.has(a.peerId)).toBe(true);
    await a.leave();
    await waitFor('Bob to see Ada leave', () => !b.peers.has(a.peerId), 10_000);
    expect(b.remoteConsumers()).toEqual([]);
    expect((await b.stats()).consumers).toBe(0);
  });

  it('joining at the same moment: everyone sees everyone, whoever’s join or reply came first', async () => {
    const room = `together-${Date.now()}`;
    const names = ['Ana', 'Ben', 'Cyd', 'Dov', 'Eli', 'Fay'];
    const group = await Promise.all(names.map((name, i) => join(name, room, i)));
    const unseen = () =>
      group.flatMap((b) => group.filter((o) => o !== b && !b.peers.has(o.peerId)).map((o) => `${b.name} sees no ${o.name}`));
    await waitFor('everyone to see everyone', () => unseen().length === 0, 3_000).catch(() => undefined);
    expect(unseen()).toEqual([]);
  });
});
