import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedTrackStates, inboundSummary, joinFromLobby, launchChromium, openParley } from '../helpers/browser.ts';
import { startDistributed, startEmbedded } from '../helpers/cluster.ts';
import type { Cluster } from '../helpers/cluster.ts';

const modes: [string, () => Promise<Cluster>][] = [
  ['distributed (NATS, separate processes)', () => startDistributed({ webRoot: true })],
  ['embedded default (npm start)', startEmbedded],
];

describe.each(modes)('two browsers in one room: %s', (_mode, start) => {
  let cluster: Cluster;
  let browser: Browser;

  beforeAll(async () => {
    [cluster, browser] = await Promise.all([start(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('each sees and hears the other; leaving removes the tile and ends every local track', async () => {
    const base = cluster.signaling[0]!;
    const room = `e2e-${Date.now()}`;
    const alice = await openParley(browser, base);
    const bob = await openParley(browser, base);
    await joinFromLobby(alice, room, 'Alice');
    await joinFromLobby(bob, room, 'Bob');

    const [atAlice, atBob] = await Promise.all([receivesMedia(alice), receivesMedia(bob)]);
    console.log(`join → first remote frame (Bob joined after Alice): ${atBob.firstFrameMs} ms`);
    expect(atAlice.videoFramesDecoded).toBeGreaterThan(0);
    expect(atBob.audioPacketsReceived).toBeGreaterThan(0);

    expect(await alice.getByTestId('remote-tile').count()).toBe(1);
    await bob.getByRole('button', { name: 'Leave' }).click();
    await alice.getByTestId('remote-tile').waitFor({ state: 'detached' });
    const states = await capturedTrackStates(bob);
    expect(states.length).toBe(2);
    expect(states).toEqual(['ended', 'ended']);
    await expect(bob.getByRole('button', { name: 'Join', exact: true }).isVisible()).resolves.toBe(true);
  });
});

/** Waits until the page decodes remote video and receives remote audio. */
async function receivesMedia(page: Page) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const summary = await inboundSummary(page);
    if (summary.videoFramesDecoded > 0 && summary.audioPacketsReceived > 0) return summary;
    if (Date.now() > deadline) throw new Error(`no remote media: ${JSON.stringify(summary)}`);
    await page.waitForTimeout(200);
  }
}
