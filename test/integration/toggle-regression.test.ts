import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import type { VideoTimeline } from '../../bots/bot.ts';
import { startDistributed, token } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';

/**
 * The seed's bugs as a regression test: 3 participants turn their camera on and off as fast as they can.
 * Every camera that stays on long enough to be seen (2 s) must be decoding at every other participant
 * within 2 s of its announcement (no black screen), publish/unpublish never fail, no consumer outlives its
 * producer, and unpublish/leave end the local tracks.
 *
 * CI runs 20 toggles per participant; PARLEY_TOGGLES=100 (or `npm run soak -- --full-suites`) is the full size.
 * Every HOLD_EVERY toggles a camera stays on for 2.2 s, so the 2 s check applies during the storm, not only after.
 */
const TOGGLES = Number(process.env.PARLEY_TOGGLES ?? 20);
const HOLD_EVERY = 10;
const BLACK_SCREEN_MS = 2000;
const ROOM = 'toggle-storm';

describe(`seed regression: 3 participants toggling the camera ${TOGGLES} times each`, () => {
  let cluster: Cluster;
  const bots: Bot[] = [];

  beforeAll(async () => {
    cluster = await startDistributed({ signaling: ['node'] });
    for (const name of ['Ada', 'Bob', 'Cara']) {
      bots.push(await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name, token: await token(name), timeEveryVideo: true }));
    }
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    await cluster?.stop();
  });

  it('shows every camera within 2 s, never errors, leaves no stale consumer, and ends local tracks', {
    timeout: 120_000,
  }, async () => {
    const failures: string[] = [];
    const started = performance.now();
    await Promise.all(
      bots.map(async (bot, b) => {
        for (let i = 0; i < TOGGLES; i++) {
          try {
            await bot.publish({ audio: false, video: true });
            // Staggered so the holds of different participants overlap the others' storms.
            if ((i + b * 3) % HOLD_EVERY === HOLD_EVERY - 1) await new Promise((r) => setTimeout(r, BLACK_SCREEN_MS + 200));
            await bot.unpublish('camera');
          } catch (err) {
            failures.push(`${bot.name} toggle ${i}: ${(err as Error).message}`);
          }
        }
        // End with the camera on: everyone must see everyone.
        await bot
          .publish({ audio: false, video: true })
          .catch((err: Error) => failures.push(`${bot.name} final publish: ${err.message}`));
      }),
    );
    const stormMs = Math.round(performance.now() - started);
    const cameras = new Map(bots.map((b) => [b.peerId, b.producerId('camera')!]));
    const mismatches = () =>
      bots.flatMap((bot) => {
        const video = bot
          .remoteConsumers()
          .filter((c) => c.kind === 'video')
          .map((c) => c.producerId)
          .sort();
        const expected = bots
          .filter((o) => o !== bot)
          .map((o) => cameras.get(o.peerId)!)
          .sort();
        return video.join() === expected.join() ? [] : [`${bot.name} consumes [${video}] instead of [${expected}]`];
      });
    await waitFor('every participant to consume exactly the 2 live cameras', () => mismatches().length === 0, 10_000).catch(
      () => undefined,
    );
    const stale = mismatches();
    await new Promise((r) => setTimeout(r, BLACK_SCREEN_MS + 200));

    // Black screens: a camera on for ≥ 2 s that a participant did not decode within 2 s of its announcement.
    const now = performance.now();
    const all: (VideoTimeline & { viewer: string })[] = bots.flatMap((bot) =>
      [...bot.videoTimeline.values()].map((t) => ({ ...t, viewer: bot.name })),
    );
    const visible = all.filter((t) => (t.closedAt ?? now) - t.announcedAt >= BLACK_SCREEN_MS);
    const black = visible.filter((t) => t.firstFrameAt === undefined || t.firstFrameAt - t.announcedAt > BLACK_SCREEN_MS);
    const delays = visible
      .filter((t) => t.firstFrameAt !== undefined)
      .map((t) => t.firstFrameAt! - t.announcedAt)
      .sort((a, b) => a - b);
    const shortLived = all.filter((t) => !visible.includes(t));
    const racedConsumes = bots.flatMap((b) => b.requestErrors);
    const unexplained = racedConsumes.filter((e) => {
      const t = bots.flatMap((b) => [...b.videoTimeline.values()]).find((v) => v.producerId === e.producerId);
      return !t?.closedAt || t.closedAt > e.at + 1000;
    });
    const percentile = (p: number) => Math.round(delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? NaN);
    console.log(
      `${bots.length}×${TOGGLES} toggles in ${stormMs} ms: ${all.length} cameras announced, ${visible.length} on ≥ 2 s, ` +
        `black screens ${black.length}; first frame after announcement p50 ${percentile(0.5)} ms, p95 ${percentile(0.95)} ms, max ${percentile(1)} ms; ` +
        `short-lived cameras decoded anyway ${shortLived.filter((t) => t.firstFrameAt).length}/${shortLived.length}; ` +
        `consume requests that lost the race with a closing producer ${racedConsumes.length}, unexplained ${unexplained.length}`,
    );
    if (unexplained.length)
      console.log(`consume failures not explained by a closing producer: ${JSON.stringify(unexplained.map((e) => e.message))}`);
    expect(failures).toEqual([]);
    expect(stale).toEqual([]);
    expect(black.map((t) => `${t.viewer} ← ${t.producerId}`)).toEqual([]);
    expect(visible.length).toBeGreaterThanOrEqual(bots.length * (bots.length - 1) * (1 + Math.floor(TOGGLES / HOLD_EVERY)));
    expect(unexplained).toEqual([]);

    // Unpublish ended every earlier camera track; the live one still runs.
    for (const bot of bots) {
      const tracks = bot.producedTracks.map((p) => p.track);
      expect(tracks).toHaveLength(TOGGLES + 1);
      expect(tracks.slice(0, -1).filter((t) => t.readyState !== 'ended')).toEqual([]);
      expect(tracks.at(-1)!.readyState).toBe('live');
    }
    // Leave ends the rest, and the others see the participant go.
    const [ada, ...others] = bots;
    await ada!.leave();
    expect(ada!.producedTracks.filter((p) => p.track.readyState !== 'ended')).toEqual([]);
    await waitFor(
      'the others to drop Ada’s camera',
      () => others.every((o) => !o.remoteConsumers().some((c) => c.peerId === ada!.peerId)),
      5000,
    );
  });
});
