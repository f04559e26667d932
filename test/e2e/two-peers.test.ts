import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capturedTrackStates,
  inboundSummary,
  stillLive,
  joinFromLobby,
  launchChromium,
  openParley,
} from '../../harness/browser.ts';
import { startDistributed, startEmbedded } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { ancestry, JOIN_TRANSPORT_CHAIN, orphans, traceFromApi } from '../../harness/traces.ts';
import type { SpanRecord } from '../../protocol/telemetry.ts';

const modes: [string, () => Promise<Cluster>, string][] = [
  ['distributed (NATS, separate processes)', () => startDistributed({ webRoot: true }), 'nats'],
  ['embedded default (npm start)', startEmbedded, 'in-process'],
];

describe.each(modes)('two browsers in one room: %s', (_mode, start, messagingSystem) => {
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

    // Bob's join is one trace: browser → signaling → bus (NATS in the distributed mode) → media worker.
    const joinTrace = (await bob.evaluate(() => window.parley?.traces().join))!;
    const spans = await waitUntilTrace(base, joinTrace, JOIN_TRANSPORT_CHAIN.at(-1)!);
    const transport = spans.find((s) => `${s.service}:${s.name}` === JOIN_TRANSPORT_CHAIN.at(-1));
    expect(ancestry(spans, transport)).toEqual(JOIN_TRANSPORT_CHAIN);
    expect(spans.find((s) => s.kind === 'client' && s.service === 'parley-bus')?.attributes['messaging.system']).toBe(
      messagingSystem,
    );
    expect(orphans(spans)).toEqual([]);

    expect(await alice.getByTestId('remote-tile').count()).toBe(1);
    await bob.getByRole('button', { name: 'Leave' }).click();
    await alice.getByTestId('remote-tile').waitFor({ state: 'detached' });
    const states = await capturedTrackStates(bob);
    expect(states.length).toBe(2);
    expect(stillLive(states)).toEqual([]);
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

/** The trace once it holds a span `service:name` and the browser's spans (exported about once a second). */
async function waitUntilTrace(base: string, traceId: string, leaf: string): Promise<SpanRecord[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = await traceFromApi(base, traceId);
    const complete =
      spans.some((s) => `${s.service}:${s.name}` === leaf) && spans.some((s) => s.name === 'join' && s.service === 'parley-web');
    if (complete && orphans(spans).length === 0) return spans;
    if (Date.now() > deadline)
      throw new Error(`trace ${traceId} incomplete: ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
